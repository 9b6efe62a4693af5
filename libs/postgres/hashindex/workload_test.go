package hashindex_test

import (
	"sort"
	"testing"

	"github.com/stratadb/strata/libs/postgres/hashindex"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// hashWorkload exercises every Hash record type: index creation (metapage
// and bitmap page), inserts growing the index through bucket splits and
// overflow pages, VACUUM (DELETE, SQUEEZE_PAGE, MOVE_PAGE_CONTENTS,
// UPDATE_META_PAGE), split cleanup, and on-insert cleanup of dead tuples
// (VACUUM_ONE_PAGE).
var hashWorkload = []string{
	"create table h (k int)",
	"create index h_k on h using hash (k)",
	"insert into h select g from generate_series(1, 20000) g",
	// Many duplicates of few keys make long overflow chains.
	"insert into h select g % 4 from generate_series(1, 6000) g",
	"delete from h where k % 3 = 0 or k < 4 and random() < 0.7",
	"vacuum h",
	"insert into h select g from generate_series(20001, 30000) g",
	// Dead tuples found by index scans get LP_DEAD; inserts into those full
	// pages then remove them (VACUUM_ONE_PAGE).
	"insert into h select 7 from generate_series(1, 3000) g",
	"delete from h where k = 7",
	"set enable_seqscan = off; set enable_bitmapscan = off; select count(*) from h where k = 7",
	"insert into h select 7 from generate_series(1, 3000) g",
	"delete from h where k > 100",
	"vacuum h",
	// Text keys of every length, on an index built over existing rows.
	"create table s (t text)",
	"insert into s select repeat(md5(g::text), 1 + g % 5) from generate_series(1, 3000) g",
	"create index s_t on s using hash (t)",
	"insert into s select repeat(md5(g::text), 1 + g % 3) from generate_series(1, 6000) g",
	"delete from s where length(t) > 64",
	"vacuum s",
}

func TestRedoMatchesPostgresForRealHashWAL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	c := pgtest.Start(t, pgtest.Options{Settings: map[string]string{
		"wal_consistency_checking": "hash",
		"wal_compression":          "lz4",
		"autovacuum":               "off",
	}})
	start := c.CurrentLSN(t)
	c.SQL(t, hashWorkload...)
	end := c.CurrentLSN(t)
	name := func(rec *wal.Record) string { return hashindex.OpName(rec.Info & 0xF0) }
	res := runOracle(t, c.WALDir(), start, end, wal.RmHash, redo.ApplyBlock, hashMask, name)
	for i, m := range []map[string]int{res.verified, res.records} {
		what := [...]string{"verified blocks", "records"}[i]
		types := make([]string, 0, len(m))
		for k := range m {
			types = append(types, k)
		}
		sort.Strings(types)
		for _, k := range types {
			t.Logf("%-15s %-20s %6d", what, k, m[k])
		}
	}
	t.Logf("skipped (unknown base page) %d", res.skipped)
	for _, m := range res.first {
		t.Errorf("mismatch: %s", m)
	}
	if res.mismatches > 0 {
		t.Fatalf("%d mismatches", res.mismatches)
	}
}
