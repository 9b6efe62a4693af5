package layer

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// benchRel is the relation benchmarks write.
var benchRel = key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}

// BenchmarkDeltaWrite writes 16 MiB delta layers with values of a fixed
// size: bytes/op are value bytes. fs=os is the OS filesystem, fsync and
// rename included; fs=null discards the bytes, which shows the writer's CPU
// cost alone.
func BenchmarkDeltaWrite(b *testing.B) {
	const layerBytes = 16 << 20
	for _, c := range []struct {
		fs   string
		size int
	}{{"os", 8192}, {"os", 100}, {"null", 8192}, {"null", 100}} {
		b.Run(fmt.Sprintf("fs=%s/value=%dB", c.fs, c.size), func(b *testing.B) {
			size := c.size
			dir := b.TempDir()
			fs := vfs.Default()
			if c.fs == "null" {
				fs = nullFS{vfs.NewCrashFS()}
				dir = "/"
			}
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i)
			}
			n := layerBytes / size
			b.SetBytes(int64(n * size))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				lsns := LSNRange{lsn.LSN(i) << 32, lsn.LSN(i+1) << 32}
				w, err := NewDeltaWriter(fs, dir, lsns)
				if err != nil {
					b.Fatal(err)
				}
				at := lsns.Start
				for j := 0; j < n; j++ {
					// Four versions per key, as a busy table would have.
					k := key.RelBlock(benchRel, uint32(j/4))
					at += 8
					if err := w.Put(k, at, value.Record(data, j%4 == 0)); err != nil {
						b.Fatal(err)
					}
				}
				d, err := w.Finish(key.All)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := fs.Remove(filepath.Join(dir, d.Name.String())); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// nullFS is a CrashFS whose created files discard what is written to them.
type nullFS struct{ vfs.FS }

func (fs nullFS) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	return nullFile{f}, err
}

type nullFile struct{ vfs.File }

func (nullFile) Write(p []byte) (int, error) { return len(p), nil }

// benchImageLayer writes an image layer of n 8 KiB pages on the OS
// filesystem and opens it.
func benchImageLayer(b *testing.B, n int) (*Reader, []key.Key) {
	b.Helper()
	dir := b.TempDir()
	fs := vfs.Default()
	w, err := NewImageWriter(fs, dir, key.All, 0x1000)
	if err != nil {
		b.Fatal(err)
	}
	page := make([]byte, 8192)
	keys := make([]key.Key, n)
	for i := range keys {
		keys[i] = key.RelBlock(benchRel, uint32(i))
		page[0], page[1] = byte(i), byte(i>>8)
		if err := w.Put(keys[i], page); err != nil {
			b.Fatal(err)
		}
	}
	d, err := w.Finish()
	if err != nil {
		b.Fatal(err)
	}
	r, err := Open(fs, dir, d.Name)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	// Warm the OS page cache.
	if err := r.Verify(); err != nil {
		b.Fatal(err)
	}
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return r, keys
}

// BenchmarkImageRead reads one 8 KiB page image from a 64 MiB image layer
// (warm OS cache, no redo), at random keys. It reports p50 and p99 of the
// individual reads besides the mean.
func BenchmarkImageRead(b *testing.B) {
	r, keys := benchImageLayer(b, 8192)
	all := LSNRange{0, lsn.Max}
	var got int
	fn := func(at lsn.LSN, v value.Value) bool { got += len(v.Data); return false }
	lat := make([]time.Duration, 0, 1<<21)
	b.ReportAllocs()
	b.SetBytes(8192)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := r.Versions(keys[i%len(keys)], all, fn); err != nil {
			b.Fatal(err)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(start))
		}
	}
	if got == 0 {
		b.Fatal("no data read")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkDeltaVersions reads the versions of one key (a will_init record
// and three records on top) from a 16 MiB L0 delta of 8 KiB values.
func BenchmarkDeltaVersions(b *testing.B) {
	dir := b.TempDir()
	fs := vfs.Default()
	lsns := LSNRange{0x1000, 0x100000}
	w, err := NewDeltaWriter(fs, dir, lsns)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 8192)
	const n = 2048
	at := lsns.Start
	for j := 0; j < n; j++ {
		at += 8
		if err := w.Put(key.RelBlock(benchRel, uint32(j/4)), at, value.Record(data, j%4 == 0)); err != nil {
			b.Fatal(err)
		}
	}
	d, err := w.Finish(key.All)
	if err != nil {
		b.Fatal(err)
	}
	r, err := Open(fs, dir, d.Name)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if err := r.Verify(); err != nil {
		b.Fatal(err)
	}
	versions := 0
	fn := func(at lsn.LSN, v value.Value) bool { versions++; return v.NeedsBase() }
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := r.Versions(key.RelBlock(benchRel, uint32(i%(n/4))), lsns, fn); err != nil {
			b.Fatal(err)
		}
	}
	if versions == 0 {
		b.Fatal("no versions read")
	}
}
