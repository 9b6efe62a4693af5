package spgist_test

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/spgist"
	"github.com/stratadb/strata/libs/postgres/verify/verifytest"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// TestRedoMatchesPostgres runs SP-GiST workloads (quad-tree and k-d tree
// points, radix-tree text, in-build and after-build inserts, deletes and
// VACUUM) on a real PostgreSQL 15 with wal_consistency_checking and checks
// that every SP-GiST block replayed by Redo equals PostgreSQL's image.
func TestRedoMatchesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	rep := verifytest.Run(t, verifytest.Workload{
		RmID:     wal.RmSPGist,
		Checking: "spgist",
		Redo:     verifytest.WithRmgr(wal.RmSPGist, spgist.Redo, false),
		Steps: []string{
			`CREATE TABLE pts (id int, p point, k point, s text)`,
			// Empty indexes: every row below is inserted through the WAL-logged path.
			`CREATE INDEX pts_quad ON pts USING spgist (p)`,
			`CREATE INDEX pts_kd ON pts USING spgist (k kd_point_ops)`,
			`CREATE INDEX pts_text ON pts USING spgist (s)`,
			`INSERT INTO pts SELECT i, point(i % 97, i % 89), point((i * 7) % 101, (i * 13) % 103),
			   'k' || (i % 50) || repeat('x', i % 7) || md5(i::text) FROM generate_series(1, 6000) i`,
			`INSERT INTO pts SELECT i, NULL, NULL, NULL FROM generate_series(1, 300) i`,
			`INSERT INTO pts SELECT i, point(0.5, 0.5), point(1, 1), 'same' FROM generate_series(1, 400) i`,
			`DELETE FROM pts WHERE id % 3 = 0`,
			`VACUUM pts`,
			`INSERT INTO pts SELECT i, point(i % 31, i % 37), point(i % 41, i % 43), 'n' || md5(i::text) FROM generate_series(6001, 8000) i`,
			`DELETE FROM pts WHERE id % 2 = 0`,
			`VACUUM pts`,
			// A small index whose root stays a leaf: VACUUM_ROOT.
			`CREATE TABLE small (p point)`,
			`CREATE INDEX small_p ON small USING spgist (p)`,
			`INSERT INTO small SELECT point(i, i) FROM generate_series(1, 20) i`,
			`DELETE FROM small WHERE p[0] > 10`,
			`VACUUM small`,
		},
	})
	rep.RequireVerified(t, "ADD_LEAF", "MOVE_LEAFS", "ADD_NODE", "SPLIT_TUPLE", "PICKSPLIT", "VACUUM_LEAF", "VACUUM_ROOT", "VACUUM_REDIRECT")
}
