package wal_test

import (
	"errors"
	"io"
	"testing"

	"github.com/stratadb/strata/libs/postgres/pgtest"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// BenchmarkReaderPgbench reads real pgbench WAL (written by a PostgreSQL 15
// started with pgtest: pgbench -i -s 5, a checkpoint, then 4 clients × 5000
// transactions) from its pg_wal directory: only the WAL of the transactions,
// like the study's baseline (first touches after the checkpoint are FPIs).
// MB/s is WAL bytes per second.
//
//	go test -run XXX -bench ReaderPgbench -benchtime 5x ./wal
func BenchmarkReaderPgbench(b *testing.B) {
	c := pgtest.Start(b, pgtest.Options{Settings: map[string]string{"checkpoint_timeout": "30min"}})
	c.Pgbench(b, "-i", "-s", "5", "-q")
	c.SQL(b, "checkpoint")
	start := c.CurrentLSN(b)
	c.Pgbench(b, "-n", "-c", "4", "-j", "2", "-t", "5000")
	c.SQL(b, "checkpoint")
	end := c.FlushLSN(b)
	c.Stop(b, "fast")
	b.Logf("pgbench WAL %s..%s: %.1f MB", start, end, float64(end-start)/1e6)

	read := func(b *testing.B, restore bool) {
		page := make([]byte, wal.BlockSize)
		b.SetBytes(int64(end - start))
		b.ReportAllocs()
		for b.Loop() {
			r, err := wal.NewReader(c.WALDir(), start, wal.ReaderOptions{})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				rec, err := r.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
				if restore {
					for i := range rec.Blocks {
						if rec.Blocks[i].HasImage {
							if err := rec.Blocks[i].RestoreImage(page); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				if rec.EndLSN >= end {
					break
				}
			}
			r.Close()
			b.ReportMetric(float64(n), "records/op")
		}
	}
	b.Run("decode", func(b *testing.B) { read(b, false) })
	b.Run("decode+restore-images", func(b *testing.B) { read(b, true) })
}
