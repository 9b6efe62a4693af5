package pool

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/postgres/redo"
)

// Benchmarks of the pool against the in-process redo of the same input
// (the ratio is what to read; absolute numbers depend on the machine):
//
//	go test -run '^$' -bench . -benchtime 20000x ./internal/pool
//
// OneRecord is Neon's "short" walredo request: a base image and one heap
// INSERT. Chain200 rebuilds a page from nothing with 200 INSERTs.

// oneRecord is a request applying one INSERT to a page of 10 tuples.
func oneRecord(tb testing.TB) (*Request, []redo.Record) {
	tb.Helper()
	full, _ := chain(tb, 11, 0)
	_, basePage := chain(tb, 10, 0)
	req := &Request{Key: full.Key, LSN: full.LSN, Base: basePage, Records: full.Records[10:]}
	return req, strataRecords(req)
}

// strataRecords is what the worker applies for req: the stored form.
func strataRecords(req *Request) []redo.Record {
	out := make([]redo.Record, len(req.Records))
	for i, r := range req.Records {
		out[i] = redo.Record{LSN: r.LSN, Data: redo.EncodePostgres(nil, r.LSN, r.Data)}
	}
	return out
}

func benchPool(b *testing.B, req *Request, workers int) {
	benchPoolCtx(b, context.Background(), req, workers)
}

func benchPoolCtx(b *testing.B, ctx context.Context, req *Request, workers int) {
	p, _ := testPool(b, modeOK, Config{Workers: workers})
	dst := make([]byte, 8192)
	if _, err := p.Redo(ctx, dst, req); err != nil { // launch outside the timing
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		if _, err := p.Redo(ctx, dst, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportLatency(b, lat, elapsed)
}

func benchInProcess(b *testing.B, req *Request, recs []redo.Record) {
	var a redo.Applier
	dst := make([]byte, 8192)
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		if _, err := a.ApplyInto(dst, req.Key, req.Base, recs); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	reportLatency(b, lat, elapsed)
}

func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pages/s")
}

func BenchmarkPoolOneRecord(b *testing.B) {
	req, _ := oneRecord(b)
	benchPool(b, req, 1)
}

// BenchmarkPoolOneRecordCancelable runs with a cancelable context, as a
// gRPC handler's: the pool then watches it for the request's duration.
func BenchmarkPoolOneRecordCancelable(b *testing.B) {
	req, _ := oneRecord(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchPoolCtx(b, ctx, req, 1)
}

func BenchmarkInProcessOneRecord(b *testing.B) {
	req, recs := oneRecord(b)
	benchInProcess(b, req, recs)
}

func BenchmarkPoolChain200(b *testing.B) {
	req, _ := chain(b, 200, 0)
	benchPool(b, req, 1)
}

func BenchmarkInProcessChain200(b *testing.B) {
	req, _ := chain(b, 200, 0)
	benchInProcess(b, req, strataRecords(req))
}

// BenchmarkPoolChain200Parallel keeps two workers busy.
func BenchmarkPoolChain200Parallel(b *testing.B) {
	req, _ := chain(b, 200, 0)
	p, _ := testPool(b, modeOK, Config{Workers: 2})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, 8192)
		for pb.Next() {
			if _, err := p.Redo(ctx, dst, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pages/s")
}
