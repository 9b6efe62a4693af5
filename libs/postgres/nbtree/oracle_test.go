package nbtree_test

import (
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/libs/postgres/verify"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// runWorkload runs stmts on a fresh PG15 with wal_consistency_checking for
// rmgrName, replays the WAL they wrote through redo.ApplyBlock with package
// verify, fails the test on any mismatch or unsupported record, and returns
// the verified blocks and the records of rmgr rmid, both per record type as
// named by name.
func runWorkload(t *testing.T, rmgrName string, rmid uint8, name func(*wal.Record) string, stmts []string) (verified, records map[string]int) {
	t.Helper()
	c := pgtest.Start(t, pgtest.Options{Settings: map[string]string{
		"wal_consistency_checking": rmgrName,
		"wal_compression":          "lz4",
		"autovacuum":               "off",
	}})
	start := c.CurrentLSN(t)
	c.SQL(t, stmts...)
	end := c.CurrentLSN(t)
	res, err := verify.Run(context.Background(), c.WALDir(), verify.Options{
		From:          start,
		To:            end,
		Redo:          verify.RedoFunc(redo.ApplyBlock),
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
	if !res.OK() {
		t.Fatalf("%d mismatches, %d unsupported records", res.Mismatches, res.Unsupported)
	}
	verified = map[string]int{}
	prefix := wal.RmgrName(rmid) + "/"
	for typ, n := range res.VerifiedByType {
		if strings.HasPrefix(typ, prefix) {
			verified[strings.TrimPrefix(typ, prefix)] = n
		}
	}
	records = countRecords(t, c.WALDir(), start, end, rmid, name)
	logCounts(t, "verified blocks", verified)
	logCounts(t, "records", records)
	return verified, records
}

// countRecords counts the records of rmgr rmid in [start, end) by name.
func countRecords(t *testing.T, dir string, start, end lsn.LSN, rmid uint8, name func(*wal.Record) string) map[string]int {
	t.Helper()
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

func logCounts(t *testing.T, what string, m map[string]int) {
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

// requireTypes fails the test if a record type the workload is meant to
// produce is missing from counts.
func requireTypes(t *testing.T, what string, counts map[string]int, types ...string) {
	t.Helper()
	for _, typ := range types {
		if counts[typ] == 0 {
			t.Errorf("workload produced no %s for %s", what, typ)
		}
	}
}
