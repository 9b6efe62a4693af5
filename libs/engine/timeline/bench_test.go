package timeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/inmem"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/metadata"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// BenchmarkPutPath measures ingest into the in-memory layer and its flush to
// L0 delta files on the OS filesystem, fsync included: one WAL record (one
// put and FinishWrite) per value. Run with -cpu 1 for the one-core number
// (the flush loop then shares the core with ingest).
func BenchmarkPutPath(b *testing.B) {
	for _, size := range []int{8192, 100} {
		b.Run(fmt.Sprintf("value=%dB", size), func(b *testing.B) {
			dir := b.TempDir()
			fsys := vfs.Default()
			opts := Options{CheckpointDistance: 64 << 20}
			tl, err := Create(fsys, dir, nameID("bench"), metadata.Metadata{PGVersion: 15}, nil, opts, Deps{})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer func() { cancel(); <-tl.FlushLoopDone(); _ = tl.Close() }()
			_ = tl.SetState(Active)
			if err := tl.StartFlushLoop(ctx); err != nil {
				b.Fatal(err)
			}
			val := make([]byte, size)
			for i := range val {
				val[i] = byte(i)
			}
			rel := key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}
			b.SetBytes(int64(size))
			b.ResetTimer()
			cpu0 := cpuTime()
			w := tl.Writer()
			at := lsn.LSN(0x1000000)
			for i := 0; i < b.N; i++ {
				at += 8
				if err := w.Put(key.RelBlock(rel, uint32(i%200000)), at, value.Record(val, false)); err != nil {
					b.Fatal(err)
				}
				if err := w.FinishWrite(at); err != nil {
					b.Fatal(err)
				}
			}
			w.Close()
			if err := tl.FreezeAndFlush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(len(tl.Layers().Layers())), "layers")
			b.ReportMetric(float64(b.N*size)/(1<<20)/cpu.Seconds(), "MiB/cpu-s")
		})
	}
}

// BenchmarkInMemoryLayerMemory fills an in-memory layer until the timeline
// would freeze it (Footprint ≥ checkpoint_distance) and reports its measured
// heap use and its own estimate relative to checkpoint_distance.
func BenchmarkInMemoryLayerMemory(b *testing.B) {
	const distance = 64 << 20
	for _, size := range []int{8192, 100} {
		b.Run(fmt.Sprintf("value=%dB", size), func(b *testing.B) {
			val := make([]byte, size)
			var ratio, est float64
			for i := 0; i < b.N; i++ {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				l := inmem.New(8)
				at := lsn.LSN(8)
				for n := 0; l.Footprint() < distance; n++ {
					at += 8
					_ = l.Put(key.Key{Field4: 16384, Field6: uint32(n % 200000)}, at, value.Record(val, false))
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				ratio = float64(after.HeapAlloc-before.HeapAlloc) / distance
				est = float64(l.MemoryUsage()) / distance
				runtime.KeepAlive(l)
			}
			b.ReportMetric(ratio, "heap/checkpoint_distance")
			b.ReportMetric(est, "estimate/checkpoint_distance")
		})
	}
}

// BenchmarkGetImageFromLayer reads 8 KiB page images from an image layer on
// the OS filesystem (the file stays in the OS page cache; no redo) and
// reports the p50 and p99 latency of Get.
func BenchmarkGetImageFromLayer(b *testing.B) {
	dir := b.TempDir()
	initdb := lsn.LSN(0x1000000)
	tl, err := Create(vfs.Default(), dir, nameID("bench"), metadata.Metadata{InitDBLSN: initdb, LatestGCCutoffLSN: initdb, PGVersion: 15}, nil, Options{}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-tl.FlushLoopDone(); _ = tl.Close() }()
	_ = tl.StartFlushLoop(ctx)
	const pages = 20000
	page := make([]byte, 8192)
	rel := key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}
	w := tl.Writer()
	for i := 0; i < pages; i++ {
		page[0], page[1] = byte(i), byte(i>>8)
		if err := w.Put(key.RelBlock(rel, uint32(i)), initdb, value.Image(page)); err != nil {
			b.Fatal(err)
		}
	}
	_ = w.FinishWrite(initdb)
	w.Close()
	if err := tl.FreezeAndFlush(ctx); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	b.SetBytes(8192)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := key.RelBlock(rel, uint32(rng.IntN(pages)))
		start := time.Now()
		if _, err := tl.Get(ctx, k, initdb); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// cpuTime is the process's user+system CPU time: on a shared machine,
// throughput per CPU-second is steadier than per wall-second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
