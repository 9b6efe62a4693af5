package verify_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/verify"
	"github.com/stratadb/strata/libs/postgres/wal"
)

func isUnsupported(err error) bool { return errors.Is(err, redo.ErrUnsupported) }

// TestOracleGoRedoMatchesPostgres is oracle 1 in CI: a real PostgreSQL 15
// with wal_consistency_checking=all runs the coverage workload, then every
// verify-only image is compared with the Go redo's result. It requires zero
// mismatches overall, and zero unsupported records among the record types
// the redo package reports as supported; unsupported types are logged.
func TestOracleGoRedoMatchesPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real PostgreSQL workload")
	}
	c := pgtest.Start(t, pgtest.Options{Settings: map[string]string{
		"wal_consistency_checking": "all",
		"full_page_writes":         "on",
		"checkpoint_timeout":       "30min",
	}})
	pgtest.RunSteps(t, c, pgtest.CoverageWorkload(1))
	c.SQL(t, "checkpoint")
	start, end := c.StartLSN, c.FlushLSN(t)
	c.Stop(t, "fast")
	t.Logf("wal_consistency_checking WAL %s..%s: %.1f MB", start, end, float64(end-start)/1e6)

	dumped := 0
	res, err := verify.Run(context.Background(), c.WALDir(), verify.Options{
		From: start, To: end, Redo: verify.RedoFunc(redo.ApplyBlock), IsUnsupported: isUnsupported, MaxReports: 20,
		OnMismatch: func(m verify.Mismatch, got, want []byte) {
			if dumped++; dumped <= 3 {
				t.Logf("%s\n%s", m, verify.DiffWindow(got, want, m.Offset))
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.Summary())
	t.Logf("restored=%d skipped=%d no_image=%d", res.BlocksRestored, res.BlocksSkipped, res.BlocksNoImage)
	for _, typ := range slices.Sorted(maps.Keys(res.VerifiedByType)) {
		t.Logf("verified %-28s %d", typ, res.VerifiedByType[typ])
	}
	for _, m := range res.FirstMismatches {
		t.Errorf("%s", m)
	}
	if res.Mismatches > len(res.FirstMismatches) {
		t.Errorf("... %d mismatches in all", res.Mismatches)
	}
	for _, typ := range res.UnsupportedTypes() {
		ex := res.UnsupportedExamples[typ]
		if redo.Supported(ex.RmID, ex.Info) {
			t.Errorf("%s is reported supported, but %d records were unsupported, first at %s: %s",
				typ, res.UnsupportedByType[typ], ex.LSN, ex.Reason)
		} else {
			t.Logf("unsupported (expected for now) %-28s %d", typ, res.UnsupportedByType[typ])
		}
	}
	for _, must := range []string{"Heap/INSERT", "Heap/HOT_UPDATE", "Heap/UPDATE", "Heap/DELETE", "Heap2/PRUNE",
		"Heap2/VACUUM", "Heap2/VISIBLE", "Heap2/FREEZE_PAGE", "Heap2/MULTI_INSERT+INIT", "Heap/LOCK", "Btree/INSERT_LEAF",
		"Btree/SPLIT_L", "Btree/SPLIT_R", "Btree/DEDUP", "Btree/UNLINK_PAGE", "Btree/MARK_PAGE_HALFDEAD", "Btree/VACUUM",
		"Hash/INSERT", "Hash/SPLIT_ALLOCATE_PAGE", "Hash/SPLIT_COMPLETE", "Hash/ADD_OVFL_PAGE", "Hash/SQUEEZE_PAGE", "Sequence/LOG"} {
		if res.VerifiedByType[must] == 0 && res.UnsupportedByType[must] == 0 {
			t.Errorf("the workload produced no verifiable %s block", must)
		}
	}
	if res.BlocksVerified == 0 {
		t.Fatal("nothing was verified")
	}

	// The oracle must catch a wrong redo: flip one byte of every heap
	// tuple area the real redo writes.
	broken := func(pg []byte, rec *wal.Record, id uint8) error {
		if err := redo.ApplyBlock(pg, rec, id); err != nil {
			return err
		}
		if rec.RmID == wal.RmHeap && rec.Info&0x70 == 0x00 { // Heap/INSERT
			pg[8191] ^= 0x01
		}
		return nil
	}
	bad, err := verify.Run(context.Background(), c.WALDir(), verify.Options{
		From: start, To: end, Redo: verify.RedoFunc(broken), IsUnsupported: isUnsupported,
	})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Mismatches == 0 || bad.FirstMismatches[0].Offset != 8191 || bad.FirstMismatches[0].Type[:11] != "Heap/INSERT" {
		t.Errorf("a redo corrupting Heap/INSERT pages was not caught: %s %v", bad.Summary(), bad.FirstMismatches)
	}

	// A fake "perfect" redo that copies PostgreSQL's own images verifies
	// every image-carrying block without a mismatch; one that rejects all
	// Btree records leaves every other type verified.
	errFake := errors.New("fake: unsupported")
	perfect := func(pg []byte, rec *wal.Record, id uint8) error {
		b := rec.Block(id)
		if !b.HasImage {
			return nil
		}
		if err := b.RestoreImage(pg); err != nil {
			return err
		}
		return nil
	}
	noBtree := func(pg []byte, rec *wal.Record, id uint8) error {
		if rec.RmID == wal.RmBtree && !rec.Block(id).ApplyImage {
			return errFake
		}
		return perfect(pg, rec, id)
	}
	fake := func(f verify.RedoFunc) *verify.Result {
		r, err := verify.Run(context.Background(), c.WALDir(), verify.Options{
			From: start, To: end, Redo: f, IsUnsupported: func(err error) bool { return errors.Is(err, errFake) },
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	p := fake(perfect)
	if !p.OK() || p.BlocksVerified == 0 || p.Records != res.Records {
		t.Errorf("perfect fake redo: %s (real run: %s)", p.Summary(), res.Summary())
	}
	nb := fake(noBtree)
	if nb.Mismatches != 0 || nb.Unsupported == 0 || nb.VerifiedByType["Heap/INSERT"] != p.VerifiedByType["Heap/INSERT"] {
		t.Errorf("fake redo without Btree: %s, %d Heap/INSERT verified (want %d)", nb.Summary(), nb.VerifiedByType["Heap/INSERT"], p.VerifiedByType["Heap/INSERT"])
	}
	for _, typ := range nb.UnsupportedTypes() {
		if typ[:6] != "Btree/" {
			t.Errorf("fake redo without Btree made %s unsupported", typ)
		}
	}
}
