// Package verifytest runs the wal_consistency_checking oracle of package
// verify from a test: start a real PostgreSQL 15 with
// wal_consistency_checking for one or more rmgrs, run SQL steps, replay the
// WAL they wrote through a Redoer (redo.ApplyBlock by default) and report
// per-type counts, mismatches and unsupported records.
//
// It is the one shared copy of what every rmgr's oracle test needs; rmgr
// packages call Run from their oracle_test.go and assert on the Report.
package verifytest

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/verify"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Workload is one oracle run.
type Workload struct {
	// RmID is the rmgr whose counts the Report holds.
	RmID uint8
	// Checking is the wal_consistency_checking value ("spgist", "gin,heap",
	// "all"). Empty means "all".
	Checking string
	// Steps are SQL statements run in order, each in its own psql call.
	Steps []string
	// Redo is the redo under test; nil means redo.ApplyBlock.
	Redo verify.Redoer
	// Name names a record of rmgr RmID in Report.Records (e.g. to tell
	// variants of one operation apart); nil means wal.OpName.
	Name func(*wal.Record) string
}

// Report is what one run found.
type Report struct {
	// Result is package verify's result for the whole WAL range.
	Result *verify.Result
	// Verified counts verified blocks of rmgr RmID per operation name
	// ("ADD_LEAF"); Records counts that rmgr's records per operation name.
	Verified, Records map[string]int
}

// Run runs w on a fresh cluster and verifies the WAL it wrote. It fails the
// test on any mismatch or unsupported record (of any rmgr), and logs the
// per-type counts.
func Run(t testing.TB, w Workload) *Report {
	t.Helper()
	checking := w.Checking
	if checking == "" {
		checking = "all"
	}
	c := pgtest.Start(t, pgtest.Options{Settings: map[string]string{
		"wal_consistency_checking": checking,
		"wal_compression":          "lz4",
		"autovacuum":               "off",
	}})
	start := c.CurrentLSN(t)
	c.SQL(t, w.Steps...)
	end := c.CurrentLSN(t)
	rd := w.Redo
	if rd == nil {
		rd = verify.RedoFunc(redo.ApplyBlock)
	}
	res, err := verify.Run(context.Background(), c.WALDir(), verify.Options{
		From:          start,
		To:            end,
		Redo:          rd,
		IsUnsupported: func(err error) bool { return errors.Is(err, redo.ErrUnsupported) },
	})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	t.Log(res.Summary())
	for _, m := range res.FirstMismatches {
		t.Errorf("%s", m)
	}
	for _, u := range res.FirstUnsupported {
		t.Errorf("unsupported %s at %s: %s", u.Type, u.LSN, u.Reason)
	}
	rep := &Report{Result: res, Verified: map[string]int{}, Records: countRecords(t, c.WALDir(), start, end, w.RmID, w.Name)}
	prefix := wal.RmgrName(w.RmID) + "/"
	for typ, n := range res.VerifiedByType {
		if strings.HasPrefix(typ, prefix) {
			rep.Verified[strings.TrimPrefix(typ, prefix)] = n
		}
	}
	logCounts(t, "records", rep.Records)
	logCounts(t, "verified blocks", rep.Verified)
	if !res.OK() {
		t.Fatalf("%d mismatches, %d unsupported records", res.Mismatches, res.Unsupported)
	}
	return rep
}

// RequireRecords fails the test for each record name with no record in r.
func (r *Report) RequireRecords(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if r.Records[n] == 0 {
			t.Errorf("workload produced no %s record", n)
		}
	}
}

// RequireVerified fails the test for each operation name with no verified
// block in r.
func (r *Report) RequireVerified(t testing.TB, ops ...string) {
	t.Helper()
	for _, op := range ops {
		if r.Verified[op] == 0 {
			t.Errorf("workload produced no verified block for %s (records: %d)", op, r.Records[op])
		}
	}
}

func countRecords(t testing.TB, dir string, start, end lsn.LSN, rmid uint8, name func(*wal.Record) string) map[string]int {
	t.Helper()
	if name == nil {
		name = func(rec *wal.Record) string { return wal.OpName(rec.RmID, rec.Info) }
	}
	r, err := wal.NewReader(dir, start, wal.ReaderOptions{})
	if err != nil {
		t.Fatalf("open WAL: %v", err)
	}
	defer r.Close()
	counts := map[string]int{}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read WAL: %v", err)
		}
		if rec.LSN >= end {
			break
		}
		if rec.RmID == rmid {
			counts[name(rec)]++
		}
	}
	return counts
}

func logCounts(t testing.TB, what string, m map[string]int) {
	t.Helper()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-15s %-26s %6d", what, k, m[k])
	}
}

// BlockRedo is an rmgr package's redo of one block reference (the shape
// package redo's dispatch table takes). It sets the page LSN itself or not
// according to setsLSN in WithRmgr.
type BlockRedo func(pg []byte, rec *wal.Record, blk *wal.BlockRef) error

// WithRmgr returns a Redoer that replays records of rmgr rmid with fn, and
// everything else with redo.ApplyBlock. It follows redo.ApplyBlock's rules
// for rmid (APPLY image restored, WILL_INIT zeroes, BLK_DONE skips, page LSN
// stamped with EndLSN unless setsLSN): use it for an rmgr not yet wired into
// redo's dispatch table.
func WithRmgr(rmid uint8, fn BlockRedo, setsLSN bool) verify.Redoer {
	return verify.RedoFunc(func(pg []byte, rec *wal.Record, id uint8) error {
		if rec.RmID != rmid {
			return redo.ApplyBlock(pg, rec, id)
		}
		blk := rec.Block(id)
		if blk == nil {
			return redo.ApplyBlock(pg, rec, id)
		}
		p := page.Page(pg)
		if blk.HasImage && blk.ApplyImage {
			if err := blk.RestoreImage(pg); err != nil {
				return err
			}
			if !p.IsNew() {
				p.SetLSN(rec.EndLSN)
			}
			return nil
		}
		if blk.WillInit {
			clear(pg)
		} else if p.LSN() >= rec.EndLSN {
			return nil
		}
		if err := fn(pg, rec, blk); err != nil {
			return err
		}
		if !setsLSN {
			p.SetLSN(rec.EndLSN)
		}
		return nil
	})
}
