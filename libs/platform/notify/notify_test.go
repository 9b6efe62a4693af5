package notify

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/redistest"
)

func TestNotify(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("a subscriber receives what is published after Subscribe returns", func(t *testing.T) {
		sub, err := Subscribe(ctx, rdb, "c1")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if n, err := Publish(ctx, rdb, "c1", []byte("done")); err != nil || n != 1 {
			t.Fatalf("Publish = %d %v", n, err)
		}
		ch, p, err := sub.Receive(ctx)
		if err != nil || ch != "c1" || string(p) != "done" {
			t.Fatalf("Receive = %q %q %v", ch, p, err)
		}
	})

	t.Run("WaitFor returns at once when the condition already holds", func(t *testing.T) {
		err := WaitFor(ctx, rdb, "c2", WaitOptions{}, func(context.Context, []byte) (bool, error) { return true, nil })
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("WaitFor wakes up on the event that makes the condition true", func(t *testing.T) {
		var state atomic.Int64
		checks := make(chan struct{}, 100)
		errc := make(chan error, 1)
		go func() {
			errc <- WaitFor(ctx, rdb, "c3", WaitOptions{Recheck: time.Hour}, func(_ context.Context, p []byte) (bool, error) {
				checks <- struct{}{}
				return state.Load() == 3, nil
			})
		}()
		<-checks // initial check done: the subscription exists
		state.Store(3)
		if _, err := Publish(ctx, rdb, "c3", []byte("3")); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("WaitFor returns the check's error and honours cancellation", func(t *testing.T) {
		boom := errors.New("boom")
		if err := WaitFor(ctx, rdb, "c4", WaitOptions{}, func(context.Context, []byte) (bool, error) { return false, boom }); !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		cctx, ccancel := context.WithCancel(ctx)
		ccancel()
		if err := WaitFor(cctx, rdb, "c4", WaitOptions{}, func(context.Context, []byte) (bool, error) { return false, nil }); err == nil {
			t.Fatal("no error after cancel")
		}
	})

	t.Run("WaitFor rechecks periodically even without messages", func(t *testing.T) {
		var n atomic.Int64
		err := WaitFor(ctx, rdb, "c5", WaitOptions{Recheck: 10 * time.Millisecond}, func(context.Context, []byte) (bool, error) {
			return n.Add(1) >= 3, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
