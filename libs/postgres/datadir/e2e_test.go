package datadir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/metadata"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/engine/vfs"
	"github.com/stratadb/strata/libs/postgres/basebackup"
	"github.com/stratadb/strata/libs/postgres/controlfile"
	"github.com/stratadb/strata/libs/postgres/mask"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// localRedo applies records in-process (page-service uses the walredo pool).
type localRedo struct{}

func (localRedo) Redo(_ context.Context, k key.Key, _ lsn.LSN, base []byte, _ lsn.LSN, recs []timeline.Record) ([]byte, error) {
	rr := make([]redo.Record, len(recs))
	for i, r := range recs {
		rr[i] = redo.Record{LSN: r.LSN, Data: r.Data}
	}
	return redo.Apply(k, base, rr)
}

// fixture is a primary whose data directory was imported into a timeline,
// and whose WAL since then can be ingested.
type fixture struct {
	primary *pgtest.Cluster
	tl      *timeline.Timeline
	in      *Ingester
	next    lsn.LSN // start of the next record to ingest
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	primary := pgtest.Start(t, pgtest.Options{})
	primary.SQL(t, "checkpoint")
	primary.Stop(t, "fast")
	raw, err := os.ReadFile(filepath.Join(primary.DataDir, "global", "pg_control"))
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := controlfile.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := wal.NewReader(primary.WALDir(), ctl.CheckPointLoc, wal.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Next()
	if err != nil {
		t.Fatalf("read the shutdown checkpoint: %v", err)
	}
	at := rec.EndLSN

	tl, err := timeline.Create(vfs.Default(), t.TempDir(), id.Generate(),
		metadata.Metadata{InitDBLSN: at, LatestGCCutoffLSN: at, PGVersion: 15}, nil,
		timeline.Options{CheckpointDistance: 8 << 20}, timeline.Deps{Redoer: localRedo{}})
	if err != nil {
		t.Fatal(err)
	}
	loopCtx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); <-tl.FlushLoopDone(); tl.Close() })
	if err := tl.StartFlushLoop(loopCtx); err != nil {
		t.Fatal(err)
	}
	w := tl.Writer()
	res, err := ImportDir(ctx, primary.DataDir, at, w)
	if err == nil {
		err = w.FinishWrite(at)
	}
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.FreezeAndFlush(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d files, %d blocks at %s", res.Files, res.Blocks, at)
	primary.Start(t)
	return &fixture{primary: primary, tl: tl, in: NewIngester(tl, at), next: at}
}

// ingest feeds the WAL up to end into the timeline; with end Max, up to the
// end of the WAL on disk (the primary is stopped).
func (f *fixture) ingest(t *testing.T, end lsn.LSN) lsn.LSN {
	t.Helper()
	r, err := wal.NewReader(f.primary.WALDir(), f.next, wal.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	for f.next < end {
		rec, err := r.Next()
		if err == io.EOF && end == lsn.Max {
			break
		}
		if err != nil {
			t.Fatalf("read WAL at %s (end %s): %v", f.next, end, err)
		}
		w := f.tl.Writer()
		err = f.in.Ingest(ctx, rec, w)
		if err == nil {
			err = w.FinishWrite(rec.EndLSN)
		}
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		f.next = rec.EndLSN
		n++
	}
	t.Logf("ingested %d records up to %s", n, f.next)
	return f.next
}

// snapshot captures query results that identify the cluster's state.
func snapshot(t *testing.T, c *pgtest.Cluster, dbs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, db := range dbs {
		tables, err := c.Psql(db, "select string_agg(format('%I.%I', schemaname, relname), ' ' order by relname) from pg_stat_user_tables")
		if err != nil {
			t.Fatal(err)
		}
		for _, tab := range strings.Fields(tables) {
			q := fmt.Sprintf("select count(*), coalesce(md5(string_agg(t::text, ',' order by t::text)), '-') from %s t", tab)
			out, err := c.Psql(db, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			fmt.Fprintf(&b, "%s %s: %s\n", db, tab, out)
		}
	}
	return b.String()
}

// The ingest mapping, checked against PostgreSQL itself: query results of a
// stock PG15 started from Strata's basebackup at several LSNs equal the
// primary's results at those LSNs, and after a clean stop every block Strata
// serves equals the primary's file block after masking.
func TestIngestedWALReproducesThePrimary(t *testing.T) {
	f := newFixture(t)
	p := f.primary
	type point struct {
		at   lsn.LSN
		want string
		dbs  []string
	}
	var points []point
	mark := func(dbs ...string) {
		p.SQL(t, "select pg_switch_wal()") // nothing in flight: the snapshot equals the state at the LSN
		want := snapshot(t, p, dbs...)
		points = append(points, point{at: p.FlushLSN(t), want: want, dbs: dbs})
	}
	p.SQL(t,
		"create table accounts (id int primary key, balance bigint, note text)",
		"insert into accounts select g, 0, repeat('x', g % 300) from generate_series(1, 20000) g",
		"create index on accounts (balance)",
		"vacuum accounts",
	)
	mark("postgres")
	p.Pgbench(t, "-i", "-s", "2", "-q")
	p.Pgbench(t, "-c", "2", "-t", "300", "-n")
	p.SQL(t,
		"update accounts set balance = balance + 1 where id % 3 = 0",
		"delete from accounts where id % 7 = 0",
		"create table toasted (id int, body text)",
		"insert into toasted select g, string_agg(md5(g::text || i::text), '') from generate_series(1, 50) g, generate_series(1, 200) i group by g",
		"create sequence s1",
		"select nextval('s1') from generate_series(1, 100)",
		"begin; insert into accounts values (-1, 1, 'sub'); savepoint a; insert into accounts values (-2, 2, 'sub2'); rollback to a; commit",
		// A multixact: the parent locks the row, its subtransaction updates it.
		"begin; select * from accounts where id = 5 for share; savepoint s; update accounts set note = 'multi' where id = 5; commit",
		"begin; select * from accounts where id = 6 for key share; savepoint s; update accounts set balance = 7 where id = 6; commit",
		"create database copied template template1 strategy file_copy",
		"create database logged strategy wal_log",
	)
	p.SQLDB(t, "copied", "create table c (v int)", "insert into c select generate_series(1, 1000)")
	mark("postgres", "copied", "logged")
	p.SQL(t,
		"vacuum (freeze) accounts",
		"truncate toasted",
		"drop table pgbench_history",
		"delete from pgbench_accounts where aid % 5 = 0",
		"vacuum pgbench_accounts",
		"select * from accounts where id < 10 for share",
		"begin; insert into accounts values (-3, 3, 'prep'); prepare transaction 'p1'",
		"drop database logged",
	)
	p.SQLDB(t, "copied", "update c set v = v + 1")
	mark("postgres", "copied")
	end := f.ingest(t, p.FlushLSN(t))

	for i, pt := range points {
		t.Run(fmt.Sprintf("basebackup at point %d (%s)", i, pt.at), func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := basebackup.Write(context.Background(), &buf, At(f.tl, pt.at), basebackup.Options{LSN: pt.at, TimeLineID: 2}); err != nil {
				t.Fatal(err)
			}
			c := pgtest.FromArchive(t, &buf, pgtest.Options{NoSlot: true})
			c.Start(t)
			if got := snapshot(t, c, pt.dbs...); got != pt.want {
				t.Errorf("query results differ at %s\n got:\n%s\nwant:\n%s", pt.at, got, pt.want)
			}
			c.SQL(t, "insert into accounts values (-100, 0, 'written on the copy')", "checkpoint")
			// Locking rows whose xmax is a multixact reads its members.
			c.SQL(t, "select * from accounts where id in (5, 6) for update")
		})
	}

	t.Run("every block equals the stopped primary's after masking", func(t *testing.T) {
		rels := relationAMs(t, p, "postgres", "copied")
		p.SQL(t, "checkpoint")
		p.Stop(t, "fast")
		final := f.ingest(t, lsn.Max)
		if final < end {
			t.Fatalf("final LSN %s below %s", final, end)
		}
		comparePages(t, f.tl, final, p.DataDir, rels)
	})
}

type relInfo struct {
	db   uint32
	node uint32
	am   string // heap, btree, hash, sequence, ...
	pers string // p, u, t
}

// relationAMs maps relation files to access methods, from pg_class.
func relationAMs(t *testing.T, c *pgtest.Cluster, dbs ...string) []relInfo {
	t.Helper()
	var out []relInfo
	for _, db := range dbs {
		q := `select (select oid from pg_database where datname = current_database()), pg_relation_filenode(c.oid),
		       case when c.relkind = 'S' then 'sequence' else coalesce(a.amname, 'heap') end, c.relpersistence
		      from pg_class c left join pg_am a on a.oid = c.relam
		      where pg_relation_filenode(c.oid) is not null and c.reltablespace = 0 and c.relkind in ('r','i','S','t','m')`
		rows, err := c.Psql(db, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(rows), "\n") {
			f := strings.Split(line, "|")
			if len(f) != 4 {
				continue
			}
			d, _ := strconv.ParseUint(f[0], 10, 32)
			n, _ := strconv.ParseUint(f[1], 10, 32)
			out = append(out, relInfo{db: uint32(d), node: uint32(n), am: f[2], pers: f[3]})
		}
	}
	return out
}

var amRmgr = map[string]uint8{"heap": wal.RmHeap, "btree": wal.RmBtree, "hash": wal.RmHash, "sequence": wal.RmSeq,
	"gin": wal.RmGin, "gist": wal.RmGist, "spgist": wal.RmSPGist, "brin": wal.RmBRIN}

func comparePages(t *testing.T, store Store, at lsn.LSN, dataDir string, rels []relInfo) {
	t.Helper()
	ctx := context.Background()
	v := At(store, at)
	var blocks, vm int
	for _, r := range rels {
		if r.pers != "p" {
			continue // unlogged and temporary relations are not WAL-logged
		}
		if r.am == "sequence" {
			// A sequence's WAL record logs the tuple 32 values ahead of the
			// primary's in-memory state, so redo legitimately yields a larger
			// last_value and log_cnt 0; the query comparison covers them.
			continue
		}
		for _, fork := range []uint8{key.ForkMain, key.ForkVM} {
			tag := key.RelTag{SpcNode: 1663, DbNode: r.db, RelNode: r.node, Fork: fork}
			path := filepath.Join(dataDir, "base", strconv.Itoa(int(r.db)), strconv.Itoa(int(r.node)))
			if fork == key.ForkVM {
				path += "_vm"
			}
			file, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			n, err := v.RelSize(ctx, tag)
			if fork == key.ForkVM && errors.Is(err, ErrNoRelation) {
				// PostgreSQL extends a VM fork without WAL; until a record
				// sets a bit there, its pages are zeros, which is what a
				// missing fork means to PostgreSQL.
				for off := 0; off < len(file); off += 8192 {
					pg := bytes.Clone(file[off : off+8192])
					mask.PageLSNAndChecksum(pg)
					if !bytes.Equal(pg[24:], make([]byte, 8192-24)) {
						t.Errorf("%s: Strata has no VM fork, but the primary's block %d has bits set", tag, off/8192)
					}
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", tag, err)
				continue
			}
			if int(n)*8192 != len(file) {
				t.Errorf("%s: Strata has %d blocks, the primary's file %d", tag, n, len(file)/8192)
				continue
			}
			for b := uint32(0); b < n; b++ {
				got, err := v.Page(ctx, key.RelBlock(tag, b))
				if err != nil {
					t.Errorf("%s block %d: %v", tag, b, err)
					continue
				}
				want := bytes.Clone(file[int(b)*8192 : int(b+1)*8192])
				if fork == key.ForkVM {
					vm++
					// VM pages must match raw, except the page LSN/checksum.
					mask.PageLSNAndChecksum(got)
					mask.PageLSNAndChecksum(want)
				} else if m := mask.ForRmgr(amRmgr[r.am]); m != nil {
					got = bytes.Clone(got)
					if err := m(got, b); err != nil {
						t.Errorf("%s block %d: mask Strata's page: %v", tag, b, err)
					}
					if err := m(want, b); err != nil {
						t.Errorf("%s block %d: mask the primary's page: %v", tag, b, err)
					}
				}
				blocks++
				if !bytes.Equal(got, want) {
					off := 0
					for off < len(got) && got[off] == want[off] {
						off++
					}
					t.Errorf("%s (%s) block %d differs at byte %d", tag, r.am, b, off)
				}
			}
		}
	}
	t.Logf("compared %d blocks (%d visibility-map pages)", blocks, vm)
	if blocks == 0 {
		t.Fatal("no block compared")
	}
}
