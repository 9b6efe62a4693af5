package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/tools/internal/stackapi"
)

// BaseBackupOptions configure `stratactl bench basebackup`.
type BaseBackupOptions struct {
	Stack string
	Scale int
	Runs  int
}

// BaseBackupResult holds every run of both paths.
type BaseBackupResult struct {
	StrataBytes, PGBytes int64
	Strata, PG           []time.Duration
}

// Median returns the median of ds.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// countingDiscard counts what it swallows.
type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// RunBaseBackup loads pgbench at o.Scale into a fresh primary, imports it
// into the stack, then alternately times Strata's GetBaseBackup of the
// timeline at its last record (uncompressed tar, read to the end over gRPC)
// and `pg_basebackup -Ft -X none -c fast -D -` of the same primary (tar to
// stdout over the replication protocol), o.Runs times each.
func RunBaseBackup(ctx context.Context, o BaseBackupOptions, progress io.Writer) (BaseBackupResult, error) {
	var res BaseBackupResult
	c, err := stackapi.Open(o.Stack)
	if err != nil {
		return res, err
	}
	im, err := importPgbench(ctx, c, o.Scale, progress)
	if err != nil {
		return res, err
	}
	defer im.close()
	conn, err := c.DialPageService()
	if err != nil {
		return res, err
	}
	defer conn.Close()
	for i := range o.Runs {
		fmt.Fprintf(progress, "run %d/%d\n", i+1, o.Runs)
		var w countingDiscard
		t0 := time.Now()
		if _, err := stackapi.BaseBackupOn(ctx, conn, im.tenant, im.timeline, im.at, pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_NONE, &w); err != nil {
			return res, err
		}
		res.Strata = append(res.Strata, time.Since(t0))
		res.StrataBytes = w.n

		var pw countingDiscard
		cmd := exec.CommandContext(ctx, filepath.Join(im.primary.BinDir, "pg_basebackup"),
			"-h", "127.0.0.1", "-p", strconv.Itoa(im.primary.Port), "-U", "postgres",
			"-Ft", "-X", "none", "-c", "fast", "--no-manifest", "-D", "-")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &pw, &stderr
		cmd.Env = append(cmd.Environ(), "LC_ALL=C")
		t0 = time.Now()
		if err := cmd.Run(); err != nil {
			return res, fmt.Errorf("pg_basebackup: %w\n%s", err, stderr.Bytes())
		}
		res.PG = append(res.PG, time.Since(t0))
		res.PGBytes = pw.n
	}
	return res, nil
}
