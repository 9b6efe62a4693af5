package spgist_test

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/spgist"
	"github.com/stratadb/strata/libs/postgres/verify"
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
	kinds := map[string]int{}
	rep := verifytest.Run(t, verifytest.Workload{
		RmID:     wal.RmSPGist,
		Checking: "spgist",
		Redo:     counting(kinds),
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
			// Many distinct labels per radix-tree node: inner tuples outgrow their page.
			`CREATE TABLE words (w text)`,
			`CREATE INDEX words_w ON words USING spgist (w)`,
			`SELECT setseed(0.42); INSERT INTO words SELECT string_agg(chr(33 + (random() * 93)::int), '')
			   FROM generate_series(1, 12000) i, generate_series(1, 1 + i % 5) j GROUP BY i`,
			// Long shared prefixes, then keys diverging inside them: SPLIT_TUPLE.
			`INSERT INTO words SELECT 'g' || g || '_a_long_shared_prefix_' || i FROM generate_series(1, 40) g, generate_series(1, 150) i`,
			`INSERT INTO words SELECT 'g' || g || '_a_long_sh' || i FROM generate_series(1, 40) g, generate_series(1, 3) i`,
			// A small index whose root stays a leaf: VACUUM_ROOT.
			`CREATE TABLE small (p point)`,
			`CREATE INDEX small_p ON small USING spgist (p)`,
			`INSERT INTO small SELECT point(i, i) FROM generate_series(1, 20) i`,
			`DELETE FROM small WHERE p[0] > 10`,
			`VACUUM small`,
		},
	})
	t.Logf("variants replayed: %v", kinds)
	for _, k := range []string{"ADD_NODE in place", "ADD_NODE moved", "SPLIT_TUPLE same page", "SPLIT_TUPLE two pages", "PICKSPLIT root", "PICKSPLIT"} {
		if kinds[k] == 0 {
			t.Errorf("workload replayed no %s", k)
		}
	}
	rep.RequireVerified(t, "ADD_LEAF", "MOVE_LEAFS", "ADD_NODE", "SPLIT_TUPLE", "PICKSPLIT", "VACUUM_LEAF", "VACUUM_ROOT", "VACUUM_REDIRECT")
}

// counting replays through redo.ApplyBlock (the dispatch table that routes
// SP-GiST records to package spgist) and counts record variants by the
// shape of the record, once per record (on its first block reference).
func counting(kinds map[string]int) verify.Redoer {
	return verify.RedoFunc(func(pg []byte, rec *wal.Record, id uint8) error {
		blk := rec.Block(id)
		if rec.RmID == wal.RmSPGist && blk != nil && blk == &rec.Blocks[0] && !(blk.HasImage && blk.ApplyImage) {
			md := rec.MainData
			switch rec.Info & wal.RmgrInfoMask {
			case spgist.AddNode:
				if rec.Block(1) == nil {
					kinds["ADD_NODE in place"]++
				} else {
					kinds["ADD_NODE moved"]++
				}
			case spgist.SplitTuple:
				if len(md) > 5 && md[5] != 0 {
					kinds["SPLIT_TUPLE same page"]++
				} else {
					kinds["SPLIT_TUPLE two pages"]++
				}
			case spgist.PickSplit:
				if len(md) > 0 && md[0] != 0 {
					kinds["PICKSPLIT root"]++
				} else {
					kinds["PICKSPLIT"]++
				}
			}
		}
		return redo.ApplyBlock(pg, rec, id)
	})
}
