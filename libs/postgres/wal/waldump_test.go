package wal_test

import (
	"bufio"
	"errors"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// parseWaldumpStats reads the per-type counts of pg_waldump --stats=record.
// Rows with the same name (Transaction/COMMIT with and without
// XLOG_XACT_HAS_INFO) are summed.
func parseWaldumpStats(t testing.TB, out string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.Contains(f[0], "/") {
			continue
		}
		name, rest := f[0], f[1:]
		if rest[0] == "(" || strings.HasPrefix(rest[0], "(") && !strings.HasPrefix(rest[0], "(  ") && strings.HasSuffix(rest[0], ")") {
			// "UNKNOWN (X)" names: join the parenthesised part.
			name += " " + rest[0]
			rest = rest[1:]
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil {
			t.Fatalf("unparsable pg_waldump stats line %q", sc.Text())
		}
		counts[name] += n
	}
	return counts
}

// readTypes reads records from start while their EndLSN <= end and counts
// them per type; it also checks that every image restores.
func readTypes(t testing.TB, dir string, start, end lsn.LSN) (map[string]int, map[uint8]int) {
	t.Helper()
	r, err := wal.NewReader(dir, start, wal.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	counts := map[string]int{}
	images := map[uint8]int{} // by compression bits
	page := make([]byte, wal.BlockSize)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("WAL ended at %s before %s", r.Position(), end)
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.EndLSN > end {
			break
		}
		counts[rec.TypeName()]++
		for i := range rec.Blocks {
			if b := &rec.Blocks[i]; b.HasImage {
				if err := b.RestoreImage(page); err != nil {
					t.Fatalf("record %s at %s: %v", rec.TypeName(), rec.LSN, err)
				}
				images[b.ImageInfo&(wal.ImageCompressPGLZ|wal.ImageCompressLZ4|wal.ImageCompressZstd)]++
			}
		}
		if rec.EndLSN == end {
			break
		}
	}
	return counts, images
}

func TestReaderMatchesPgWaldump(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real PostgreSQL workload")
	}
	c := pgtest.Start(t, pgtest.Options{})
	steps := append(pgtest.CoverageWorkload(1), pgtest.CompressionSteps()...)
	pgtest.RunSteps(t, c, steps)
	c.SQL(t, "checkpoint")
	end := c.FlushLSN(t)
	start := c.StartLSN

	out, err := c.Waldump("-s", start.String(), "-e", end.String(), "--stats=record")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := parseWaldumpStats(t, out)
	got, images := readTypes(t, c.WALDir(), start, end)
	total := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	t.Logf("%d records of %d types from %s to %s, page images restored by compression: %v", total(got), len(got), start, end, images)
	for _, m := range []uint8{0, wal.ImageCompressPGLZ, wal.ImageCompressLZ4, wal.ImageCompressZstd} {
		if images[m] == 0 {
			t.Errorf("no page image with compression bits %#x was restored", m)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			t.Errorf("%s: reader counted %d, pg_waldump %d", k, got[k], want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: reader counted %d, pg_waldump none", k, got[k])
		}
	}
	for _, must := range []string{"XLOG/SWITCH", "Heap/HOT_UPDATE", "Btree/SPLIT_L", "Btree/SPLIT_R", "Hash/SPLIT_PAGE",
		"Transaction/PREPARE", "Database/CREATE_FILE_COPY", "XLOG/FPI", "MultiXact/CREATE_ID"} {
		if got[must] == 0 {
			t.Errorf("workload wrote no %s record", must)
		}
	}
}
