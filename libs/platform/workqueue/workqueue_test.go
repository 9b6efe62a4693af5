package workqueue

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/redistest"
)

func payloads(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Payload))
	}
	return out
}

func push(t testing.TB, q *Queue, key string, ps ...string) {
	t.Helper()
	for _, p := range ps {
		if _, err := q.Push(context.Background(), key, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueue(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	q := New(rdb, Config{Prefix: "test", Group: "workers"})

	t.Run("entries of a key come back in push order and acked ones are gone", func(t *testing.T) {
		push(t, q, "k1", "a", "b", "c")
		push(t, q, "k2", "x")
		c := q.Consumer("c1")
		es, err := c.Next(ctx, "k1", 2, 0)
		if err != nil || !slices.Equal(payloads(es), []string{"a", "b"}) {
			t.Fatalf("Next = %v %v", payloads(es), err)
		}
		if err := c.Ack(ctx, "k1", es[0].ID); err != nil {
			t.Fatal(err)
		}
		// b is still pending for c1: it comes again, before c.
		es, err = c.Next(ctx, "k1", 10, 0)
		if err != nil || !slices.Equal(payloads(es), []string{"b"}) {
			t.Fatalf("pending first: %v %v", payloads(es), err)
		}
		if err := c.Ack(ctx, "k1", es[0].ID); err != nil {
			t.Fatal(err)
		}
		es, err = c.Next(ctx, "k1", 10, 0)
		if err != nil || !slices.Equal(payloads(es), []string{"c"}) {
			t.Fatalf("then new: %v %v", payloads(es), err)
		}
		_ = c.Ack(ctx, "k1", es[0].ID)
		if n, _ := q.Len(ctx, "k1"); n != 0 {
			t.Fatalf("len after acks = %d", n)
		}
		keys, _ := q.Keys(ctx)
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"k1", "k2"}) {
			t.Fatalf("keys = %v", keys)
		}
	})

	t.Run("an empty queue returns nothing without waiting", func(t *testing.T) {
		es, err := q.Consumer("c1").Next(ctx, "empty", 1, 0)
		if err != nil || len(es) != 0 {
			t.Fatalf("Next = %v %v", es, err)
		}
	})

	t.Run("a blocking read wakes up for a push", func(t *testing.T) {
		done := make(chan []Entry, 1)
		go func() {
			es, _ := q.Consumer("c1").Next(ctx, "k3", 1, 30*time.Second)
			done <- es
		}()
		for {
			// Push until the reader has it; a push before the read started is fine too.
			push(t, q, "k3", "late")
			select {
			case es := <-done:
				if len(es) != 1 || string(es[0].Payload) != "late" {
					t.Fatalf("got %v", payloads(es))
				}
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})

	t.Run("entries of a dead consumer are reclaimed in order by another", func(t *testing.T) {
		push(t, q, "k4", "1", "2", "3")
		dead := q.Consumer("dead")
		if es, err := dead.Next(ctx, "k4", 2, 0); err != nil || len(es) != 2 {
			t.Fatalf("dead read: %v %v", es, err)
		}
		live := q.Consumer("live")
		got, err := live.Reclaim(ctx, "k4", 0, 10)
		if err != nil || !slices.Equal(payloads(got), []string{"1", "2"}) {
			t.Fatalf("Reclaim = %v %v", payloads(got), err)
		}
		// Reclaimed entries are now live's pending entries: Next returns them first.
		var seen []string
		for len(seen) < 3 {
			es, err := live.Next(ctx, "k4", 10, 0)
			if err != nil || len(es) == 0 {
				t.Fatalf("Next = %v %v", es, err)
			}
			for _, e := range es {
				seen = append(seen, string(e.Payload))
				if err := live.Ack(ctx, "k4", e.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !slices.Equal(seen, []string{"1", "2", "3"}) {
			t.Fatalf("order = %v", seen)
		}
		if es, _ := dead.Next(ctx, "k4", 10, 0); len(es) != 0 {
			t.Fatalf("dead consumer still has %v", payloads(es))
		}
	})

	t.Run("entries idle for less than min-idle are not reclaimed", func(t *testing.T) {
		push(t, q, "k5", "busy")
		if es, _ := q.Consumer("a").Next(ctx, "k5", 1, 0); len(es) != 1 {
			t.Fatal("no entry")
		}
		if got, err := q.Consumer("b").Reclaim(ctx, "k5", time.Hour, 10); err != nil || len(got) != 0 {
			t.Fatalf("Reclaim = %v %v", payloads(got), err)
		}
	})

	t.Run("the queue recovers when Redis lost its group", func(t *testing.T) {
		push(t, q, "k6", "before")
		if err := rdb.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		push(t, q, "k6", "after")
		es, err := q.Consumer("c1").Next(ctx, "k6", 10, 0)
		if err != nil || !slices.Equal(payloads(es), []string{"after"}) {
			t.Fatalf("Next = %v %v", payloads(es), err)
		}
	})

	t.Run("many entries keep their order", func(t *testing.T) {
		var want []string
		for i := 0; i < 200; i++ {
			want = append(want, fmt.Sprint(i))
		}
		push(t, q, "k7", want...)
		c := q.Consumer("c7")
		var got []string
		for len(got) < len(want) {
			es, err := c.Next(ctx, "k7", 32, 0)
			if err != nil || len(es) == 0 {
				t.Fatalf("Next: %v", err)
			}
			for _, e := range es {
				got = append(got, string(e.Payload))
			}
			if err := c.Ack(ctx, "k7", es[0].ID); err != nil { // ack one, retry the rest
				t.Fatal(err)
			}
			got = got[:len(got)-len(es)+1]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("order broken")
		}
	})
}
