package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/postgres/mask"
	"github.com/stratadb/strata/libs/postgres/pgserver"
	"github.com/stratadb/strata/libs/postgres/wal"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// The page oracle on the real binaries: after a CHECKPOINT and a clean stop
// of the primary, every block of every WAL-logged relation that page-service
// serves over GetPages at the shutdown LSN equals the primary's file block
// after masking (hint bits, page LSN/checksum, unused space, LP_DEAD);
// visibility-map pages equal the raw file pages.
func TestEveryBlockServedEqualsTheStoppedPrimarysFileAfterMasking(t *testing.T) {
	e := newEnv(t)
	p := e.primary("primary")
	tenant, root := e.importPrimary(p)
	if _, err := p.Pgbench(context.Background(), "-i", "-s", "1", "-q"); err != nil {
		t.Fatal(err)
	}
	sql(t, p, "postgres",
		"create table docs (id int primary key, tags text[], body text)",
		"insert into docs select g, array['t' || (g % 50), 'u' || (g % 7)], md5(g::text) from generate_series(1, 5000) g",
		"create index docs_tags on docs using gin (tags)",
		"create index docs_body on docs using hash (body)",
		"create index docs_brin on docs using brin (id)",
	)
	if _, err := p.Pgbench(context.Background(), "-c", "2", "-t", "200", "-n"); err != nil {
		t.Fatal(err)
	}
	sql(t, p, "postgres",
		"delete from docs where id % 9 = 0",
		"update docs set tags = tags || 'v'::text where id % 11 = 0",
		"vacuum docs",
		"vacuum pgbench_accounts",
		"checkpoint",
	)
	rels := relationsOf(t, p, "postgres")
	if err := p.Stop(context.Background(), "fast"); err != nil {
		t.Fatal(err)
	}
	ckpt := latestCheckpoint(t, p)
	tl := e.waitLSN(tenant, root, ckpt+1)
	at, err := lsn.Parse(tl.LastRecordLSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("primary stopped; shutdown checkpoint at %s, reading at %s", ckpt, at)

	conn, err := grpcx.Dial(e.stack.Component(t, "page-service").GRPCAddr, grpcx.ClientConfig{Token: logging.Secret(e.stack.AdminToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pages := newPageReader(t, pagev1.NewPageServiceClient(conn), tenant, root, at)
	defer pages.close()

	var blocks, vm int
	for _, r := range rels {
		if r.pers != "p" || r.am == "sequence" {
			// Unlogged and temporary relations have no WAL; a sequence's WAL
			// logs values ahead of the primary's in-memory state.
			continue
		}
		for _, fork := range []uint32{0, 2} { // main, visibility map
			path := filepath.Join(p.DataDir, "base", strconv.Itoa(int(r.db)), strconv.Itoa(int(r.node)))
			if fork == 2 {
				path += "_vm"
			}
			file, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			rel := &pagev1.RelTag{SpcOid: 1663, DbOid: r.db, RelNumber: r.node, ForkNumber: fork}
			n, missing := pages.relSize(rel)
			if missing && fork == 2 {
				// A VM fork extended without WAL and never set is all zeros.
				for off := 0; off < len(file); off += 8192 {
					pg := bytes.Clone(file[off : off+8192])
					mask.PageLSNAndChecksum(pg)
					if !bytes.Equal(pg[24:], make([]byte, 8192-24)) {
						t.Errorf("%v: page-service has no VM fork, the primary's block %d has bits set", rel, off/8192)
					}
				}
				continue
			}
			if int(n)*8192 != len(file) {
				t.Errorf("%s %v: page-service has %d blocks (missing=%t), the primary's file %d", r.am, rel, n, missing, len(file)/8192)
				continue
			}
			for b := uint32(0); b < n; b++ {
				got := pages.page(rel, b)
				want := bytes.Clone(file[int(b)*8192 : int(b+1)*8192])
				if fork == 2 {
					vm++
					mask.PageLSNAndChecksum(got)
					mask.PageLSNAndChecksum(want)
				} else if m := mask.ForRmgr(amRmgr[r.am]); m != nil && !isNew(got) && !isNew(want) {
					// (A new, all-zero page has nothing to mask: compared raw.)
					if err := m(got, b); err != nil {
						t.Errorf("%v block %d: mask page-service's page: %v", rel, b, err)
					}
					if err := m(want, b); err != nil {
						t.Errorf("%v block %d: mask the primary's page: %v", rel, b, err)
					}
				}
				blocks++
				if !bytes.Equal(got, want) {
					off := 0
					for off < len(got) && got[off] == want[off] {
						off++
					}
					t.Errorf("%s %v block %d differs at byte %d", r.am, rel, b, off)
				}
			}
		}
	}
	t.Logf("compared %d blocks (%d visibility-map pages)", blocks, vm)
	if blocks < 100 {
		t.Fatalf("only %d blocks compared", blocks)
	}
}

var amRmgr = map[string]uint8{"heap": wal.RmHeap, "btree": wal.RmBtree, "hash": wal.RmHash, "sequence": wal.RmSeq,
	"gin": wal.RmGin, "gist": wal.RmGist, "spgist": wal.RmSPGist, "brin": wal.RmBRIN}

type relInfo struct {
	db, node uint32
	am, pers string
}

// relationsOf maps the relation files of a database to access methods.
func relationsOf(t *testing.T, s *pgserver.Server, db string) []relInfo {
	t.Helper()
	rows := query(t, s, db, `select (select oid from pg_database where datname = current_database()), pg_relation_filenode(c.oid),
	       case when c.relkind = 'S' then 'sequence' else coalesce(a.amname, 'heap') end, c.relpersistence
	      from pg_class c left join pg_am a on a.oid = c.relam
	      where pg_relation_filenode(c.oid) is not null and c.reltablespace = 0 and c.relkind in ('r','i','S','t','m')`)
	var out []relInfo
	for _, line := range strings.Split(rows, "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 {
			continue
		}
		d, _ := strconv.ParseUint(f[0], 10, 32)
		n, _ := strconv.ParseUint(f[1], 10, 32)
		out = append(out, relInfo{db: uint32(d), node: uint32(n), am: f[2], pers: f[3]})
	}
	return out
}

// latestCheckpoint reads the stopped server's checkpoint location.
func latestCheckpoint(t *testing.T, s *pgserver.Server) lsn.LSN {
	t.Helper()
	out, err := s.Run(context.Background(), true, "pg_controldata", "-D", s.DataDir)
	if err != nil {
		t.Fatalf("pg_controldata: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "Latest checkpoint location" {
			l, err := lsn.Parse(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	}
	t.Fatalf("pg_controldata shows no checkpoint location:\n%s", out)
	return 0
}

// pageReader reads pages over one GetPages stream.
type pageReader struct {
	t                *testing.T
	c                pagev1.PageServiceClient
	stream           pagev1.PageService_GetPagesClient
	cancel           context.CancelFunc
	tenant, timeline string
	at               lsn.LSN
	next             uint64
}

func newPageReader(t *testing.T, c pagev1.PageServiceClient, tenant, timeline string, at lsn.LSN) *pageReader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	stream, err := c.GetPages(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return &pageReader{t: t, c: c, stream: stream, cancel: cancel, tenant: tenant, timeline: timeline, at: at}
}

func (r *pageReader) close() {
	_ = r.stream.CloseSend()
	for {
		if _, err := r.stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				r.t.Logf("GetPages stream end: %v", err)
			}
			break
		}
	}
	r.cancel()
}

func (r *pageReader) readLSN() *pagev1.ReadLSN {
	return &pagev1.ReadLSN{RequestLsn: uint64(r.at), NotModifiedSinceLsn: uint64(r.at)}
}

func (r *pageReader) relSize(rel *pagev1.RelTag) (uint32, bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := r.c.GetRelSize(ctx, &pagev1.GetRelSizeRequest{TenantId: r.tenant, TimelineId: r.timeline,
		ReadLsn: r.readLSN(), Rel: rel, AllowMissing: true})
	if err != nil {
		r.t.Fatalf("GetRelSize %v: %v", rel, err)
	}
	return resp.GetNumBlocks(), resp.GetMissing()
}

func (r *pageReader) page(rel *pagev1.RelTag, blk uint32) []byte {
	r.t.Helper()
	r.next++
	if err := r.stream.Send(&pagev1.GetPagesRequest{RequestId: r.next, TenantId: r.tenant, TimelineId: r.timeline,
		ReadLsn: r.readLSN(), Rel: rel, BlockNumber: []uint32{blk}}); err != nil {
		r.t.Fatalf("GetPages send: %v", err)
	}
	resp, err := r.stream.Recv()
	if err != nil {
		r.t.Fatalf("GetPages receive: %v", err)
	}
	if resp.GetStatus() != pagev1.PageStatus_PAGE_STATUS_OK || len(resp.GetPages()) != 1 {
		r.t.Fatalf("GetPages %v block %d: %s %s", rel, blk, resp.GetStatus(), resp.GetReason())
	}
	return bytes.Clone(resp.GetPages()[0].GetImage())
}

// isNew reports whether a page is uninitialized (pd_upper 0, as PageIsNew).
func isNew(p []byte) bool { return p[14] == 0 && p[15] == 0 }
