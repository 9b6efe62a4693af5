package hashindex_test

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/hashindex"
	"github.com/stratadb/strata/libs/postgres/verify/verifytest"
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
	name := func(rec *wal.Record) string { return hashindex.OpName(rec.Info & 0xF0) }
	rep := verifytest.Run(t, verifytest.Workload{RmID: wal.RmHash, Checking: "hash", Steps: hashWorkload, Name: name})
	rep.RequireVerified(t, "INIT_META_PAGE", "INIT_BITMAP_PAGE", "INSERT", "ADD_OVFL_PAGE",
		"SPLIT_ALLOCATE_PAGE", "SPLIT_COMPLETE", "MOVE_PAGE_CONTENTS", "SQUEEZE_PAGE", "DELETE",
		"SPLIT_CLEANUP", "UPDATE_META_PAGE", "VACUUM_ONE_PAGE")
	// SPLIT_PAGE always carries a full-page image to apply.
	rep.RequireRecords(t, "SPLIT_PAGE")
}
