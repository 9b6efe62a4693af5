package gin_test

import (
	"encoding/binary"
	"testing"

	"github.com/stratadb/strata/libs/postgres/gin"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/verify"
	"github.com/stratadb/strata/libs/postgres/verify/verifytest"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// TestRedoMatchesPostgres runs GIN workloads (int[] without fast update:
// entry-tree and posting-tree inserts, splits, recompression; tsvector with
// fast update: pending list appends and flushes; deletes and VACUUM with
// posting-tree page deletion) on a real PostgreSQL 15 with
// wal_consistency_checking and checks every GIN block replayed by Redo
// against PostgreSQL's image.
func TestRedoMatchesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	kinds := map[string]int{}
	rep := verifytest.Run(t, verifytest.Workload{
		RmID:     wal.RmGin,
		Checking: "gin",
		Redo:     counting(kinds),
		Steps: []string{
			`CREATE TABLE arr (id int, a int[])`,
			`CREATE INDEX arr_gin ON arr USING gin (a) WITH (fastupdate = off)`,
			// Key 1 is in every row: a posting tree several leaves wide.
			`INSERT INTO arr SELECT i, CASE WHEN i % 10 = 0 THEN ARRAY[1, i % 100, 1000 + i % 7, 5000 + i] ELSE ARRAY[1, i % 100, 1000 + i % 7] END FROM generate_series(1, 25000) i`,
			`INSERT INTO arr SELECT i, ARRAY[1, 2, 3] FROM generate_series(25001, 26000) i`,
			`DELETE FROM arr WHERE id BETWEEN 3000 AND 16000`,
			`DELETE FROM arr WHERE id % 5 = 0`,
			`VACUUM arr`,
			`INSERT INTO arr SELECT i, ARRAY[1, i % 100] FROM generate_series(30001, 32000) i`,
			`CREATE TABLE docs (id int, t tsvector)`,
			`CREATE INDEX docs_gin ON docs USING gin (t) WITH (fastupdate = on, gin_pending_list_limit = 64)`,
			`INSERT INTO docs SELECT i, to_tsvector('simple', 'w' || (i % 300) || ' common x' || (i % 13) || ' ' || md5(i::text))
			   FROM generate_series(1, 4000) i`,
			`SELECT gin_clean_pending_list('docs_gin')`,
			`INSERT INTO docs SELECT i, to_tsvector('simple', 'late' || (i % 5) || ' common') FROM generate_series(4001, 4500) i`,
			`DELETE FROM docs WHERE id % 2 = 0`,
			`VACUUM docs`,
		},
	})
	rep.RequireVerified(t, "CREATE_PTREE", "INSERT", "VACUUM_DATA_LEAF_PAGE", "DELETE_PAGE",
		"UPDATE_META_PAGE", "INSERT_LISTPAGE", "DELETE_LISTPAGE")
	t.Logf("INSERT variants replayed: %v", kinds)
	for _, k := range []string{"entry leaf", "entry internal", "data leaf", "data internal"} {
		if kinds[k] == 0 {
			t.Errorf("workload replayed no %s INSERT", k)
		}
	}
	if rep.Records["SPLIT"] == 0 || rep.Records["VACUUM_PAGE"] == 0 {
		t.Errorf("workload produced no SPLIT (%d) or VACUUM_PAGE (%d) records", rep.Records["SPLIT"], rep.Records["VACUUM_PAGE"])
	}
}

// counting replays through redo.ApplyBlock (the dispatch table that routes
// GIN records to package gin) and counts the INSERT variants it replays on
// block 0: entry or data tree, leaf or internal page.
func counting(kinds map[string]int) verify.Redoer {
	return verify.RedoFunc(func(pg []byte, rec *wal.Record, id uint8) error {
		blk := rec.Block(id)
		if rec.RmID == wal.RmGin && rec.Info&wal.RmgrInfoMask == gin.Insert && id == 0 && blk != nil &&
			!(blk.HasImage && blk.ApplyImage) && len(rec.MainData) >= 2 {
			fl := binary.LittleEndian.Uint16(rec.MainData)
			kinds[map[uint16]string{0: "entry internal", 1: "data internal", 2: "entry leaf", 3: "data leaf"}[fl&3]]++
		}
		return redo.ApplyBlock(pg, rec, id)
	})
}
