package bench

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/pgserver"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/tools/internal/stackapi"
)

// imported is a pgbench database on a local primary, imported into a stack
// as a root timeline and streamed up to LSN.
type imported struct {
	primary          *pgserver.Server
	tenant, timeline string
	at               lsn.LSN
	dir              string
}

// importPgbench starts a PostgreSQL 15 primary under a temporary directory,
// loads pgbench at scale, imports it into the stack and waits until the
// timeline holds everything the primary wrote. The caller calls close.
func importPgbench(ctx context.Context, c *stackapi.Client, scale int, progress io.Writer) (*imported, error) {
	dir, err := os.MkdirTemp("", "strata-bench-pg-")
	if err != nil {
		return nil, err
	}
	im := &imported{dir: dir}
	// As root the server runs as the postgres user, who must reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			im.close()
		}
	}()
	fmt.Fprintf(progress, "starting a PostgreSQL 15 primary and loading pgbench scale %d\n", scale)
	if im.primary, err = pgserver.Init(filepath.Join(dir, "primary"), pgserver.Options{}); err != nil {
		return nil, err
	}
	if err := im.primary.Start(ctx); err != nil {
		return nil, err
	}
	if _, err := im.primary.Pgbench(ctx, "-i", "-s", strconv.Itoa(scale), "-q"); err != nil {
		return nil, err
	}
	if _, err := im.primary.Psql(ctx, "postgres", "vacuum analyze"); err != nil {
		return nil, err
	}
	fmt.Fprintln(progress, "importing it into Strata")
	if im.tenant, err = c.CreateTenant(ctx, ""); err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	tl, err := c.CreateTimeline(ctx, im.tenant, stackapi.CreateTimeline{Source: &stackapi.Source{Connstr: im.primary.ConnString("postgres")}})
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	im.timeline = tl.TimelineID
	// A record after the import, so waiting for it covers the base backup's end.
	if _, err := im.primary.Psql(ctx, "postgres", "select pg_switch_wal()"); err != nil {
		return nil, err
	}
	s, err := im.primary.Psql(ctx, "postgres", "select pg_current_wal_flush_lsn()")
	if err != nil {
		return nil, err
	}
	want, err := lsn.Parse(s)
	if err != nil {
		return nil, err
	}
	got, err := c.WaitLSN(ctx, im.tenant, im.timeline, want, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	if im.at, err = lsn.Parse(got.LastRecordLSN); err != nil {
		return nil, err
	}
	ok = true
	return im, nil
}

func (im *imported) close() {
	if im.primary != nil {
		_ = im.primary.Kill()
	}
	_ = os.RemoveAll(im.dir)
}

// relation is one main fork with its size in blocks.
type relation struct {
	spc, db, rel uint32
	blocks       uint32
}

// listRelations reads a base backup of the timeline at an LSN and returns
// the main forks of the user databases' relations (base/<db>/<relfilenode>
// and its 1 GiB segments), with their sizes, skipping relations smaller than
// minBlocks. This needs nothing but the page API.
func listRelations(ctx context.Context, c *stackapi.Client, tenant, timeline string, at lsn.LSN, minBlocks uint32) ([]relation, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := c.BaseBackup(ctx, tenant, timeline, at, pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_NONE, pw)
		pw.CloseWithError(err)
	}()
	defer pr.Close()
	sizes := map[[3]uint32]uint32{}
	tr := tar.NewReader(pr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read base backup: %w", err)
		}
		parts := strings.Split(h.Name, "/")
		if len(parts) != 3 || parts[0] != "base" || h.Typeflag != tar.TypeReg {
			continue
		}
		db, err1 := strconv.ParseUint(parts[1], 10, 32)
		name, seg, _ := strings.Cut(parts[2], ".")
		rel, err2 := strconv.ParseUint(name, 10, 32)
		if err1 != nil || err2 != nil { // forks (_fsm, _vm, _init) and other files
			continue
		}
		segno := uint64(0)
		if seg != "" {
			if segno, err = strconv.ParseUint(seg, 10, 32); err != nil {
				continue
			}
		}
		k := [3]uint32{1663, uint32(db), uint32(rel)}
		end := uint32(segno*(1<<30/8192) + uint64(h.Size/8192))
		sizes[k] = max(sizes[k], end)
	}
	var out []relation
	for k, n := range sizes {
		if n >= minBlocks {
			out = append(out, relation{spc: k[0], db: k[1], rel: k[2], blocks: n})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the base backup of %s at %s holds no relation of at least %d blocks", timeline, at, minBlocks)
	}
	return out, nil
}
