package verifytest_test

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/verify/verifytest"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// The BRIN and GiST redo live in package redo; these oracle workloads drive
// them harder than redo's own coverage workload (and exercise this package).

// TestBRINRedoMatchesPostgres: BRIN indexes (minmax over several columns,
// minmax-multi) on a table that grows past its summarized ranges, with
// summarize/desummarize calls, updates that widen summaries and VACUUM.
func TestBRINRedoMatchesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	rep := verifytest.Run(t, verifytest.Workload{
		RmID:     wal.RmBRIN,
		Checking: "brin",
		Steps: []string{
			`CREATE TABLE b (id int, v int, t text) WITH (fillfactor = 50)`,
			`INSERT INTO b SELECT i, i, md5(i::text) FROM generate_series(1, 20000) i`,
			`CREATE INDEX b_brin ON b USING brin (id, v, t) WITH (pages_per_range = 4)`,
			`CREATE INDEX b_brin2 ON b USING brin (v int4_minmax_multi_ops) WITH (pages_per_range = 2)`,
			`INSERT INTO b SELECT i, -i, md5(i::text) FROM generate_series(20001, 40000) i`,
			`SELECT brin_summarize_new_values('b_brin')`,
			`SELECT brin_summarize_new_values('b_brin2')`,
			`UPDATE b SET v = v * 3, t = t || t WHERE id % 50 = 0`,
			`SELECT brin_desummarize_range('b_brin', 0)`,
			`SELECT brin_desummarize_range('b_brin', 40)`,
			`SELECT brin_summarize_range('b_brin', 0)`,
			`DELETE FROM b WHERE id % 3 = 0`,
			`VACUUM b`,
			`INSERT INTO b SELECT i, i, repeat('z', 200) FROM generate_series(1, 5000) i`,
			`SELECT brin_summarize_new_values('b_brin')`,
		},
	})
	rep.RequireVerified(t, "CREATE_INDEX", "INSERT", "INSERT+INIT", "UPDATE", "UPDATE+INIT",
		"SAMEPAGE_UPDATE", "REVMAP_EXTEND", "DESUMMARIZE")
}

// TestGiSTRedoMatchesPostgres: point and box GiST indexes grown through many
// page splits, index scans that kill dead tuples (then inserts prune them:
// DELETE records), VACUUM with page deletion, and reuse of freed pages.
func TestGiSTRedoMatchesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	const scan = `SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM g WHERE p <@ box(point(0,0), point(300,300))`
	rep := verifytest.Run(t, verifytest.Workload{
		RmID:     wal.RmGist,
		Checking: "gist",
		Steps: []string{
			`CREATE TABLE g (id int, p point, b box)`,
			`CREATE INDEX g_p ON g USING gist (p)`,
			`CREATE INDEX g_b ON g USING gist (b)`,
			`INSERT INTO g SELECT i, point(i % 211, i % 199), box(point(i % 97, i % 89), point(i % 97 + 3, i % 89 + 5)) FROM generate_series(1, 15000) i`,
			`DELETE FROM g WHERE id % 4 <> 0`,
			scan,
			scan,
			`INSERT INTO g SELECT i, point(i % 211, i % 199), box(point(i % 97, i % 89), point(i % 97 + 3, i % 89 + 5)) FROM generate_series(1, 15000) i`,
			`VACUUM g`,
			`DELETE FROM g WHERE id < 12000`,
			`VACUUM g`,
			`INSERT INTO g SELECT i, point(i % 17, i % 19), box(point(1,1), point(2,2)) FROM generate_series(1, 8000) i`,
		},
	})
	rep.RequireVerified(t, "PAGE_UPDATE", "PAGE_SPLIT", "DELETE", "PAGE_DELETE")
}
