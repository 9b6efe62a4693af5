package redo

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/wal"
)

var (
	redoStartRe = regexp.MustCompile(`redo starts at ([0-9A-F]+/[0-9A-F]+)`)
	redoDoneRe  = regexp.MustCompile(`redo done at ([0-9A-F]+/[0-9A-F]+) .*elapsed: ([0-9.]+) s`)
)

// pgbenchWAL runs pgbench on a fresh cluster, crashes it and lets
// PostgreSQL replay the run (crash recovery from the checkpoint before it).
// It returns a copy of the WAL, the range PostgreSQL replayed, and its
// replay time in seconds.
func pgbenchWAL(b *testing.B) (dir string, start, end lsn.LSN, pgSeconds float64) {
	b.Helper()
	c := pgtest.Start(b, pgtest.Options{Settings: map[string]string{
		"shared_buffers":     "256MB",
		"max_wal_size":       "8GB",
		"checkpoint_timeout": "1h",
		"autovacuum":         "off",
	}})
	c.Pgbench(b, "-i", "-s", "10", "-q")
	c.SQL(b, "vacuum analyze", "checkpoint")
	c.Pgbench(b, "-n", "-c", "4", "-j", "2", "-T", "20")
	c.Stop(b, "immediate")
	dir = b.TempDir()
	if out, err := exec.Command("cp", "-r", c.WALDir(), dir).CombinedOutput(); err != nil {
		b.Fatalf("copy WAL: %v %s", err, out)
	}
	c.Start(b)
	log := c.ServerLog()
	ms, md := redoStartRe.FindStringSubmatch(log), redoDoneRe.FindStringSubmatch(log)
	if ms == nil || md == nil {
		b.Fatalf("no redo start/done lines in the server log:\n%s", log)
	}
	var err error
	if start, err = lsn.Parse(ms[1]); err != nil {
		b.Fatal(err)
	}
	if end, err = lsn.Parse(md[1]); err != nil {
		b.Fatal(err)
	}
	if pgSeconds, err = strconv.ParseFloat(md[2], 64); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(dir, "pg_wal"), start, end, pgSeconds
}

type benchStats struct{ blocks, skipped int }

// replay reads [start, end] from dir and applies every block reference to an
// in-memory page table, as PostgreSQL's recovery does with shared buffers.
// With viaApply, each block goes through the walredo worker's path instead:
// EncodePostgres + Applier.ApplyInto.
func replay(tb testing.TB, dir string, start, end lsn.LSN, viaApply bool, pages map[pageID][]byte) benchStats {
	r, err := wal.NewReader(dir, start, wal.ReaderOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var st benchStats
	var a Applier
	var enc []byte
	recs := make([]Record, 1)
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) || errors.Is(err, wal.ErrEndOfWAL) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if rec.LSN > end {
			break
		}
		last := rec.LSN == end
		for i := range rec.Blocks {
			b := &rec.Blocks[i]
			k := pageID{b.Rel, b.Blk}
			pg, ok := pages[k]
			if !ok {
				if !b.WillInit && !b.ApplyImage {
					st.skipped++
					continue
				}
				pg = make([]byte, page.Size)
				pages[k] = pg
			}
			st.blocks++
			if viaApply {
				enc = EncodePostgres(enc[:0], rec.EndLSN, rec.Raw)
				recs[0] = Record{LSN: rec.EndLSN, Data: enc}
				if _, err := a.ApplyInto(pg, key.RelBlock(b.Rel, b.Blk), pg, recs); err != nil {
					tb.Fatalf("%s: %v", rec.LSN, err)
				}
				continue
			}
			if err := ApplyBlock(pg, rec, b.ID); err != nil {
				tb.Fatalf("%s: %v", rec.LSN, err)
			}
		}
		if last {
			break // the next page may be unwritten: do not read past the record PostgreSQL replayed last
		}
	}
	return st
}

// BenchmarkRedoPgbenchWAL replays the WAL of a 20 s pgbench run (scale 10,
// 4 clients) in Go and reports MB/s of WAL next to PostgreSQL 15's own crash
// recovery of the same WAL range on the same machine (pg_MB/s).
//
//	go test ./redo -run XXX -bench RedoPgbench -benchtime 3x
func BenchmarkRedoPgbenchWAL(b *testing.B) {
	if os.Getenv("STRATA_SKIP_PG_BENCH") != "" {
		b.Skip("STRATA_SKIP_PG_BENCH set")
	}
	dir, start, end, pgSec := pgbenchWAL(b)
	mb := float64(end-start) / 1e6
	b.Logf("WAL %s..%s = %.1f MB; PostgreSQL replayed it in %.3f s = %.1f MB/s", start, end, mb, pgSec, mb/pgSec)
	for _, viaApply := range []bool{false, true} {
		name := "ApplyBlock"
		if viaApply {
			name = "Apply"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(end - start))
			b.ReportAllocs()
			var st benchStats
			for i := 0; i < b.N; i++ {
				st = replay(b, dir, start, end, viaApply, map[pageID][]byte{})
			}
			b.ReportMetric(mb/pgSec, "pg_MB/s")
			b.ReportMetric(float64(st.skipped), "skipped_blocks")
			b.ReportMetric(float64(st.blocks), "blocks")
		})
	}
}
