package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/redistest"
)

func TestLease(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	opts := Options{TTL: 10 * time.Second}

	t.Run("only one holder at a time and the second gets ErrHeld", func(t *testing.T) {
		a, err := Acquire(ctx, rdb, "l1", "a", opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Acquire(ctx, rdb, "l1", "b", opts); !errors.Is(err, ErrHeld) {
			t.Fatalf("second acquire: %v", err)
		}
		if h, tok, err := Current(ctx, rdb, "l1", time.Second); err != nil || h != "a" || tok != a.Token() {
			t.Fatalf("Current = %q %d %v", h, tok, err)
		}
		if err := a.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if h, _, _ := Current(ctx, rdb, "l1", time.Second); h != "" {
			t.Fatalf("held by %q after release", h)
		}
	})

	t.Run("fencing tokens grow with every acquisition", func(t *testing.T) {
		var last int64
		for i := 0; i < 5; i++ {
			l, err := Acquire(ctx, rdb, "l2", "h", opts)
			if err != nil {
				t.Fatal(err)
			}
			if l.Token() <= last {
				t.Fatalf("token %d after %d", l.Token(), last)
			}
			last = l.Token()
			if err := l.Release(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("after expiry another holder takes over and the old one can neither renew nor release", func(t *testing.T) {
		a, err := Acquire(ctx, rdb, "l3", "a", Options{TTL: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		b, err := AcquireWait(ctx, rdb, "l3", "b", opts, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if b.Token() <= a.Token() {
			t.Fatalf("takeover token %d <= %d", b.Token(), a.Token())
		}
		if err := a.Renew(ctx); !errors.Is(err, ErrLost) {
			t.Fatalf("renew after loss: %v", err)
		}
		if err := a.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if h, _, _ := Current(ctx, rdb, "l3", time.Second); h != "b" {
			t.Fatalf("old holder's release removed the new lease: holder %q", h)
		}
		if err := b.Renew(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("keep-alive holds the lease past its TTL and stop releases it", func(t *testing.T) {
		l, err := Acquire(ctx, rdb, "l4", "a", Options{TTL: time.Second, RenewEvery: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		lost, stop := l.KeepAlive(ctx)
		for start := time.Now(); time.Since(start) < 2500*time.Millisecond; {
			if lost.Err() != nil {
				t.Fatalf("lost: %v", context.Cause(lost))
			}
			time.Sleep(20 * time.Millisecond) // polling
		}
		if h, _, _ := Current(ctx, rdb, "l4", time.Second); h != "a" {
			t.Fatalf("holder %q after 2.5 TTLs", h)
		}
		stop()
		if h, _, _ := Current(ctx, rdb, "l4", time.Second); h != "" {
			t.Fatalf("holder %q after stop", h)
		}
	})

	t.Run("keep-alive cancels its context when the lease is taken over", func(t *testing.T) {
		l, err := Acquire(ctx, rdb, "l5", "a", Options{TTL: 5 * time.Second, RenewEvery: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		lost, stop := l.KeepAlive(ctx)
		defer stop()
		if err := rdb.Del(ctx, "l5").Err(); err != nil { // as if it expired
			t.Fatal(err)
		}
		if _, err := Acquire(ctx, rdb, "l5", "b", opts); err != nil {
			t.Fatal(err)
		}
		select {
		case <-lost.Done():
			if !errors.Is(context.Cause(lost), ErrLost) {
				t.Fatalf("cause = %v", context.Cause(lost))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("loss not noticed")
		}
	})

	t.Run("keep-alive reports loss when Redis is gone for longer than the TTL", func(t *testing.T) {
		srv2 := redistest.Start(t)
		rdb2 := srv2.Client(t)
		l, err := Acquire(ctx, rdb2, "l6", "a", Options{TTL: 300 * time.Millisecond, RenewEvery: 50 * time.Millisecond, OpTimeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		lost, stop := l.KeepAlive(ctx)
		defer stop()
		srv2.Kill()
		select {
		case <-lost.Done():
			if !errors.Is(context.Cause(lost), ErrLost) {
				t.Fatalf("cause = %v", context.Cause(lost))
			}
		case <-time.After(10 * time.Second):
			t.Fatal("loss not noticed")
		}
	})
}
