package redo

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stratadb/strata/libs/postgres/wal"
)

var updateCoverage = flag.Bool("update-coverage", false, "rewrite docs/postgres-coverage.md from Status")

const coverageDoc = "../../../docs/postgres-coverage.md"

const oracle = "oracle `TestRedoMatchesPostgresUnderConsistencyChecking`"

const ginOracle = "oracle `gin.TestRedoMatchesPostgres` (libs/postgres/gin)"

// coveredBy names the tests that cover a record type ("Rmgr/TYPE").
var coveredBy = map[string]string{
	"XLOG/FPI":                oracle + ", `TestFullPageImagesAreRestored`",
	"XLOG/FPI_FOR_HINT":       "`TestFullPageImagesAreRestored` (same path as FPI)",
	"Heap/INSERT":             oracle + ", `TestHeapInsertAppendsAndClearsAllVisible`",
	"Heap/INSERT+INIT":        oracle + ", `TestHeapInsertInitBuildsPostgresTuple`",
	"Heap/DELETE":             oracle + " (incl. partition move), `TestHeapDeleteSetsXmaxAndPrunable`",
	"Heap/UPDATE":             oracle + ", `TestUpdateAcrossPagesTouchesEachPageOnce`",
	"Heap/UPDATE+INIT":        oracle + ", `TestUpdateAcrossPagesTouchesEachPageOnce`",
	"Heap/HOT_UPDATE":         oracle + ", `TestHotUpdateRebuildsTupleFromPrefixAndSuffix`",
	"Heap/HOT_UPDATE+INIT":    "same code as UPDATE+INIT (PostgreSQL never logs HOT across pages)",
	"Heap/HEAP_CONFIRM":       oracle + ", `TestLockConfirmInplaceAndLockUpdated`",
	"Heap/LOCK":               oracle + ", `TestLockConfirmInplaceAndLockUpdated`",
	"Heap/INPLACE":            oracle + ", `TestLockConfirmInplaceAndLockUpdated`",
	"Heap2/PRUNE":             oracle + ", `TestPruneRedirectsKillsAndCompacts`",
	"Heap2/VACUUM":            oracle + ", `TestVacuumUnusesDeadLinePointers`",
	"Heap2/FREEZE_PAGE":       oracle + ", `TestFreezeAppliesPlans`",
	"Heap2/VISIBLE":           oracle + ", `TestVisibleSetsHeapFlagAndVMBits`",
	"Heap2/MULTI_INSERT":      oracle + ", `TestMultiInsertInitAndAppend`",
	"Heap2/MULTI_INSERT+INIT": oracle + ", `TestMultiInsertInitAndAppend`",
	"Heap2/LOCK_UPDATED":      "`TestLockConfirmInplaceAndLockUpdated` (the oracle workload rarely produces it)",
	"Heap/TRUNCATE":           "oracle at wal_level=logical (record seen, no block references)",
	"Heap2/NEW_CID":           "oracle at wal_level=logical (record seen, no block references)",
	"Generic/Generic":         oracle + " (bloom index), `TestGenericDeltaFragments`",
	"Sequence/LOG":            oracle + ", `TestSequenceLogRebuildsPage`",
	"Btree/INSERT_META":       "nbtree package tests",
	"Btree/UNLINK_PAGE_META":  "nbtree package tests",
	"Hash/MOVE_PAGE_CONTENTS": "hashindex package tests",
	"Hash/VACUUM_ONE_PAGE":    "hashindex package tests",
	"Gin/SPLIT":               ginOracle + " (images; block 3 clears INCOMPLETE_SPLIT), gin package tests",
	"Gin/VACUUM_PAGE":         ginOracle + " (image restored)",
	"CLOG/ZEROPAGE":           "ingest writes a zero page; `TestApplySLRURecords` for the status bits",
	"Transaction/COMMIT":      "`TestApplySLRURecords` (ClogSetCommitted)",
	"Transaction/ABORT":       "`TestApplySLRURecords` (ClogSetAborted)",
	"MultiXact/CREATE_ID":     "`TestApplySLRURecords` (MultiXactOffsetCreate, MultiXactMembersCreate)",
	"Storage/TRUNCATE":        "`TestApplyVisibilityMapRecords` (TruncateVisibilityMap)",
}

// ingestNotes says what the ingest mapping does with records without block references.
var ingestNotes = map[uint8]string{
	wal.RmXLOG:       "checkpoint/NEXTOID/PARAMETER_CHANGE feed control values; the rest need nothing",
	wal.RmXact:       "CLOG status bits (ClogSetCommitted/Aborted), relation drops, two-phase files",
	wal.RmSmgr:       "relation create/truncate sizes; VM truncation via TruncateVisibilityMap",
	wal.RmCLOG:       "ZEROPAGE: zero page image; TRUNCATE: drop segments",
	wal.RmDbase:      "create (wal_log / file_copy) and drop of a database's keys",
	wal.RmTblspc:     "directory bookkeeping only",
	wal.RmMultiXact:  "ZERO_*: zero page images; CREATE_ID: MultiXactOffsetCreate/MembersCreate; TRUNCATE_ID: drop segments",
	wal.RmRelMap:     "replace the pg_filenode.map value",
	wal.RmStandby:    "nothing (hot standby only)",
	wal.RmCommitTs:   "pg_commit_ts is not stored (track_commit_timestamp unsupported)",
	wal.RmReplOrigin: "nothing stored",
	wal.RmLogicalMsg: "nothing",
}

type coverageRow struct {
	rmgr, op string
	status   Status
}

// coverageRows lists every PG15 record type once, in rmgr and opcode order.
func coverageRows() []coverageRow {
	var rows []coverageRow
	for rmid := uint8(0); rmid <= wal.RmMaxBuiltin; rmid++ {
		seen := map[string]bool{}
		for op := 0; op < 256; op += 16 {
			name := wal.OpName(rmid, uint8(op))
			if strings.HasPrefix(name, "UNKNOWN") || seen[name] {
				continue
			}
			seen[name] = true
			rows = append(rows, coverageRow{wal.RmgrName(rmid), name, StatusOf(rmid, uint8(op))})
		}
	}
	return rows
}

func renderCoverage() string {
	var b strings.Builder
	b.WriteString(`# PostgreSQL 15 WAL record coverage

Every record type of PostgreSQL 15 (rmgrlist.h and the *_xlog.h headers) and how
Strata handles it. Generated from ` + "`redo.StatusOf`" + ` by
` + "`go test ./redo -run TestCoverageDoc -update-coverage`" + ` (libs/postgres); the test fails
when this file and the code disagree.

Status:
- **redo in Go**: ` + "`redo.ApplyBlock`" + ` replays the record on each block reference
  (package heapam, nbtree, hashindex, gin, spgist, or redo itself).
- **restored image only**: the block references are full-page images; they are restored.
- **no page effect**: the record has no block references; the ingest mapping turns it into
  other edits (column "ingest"), or it needs nothing.
- **unsupported yet**: a block reference without an image to apply fails with
  ` + "`unsupported record Rmgr/TYPE at LSN`" + ` (` + "`redo.ErrUnsupported`" + `). Full-page images of these
  rmgrs (index builds, first touch after a checkpoint) are still restored.

The oracle is ` + "`TestRedoMatchesPostgresUnderConsistencyChecking`" + ` in libs/postgres/redo: a real PG15
with ` + "`wal_consistency_checking=all`" + ` runs a heap-heavy workload plus ` + "`pgtest.CoverageWorkload`" + `, and
every block reference is replayed through ` + "`redo.ApplyBlock`" + ` and compared, masked, with PostgreSQL's
own page image.

| rmgr | record type | status | ingest / notes | covered by |
|---|---|---|---|---|
`)
	rmids := map[string]uint8{}
	for id := uint8(0); id <= wal.RmMaxBuiltin; id++ {
		rmids[wal.RmgrName(id)] = id
	}
	for _, r := range coverageRows() {
		note := ""
		if r.status == StatusNoPageEffect {
			note = ingestNotes[rmids[r.rmgr]]
		}
		cov := coveredBy[r.rmgr+"/"+r.op]
		switch {
		case cov != "":
		case r.status == StatusRedo && (r.rmgr == "Btree" || r.rmgr == "Hash"):
			cov = oracle + ", " + map[string]string{"Btree": "nbtree", "Hash": "hashindex"}[r.rmgr] + " package tests"
		case r.status == StatusRedo && r.rmgr == "BRIN":
			cov = oracle + " (brin step)"
		case r.status == StatusRedo && r.rmgr == "Gin":
			cov = ginOracle + ", gin package tests"
		case r.status == StatusRedo && r.rmgr == "SPGist":
			cov = "oracle `spgist.TestRedoMatchesPostgres` (libs/postgres/spgist), spgist package tests"
		case r.status == StatusRedo && r.rmgr == "Gist":
			cov = oracle + " (gist step)"
		case r.status == StatusUnsupported:
			cov = "`TestUnsupportedRecordsFailClearly` (same path)"
		default:
			cov = "`TestCoverageDoc` (status)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.rmgr, r.op, r.status, note, cov)
	}
	return b.String()
}

func TestCoverageDocMatchesStatus(t *testing.T) {
	want := renderCoverage()
	if *updateCoverage {
		if err := os.WriteFile(coverageDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(coverageDoc)
	if err != nil {
		t.Fatalf("read %s: %v (regenerate with -update-coverage)", coverageDoc, err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date with redo.StatusOf; regenerate with go test ./redo -run TestCoverageDoc -update-coverage", coverageDoc)
	}
	n := len(coverageRows())
	if n < 100 {
		t.Fatalf("only %d record types listed", n)
	}
}
