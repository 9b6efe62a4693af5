package workqueue_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/lease"
	"github.com/stratadb/strata/libs/platform/redistest"
	"github.com/stratadb/strata/libs/platform/workqueue"
)

// TestFailoverKeepsOrder is the documented pattern: one consumer per key
// under a lease; when it dies mid-batch, the next holder reclaims its
// entries and processes everything exactly in push order (the unacked
// entry again: at least once).
func TestFailoverKeepsOrder(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	q := workqueue.New(rdb, workqueue.Config{Prefix: "strata:test", Group: "upload-worker"})
	for _, p := range []string{"layer-1", "layer-2", "index-1", "layer-3", "index-2"} {
		if _, err := q.Push(ctx, "tl", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}

	// Worker A: holds the lease, does layer-1, reads layer-2 and dies before acking it.
	la, err := lease.Acquire(ctx, rdb, "strata:test:lease:tl", "worker-a", lease.Options{TTL: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a := q.Consumer("worker-a")
	es, err := a.Next(ctx, "tl", 2, 0)
	if err != nil || len(es) != 2 {
		t.Fatalf("a.Next = %v %v", es, err)
	}
	done := []string{string(es[0].Payload)}
	if err := a.Ack(ctx, "tl", es[0].ID); err != nil {
		t.Fatal(err)
	}

	// Worker B: waits for the lease to expire, reclaims, and drains in order.
	lb, err := lease.AcquireWait(ctx, rdb, "strata:test:lease:tl", "worker-b", lease.Options{TTL: 10 * time.Second}, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if lb.Token() <= la.Token() {
		t.Fatalf("fencing token did not grow: %d <= %d", lb.Token(), la.Token())
	}
	b := q.Consumer("worker-b")
	if _, err := b.Reclaim(ctx, "tl", 0, 100); err != nil {
		t.Fatal(err)
	}
	for {
		es, err := b.Next(ctx, "tl", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			done = append(done, string(e.Payload))
			if err := b.Ack(ctx, "tl", e.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{"layer-1", "layer-2", "index-1", "layer-3", "index-2"}
	if !slices.Equal(done, want) {
		t.Fatalf("processed %v, want %v", done, want)
	}
	if err := la.Renew(ctx); err == nil {
		t.Fatal("the dead worker's lease renewed after takeover")
	}
}
