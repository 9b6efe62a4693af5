package wal_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
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
// recInfo identifies a record read from real WAL.
type recInfo struct {
	lsn, end lsn.LSN
	crc      uint32
	blocks   int
}

func info(rec *wal.Record) recInfo {
	return recInfo{rec.LSN, rec.EndLSN, binary.LittleEndian.Uint32(rec.Raw[20:24]), len(rec.Blocks)}
}

func readTypes(t testing.TB, dir string, start, end lsn.LSN) (map[string]int, map[uint8]int, []recInfo) {
	t.Helper()
	r, err := wal.NewReader(dir, start, wal.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	counts := map[string]int{}
	images := map[uint8]int{} // by compression bits
	var infos []recInfo
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
		infos = append(infos, info(rec))
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
	return counts, images, infos
}

// walBytes returns the WAL from the segment holding start to the end of the
// segment holding end.
func walBytes(t testing.TB, dir string, start, end lsn.LSN) (lsn.LSN, []byte) {
	t.Helper()
	var buf []byte
	for seg := start.SegmentNumber(); seg <= end.SegmentNumber(); seg++ {
		b, err := os.ReadFile(filepath.Join(dir, wal.SegmentFileName(1, seg)))
		if err != nil {
			t.Fatal(err)
		}
		buf = append(buf, b...)
	}
	return lsn.LSN(start.SegmentNumber() * lsn.SegmentSize), buf
}

// streamRecords feeds buf (which starts at base) to a Decoder starting at
// start, in pieces of random sizes, and returns the records up to end.
func streamRecords(t testing.TB, base lsn.LSN, buf []byte, start, end lsn.LSN, seed uint64) ([]recInfo, error) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	d := wal.NewDecoder(start, wal.DecoderOptions{})
	var out []recInfo
	for at := 0; at < len(buf); {
		n := min(len(buf)-at, 1+rng.IntN(64<<10))
		if rng.IntN(3) == 0 {
			n = min(len(buf)-at, 1+rng.IntN(40))
		}
		if err := d.Feed(base+lsn.LSN(at), buf[at:at+n]); err != nil {
			return out, err
		}
		at += n
		for {
			rec, err := d.Next()
			if errors.Is(err, wal.ErrNeedData) {
				break
			}
			if err != nil {
				return out, err
			}
			if rec.EndLSN > end {
				return out, nil
			}
			out = append(out, info(rec))
			if rec.EndLSN == end {
				return out, nil
			}
		}
	}
	return out, io.ErrUnexpectedEOF
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
	got, images, infos := readTypes(t, c.WALDir(), start, end)
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

	// The stream decoder, fed the same bytes split at random points, gives
	// the same records.
	base, buf := walBytes(t, c.WALDir(), start, end)
	for seed := uint64(1); seed <= 2; seed++ {
		streamed, err := streamRecords(t, base, buf, start, end, seed)
		if err != nil {
			t.Fatalf("stream decoder (seed %d): %v after %d records", seed, err, len(streamed))
		}
		if !slices.Equal(streamed, infos) {
			t.Fatalf("stream decoder (seed %d) gave %d records, the segment reader %d (or they differ)", seed, len(streamed), len(infos))
		}
	}

	// A corrupted byte inside a record is a typed error naming that record.
	corrupted := 0
	for k := len(infos) / 3; k < len(infos) && corrupted < 3; k += 997 {
		target := infos[k]
		at := target.lsn + 30
		if at/lsn.XLogBlockSize != target.lsn/lsn.XLogBlockSize || at >= target.end {
			continue // stay clear of page headers and padding
		}
		corrupted++
		bad := append([]byte(nil), buf...)
		bad[at-base] ^= 0x20
		_, err := streamRecords(t, base, bad, start, end, 7)
		var we *wal.Error
		if !errors.As(err, &we) || we.LSN != target.lsn {
			t.Errorf("corrupting the record at %s: got %v, want a *wal.Error at that LSN", target.lsn, err)
		}
	}
	if corrupted == 0 {
		t.Error("found no record to corrupt")
	}

	for _, must := range []string{"XLOG/SWITCH", "Heap/HOT_UPDATE", "Btree/SPLIT_L", "Btree/SPLIT_R", "Hash/SPLIT_PAGE",
		"Transaction/PREPARE", "Database/CREATE_FILE_COPY", "XLOG/FPI", "MultiXact/CREATE_ID"} {
		if got[must] == 0 {
			t.Errorf("workload wrote no %s record", must)
		}
	}
}
