package nbtree_test

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/nbtree"
	"github.com/stratadb/strata/libs/postgres/verify/verifytest"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// btreeWorkload exercises every Btree record type a workload can produce:
// splits up to new roots, deduplication and posting-list splits, simple and
// bottom-up deletion, VACUUM with posting-list updates, page deletion and
// page reuse.
var btreeWorkload = []string{
	"create table b (id int, v text, d int)",
	"create index b_id on b (id)",
	"create index b_v on b (v)",
	"create index b_d on b (d)",
	// Ascending keys split the rightmost page (SPLIT_R), random text keys
	// split in the middle (SPLIT_L); both grow new roots.
	"insert into b select g, md5(g::text), g % 50 from generate_series(1, 6000) g",
	// Deletes and VACUUM: VACUUM records, posting-list updates in b_d,
	// emptied leaves deleted (MARK_PAGE_HALFDEAD, UNLINK_PAGE), metapage
	// cleanup info.
	"delete from b where id between 500 and 4500",
	"delete from b where id % 7 = 0",
	"vacuum b",
	// Index scans mark the dead tuples LP_DEAD; inserts into those pages
	// then delete them (DELETE). Inserting duplicates below the largest TID
	// of a posting list splits it (INSERT_POST), and space reuse recycles
	// deleted pages (REUSE_PAGE).
	"delete from b where id % 5 = 0",
	"set enable_seqscan = off; set enable_bitmapscan = off; select count(*) from b where id > 0; select count(*) from b where d >= 0",
	"insert into b select g, md5(g::text), g % 50 from generate_series(6001, 9000) g",
	"insert into b select g, md5((g*7)::text), g % 50 from generate_series(1, 3000) g",
	// Non-HOT update churn on the same keys triggers bottom-up deletion.
	"update b set v = v || 'x' where id < 300",
	"update b set v = v || 'y' where id < 300",
	"update b set v = v || 'z' where id < 300",
	"vacuum b",
	"delete from b where id > 100",
	"vacuum b",
	"vacuum b",
	"insert into b select g, md5(g::text), g % 3 from generate_series(1, 4000) g",
	// A two-leaf index whose left leaf empties: deleting the next-to-last
	// page of a level moves the fast root down (UNLINK_PAGE_META); splitting
	// that only leaf again then updates the metapage (INSERT_META).
	"create table f (id int)",
	"create index f_id on f (id)",
	"insert into f select g from generate_series(1, 500) g",
	"delete from f where id <= 400",
	"vacuum f",
	"insert into f select g from generate_series(1000, 3000) g",
	// Wide keys make a three-level tree cheaply; emptying whole level-1
	// subtrees deletes internal pages too (UNLINK_PAGE with the leaf as
	// block 3).
	"create table w (k text)",
	"create index w_k on w (k)",
	"insert into w select (select string_agg(md5(g::text || i::text), '') from generate_series(1, 14) i) from generate_series(1, 2500) g",
	"delete from w where k < 'c'",
	"vacuum w",
}

// variedKeysWorkload covers tuple shapes the first workload does not:
// multi-column keys with NULLs and INCLUDE columns (pivot tuples with
// truncated attributes and heap TIDs), unaligned varlena keys, descending
// inserts, and a unique index under version churn.
var variedKeysWorkload = []string{
	"create table m (a int, b text, c int, u int)",
	"create index m_ab on m (a, b) include (c)",
	"create index m_b on m (b)",
	"create unique index m_u on m (u)",
	"insert into m select g % 97, case when g % 11 = 0 then null else repeat(chr(97 + g % 26), 1 + g % 37) end, g, g from generate_series(5000, 1, -1) g",
	"update m set c = c + 1 where u % 3 = 0",
	"update m set c = c + 1 where u % 3 = 0",
	"update m set b = b || 'q' where u < 1500",
	"delete from m where a between 10 and 60",
	"vacuum m",
	"insert into m select g % 97, md5(g::text), g, g + 10000 from generate_series(1, 2000) g",
	"delete from m where u < 9000",
	"vacuum m",
}

func TestRedoMatchesPostgresForVariedBtreeKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	testBtreeWorkload(t, variedKeysWorkload)
}

func TestRedoMatchesPostgresForRealBtreeWAL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	rep := testBtreeWorkload(t, btreeWorkload)
	rep.RequireVerified(t, "INSERT_LEAF", "INSERT_UPPER", "INSERT_META", "INSERT_POST",
		"SPLIT_L", "SPLIT_R", "DEDUP", "VACUUM", "DELETE", "MARK_PAGE_HALFDEAD", "UNLINK_PAGE",
		"UNLINK_PAGE_META", "NEWROOT", "META_CLEANUP")
	rep.RequireRecords(t, "SPLIT_L+POSTING", "UNLINK_PAGE+INTERNAL", "REUSE_PAGE")
}

func testBtreeWorkload(t *testing.T, workload []string) *verifytest.Report {
	t.Helper()
	return verifytest.Run(t, verifytest.Workload{RmID: wal.RmBtree, Checking: "btree", Steps: workload, Name: btreeName})
}

// btreeName names a record, marking splits that also split a posting list
// and page deletions that delete an internal page (and rewrite the leaf).
func btreeName(rec *wal.Record) string {
	op := rec.Info & 0xF0
	n := nbtree.OpName(op)
	if (op == nbtree.SplitL || op == nbtree.SplitR) && len(rec.MainData) >= 10 && (rec.MainData[8] != 0 || rec.MainData[9] != 0) {
		n += "+POSTING"
	}
	if (op == nbtree.UnlinkPage || op == nbtree.UnlinkPageMeta) && rec.Block(3) != nil {
		n += "+INTERNAL"
	}
	return n
}
