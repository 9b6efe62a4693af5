// Package notify publishes completion notifications over Redis pub/sub and
// lets a waiter wait for a condition without missing the event that makes it
// true.
//
// Pub/sub delivers only to subscribers connected at publish time, so waiting
// is always: subscribe (confirmed by Redis) → check the condition in the
// source of truth → wait for a message → check again. WaitFor does exactly
// that, and re-checks every Recheck interval too, in case a message was lost
// while the subscription reconnected. Payloads are opaque bytes.
//
// Usage (page-service waiting for an upload to complete):
//
//	ch := "strata:uploaded:" + timelineID
//	err := notify.WaitFor(ctx, rdb, ch, notify.WaitOptions{}, func(ctx context.Context, payload []byte) (bool, error) {
//		return remoteIndexHasLayer(ctx, layer) // source of truth, not the payload
//	})
//
//	// upload-worker, after the upload:
//	err := notify.Publish(ctx, rdb, ch, []byte(layer))
package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultTimeout bounds Publish and subscription setup.
const DefaultTimeout = 5 * time.Second

// Publish sends payload to channel's subscribers and returns how many got it.
func Publish(ctx context.Context, rdb redis.UniversalClient, channel string, payload []byte) (int64, error) {
	cctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	n, err := rdb.Publish(cctx, channel, payload).Result()
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", channel, err)
	}
	return n, nil
}

// Subscription receives the messages of one or more channels. Close it.
type Subscription struct {
	ps *redis.PubSub
	ch <-chan *redis.Message
}

// Subscribe subscribes to channels and returns once Redis confirmed it, so
// that every message published afterwards is delivered.
func Subscribe(ctx context.Context, rdb redis.UniversalClient, channels ...string) (*Subscription, error) {
	ps := rdb.Subscribe(ctx)
	cctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	if err := ps.Subscribe(cctx, channels...); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("subscribe %v: %w", channels, err)
	}
	// Wait for the confirmations: after them, no publish can be missed.
	for range channels {
		msg, err := ps.ReceiveTimeout(cctx, DefaultTimeout)
		if err != nil {
			_ = ps.Close()
			return nil, fmt.Errorf("subscribe %v: %w", channels, err)
		}
		if _, ok := msg.(*redis.Subscription); !ok {
			_ = ps.Close()
			return nil, fmt.Errorf("subscribe %v: unexpected %T before confirmation", channels, msg)
		}
	}
	return &Subscription{ps: ps, ch: ps.Channel()}, nil
}

// Receive waits for the next message: its channel and payload.
func (s *Subscription) Receive(ctx context.Context) (channel string, payload []byte, err error) {
	select {
	case <-ctx.Done():
		return "", nil, context.Cause(ctx)
	case m, ok := <-s.ch:
		if !ok {
			return "", nil, fmt.Errorf("subscription closed")
		}
		return m.Channel, []byte(m.Payload), nil
	}
}

// C returns the message channel (closed by Close).
func (s *Subscription) C() <-chan *redis.Message { return s.ch }

// Close ends the subscription and its goroutines.
func (s *Subscription) Close() error { return s.ps.Close() }

// WaitOptions tune WaitFor.
type WaitOptions struct {
	// Recheck runs the check this often even without messages (default 5s);
	// it covers messages lost while the connection was re-established.
	Recheck time.Duration
}

// CheckFunc reports whether the awaited condition holds. payload is the
// message that woke the waiter, nil on the initial and periodic checks.
type CheckFunc func(ctx context.Context, payload []byte) (bool, error)

// WaitFor subscribes to channel, then calls check until it returns true
// (nil), returns an error, or ctx ends: once right after subscribing, after
// every message, and every Recheck.
func WaitFor(ctx context.Context, rdb redis.UniversalClient, channel string, opts WaitOptions, check CheckFunc) error {
	if opts.Recheck <= 0 {
		opts.Recheck = 5 * time.Second
	}
	sub, err := Subscribe(ctx, rdb, channel)
	if err != nil {
		return err
	}
	defer sub.Close()
	if ok, err := check(ctx, nil); err != nil || ok {
		return err
	}
	t := time.NewTicker(opts.Recheck)
	defer t.Stop()
	for {
		var payload []byte
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", channel, context.Cause(ctx))
		case m, ok := <-sub.C():
			if !ok {
				return fmt.Errorf("wait for %s: subscription closed", channel)
			}
			payload = []byte(m.Payload)
		case <-t.C:
		}
		if ok, err := check(ctx, payload); err != nil || ok {
			return err
		}
	}
}
