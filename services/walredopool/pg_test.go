package walredopool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/postgres/mask"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/wal"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
)

// chainOf is the WAL of one page: records from the first that initializes
// it (WILL_INIT or an image to apply) onwards.
type chainOf struct {
	key  key.Key
	recs []*walredov1.WalRecord
}

// TestRedoOfRealPostgresWAL replays the WAL a real PostgreSQL 15 wrote for a
// table and its index (inserts, HOT and non-HOT updates, deletes, vacuum)
// through the service, page by page, and requires every page to equal the
// in-process redo of the same records, and (masked) the page in
// PostgreSQL's data file after a checkpoint.
func TestRedoOfRealPostgresWAL(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.SQL(t,
		"create table t (id int primary key, v text) with (autovacuum_enabled = off)",
		"insert into t select g, repeat('x', g % 50) from generate_series(1, 600) g",
		"update t set v = v || 'hot' where id % 7 = 0",
		"update t set id = id + 1000 where id % 11 = 0",
		"delete from t where id % 13 = 0",
		"vacuum t",
		"insert into t values (5000, 'after vacuum')",
		"checkpoint", // the data files now hold every page as of the WAL below
	)
	db, err := strconv.ParseUint(strings.TrimSpace(c.Query(t, "select oid from pg_database where datname = current_database()")), 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	rels := map[uint32]mask.Func{}
	for r, m := range map[string]mask.Func{"t": mask.Heap, "t_pkey": mask.Btree} {
		n, err := strconv.ParseUint(strings.TrimSpace(c.Query(t, "select pg_relation_filenode('"+r+"')")), 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		rels[uint32(n)] = m
	}
	// synchronous_commit is off in test clusters: wait for the WAL to be
	// written.
	end := c.CurrentLSN(t)
	deadline := time.Now().Add(time.Minute)
	for c.FlushLSN(t) < end {
		if time.Now().After(deadline) {
			t.Fatalf("WAL not flushed up to %s", end)
		}
		time.Sleep(10 * time.Millisecond)
	}

	r, err := wal.NewReader(c.WALDir(), c.StartLSN, wal.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	chains := map[key.Key]*chainOf{}
	var order []key.Key
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.LSN >= end {
			break
		}
		for i := range rec.Blocks {
			b := &rec.Blocks[i]
			if b.Rel.DbNode != uint32(db) || rels[b.Rel.RelNode] == nil {
				continue
			}
			k := key.RelBlock(b.Rel, b.Blk)
			ch := chains[k]
			if b.WillInit || (b.HasImage && b.ApplyImage) {
				if ch == nil {
					order = append(order, k)
				}
				ch = &chainOf{key: k}
				chains[k] = ch
			}
			if ch == nil {
				continue // no starting point in the WAL we read
			}
			ch.recs = append(ch.recs, &walredov1.WalRecord{Lsn: uint64(rec.EndLSN), WillInit: len(ch.recs) == 0,
				Data: bytes.Clone(rec.Raw), Kind: walredov1.WalRecordKind_WAL_RECORD_KIND_POSTGRES})
		}
	}
	if len(order) < 5 {
		t.Fatalf("only %d pages of t and t_pkey found in the WAL", len(order))
	}

	s := startService(t)
	ctx := s.ctx(t, auth.ScopeWalredo)
	records, compared := 0, 0
	for _, k := range order {
		ch := chains[k]
		req := &walredov1.RedoRequest{Key: k.AppendBinary(nil), Lsn: ch.recs[len(ch.recs)-1].Lsn, Records: ch.recs, PgVersion: 15}
		resp, err := s.client.Redo(ctx, req)
		if err != nil {
			t.Fatalf("Redo of %s (%d records): %v", k, len(ch.recs), err)
		}
		want := make([]redo.Record, len(ch.recs))
		for i, rec := range ch.recs {
			want[i] = redo.Record{LSN: lsn.LSN(rec.Lsn), Data: redo.EncodePostgres(nil, lsn.LSN(rec.Lsn), rec.Data)}
		}
		if !bytes.Equal(resp.Page, mustApply(t, req.Key, nil, want)) {
			t.Fatalf("page %s differs from redo.Apply", k)
		}
		records += len(ch.recs)
		// And, masked as PostgreSQL's wal_consistency_checking does, it
		// equals the page PostgreSQL itself wrote. (Not for the VM fork:
		// the heap records' VM-bit clears reach it as engine records that
		// ingest makes, which this WAL-only chain lacks.)
		rel, _ := k.RelTag()
		if rel.Fork != key.ForkMain {
			continue
		}
		pg := dataFilePage(t, filepath.Join(c.DataDir, "base", strconv.FormatUint(db, 10), strconv.FormatUint(uint64(rel.RelNode), 10)), k.Field6)
		got := bytes.Clone(resp.Page)
		m := rels[rel.RelNode]
		if err := errors.Join(m(got, k.Field6), m(pg, k.Field6)); err != nil {
			t.Fatalf("mask page %s: %v", k, err)
		}
		if !bytes.Equal(got, pg) {
			t.Fatalf("page %s differs from PostgreSQL's data file (masked)", k)
		}
		compared++
	}
	t.Logf("%d pages rebuilt from %d records of real PostgreSQL WAL, %d compared with the data files", len(order), records, compared)
}

// dataFilePage reads block blk of a relation's first segment file.
func dataFilePage(tb testing.TB, path string, blk uint32) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	pg := make([]byte, page.Size)
	if _, err := f.ReadAt(pg, int64(blk)*page.Size); err != nil {
		tb.Fatalf("read block %d of %s: %v", blk, path, err)
	}
	return pg
}
