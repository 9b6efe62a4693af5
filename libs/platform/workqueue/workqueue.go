// Package workqueue is an ordered, at-least-once work queue per key on Redis
// streams: one stream per key (e.g. per timeline), one consumer group per
// kind of worker. Payloads are opaque bytes (proto-encoded by callers).
//
//	producer ──Push(key, payload)──► XADD <prefix>:q:<key>  (+ SADD <prefix>:keys key)
//	consumer ──Next(key)──► XREADGROUP ... 0   (its own pending entries first)
//	                        XREADGROUP ... >   (then new ones)
//	         ──Ack(key, id)──► XACK + XDEL
//	another consumer, after the first died ──Reclaim(key, minIdle)──► XAUTOCLAIM
//
// Ordering: entries of one key are delivered in Push order. To process them
// in order, a key must have one active consumer at a time (hold a
// lease.Lease on the key) which handles entries in the order returned and
// acks each after it is done. Next always returns the consumer's own
// unacknowledged entries before new ones, so after a restart under the same
// consumer name, or after Reclaim moved a dead consumer's entries to this
// one, the oldest unfinished entry comes first. Handlers must be idempotent:
// an entry can be delivered again when a consumer dies before Ack.
//
// Usage:
//
//	q := workqueue.New(rdb, workqueue.Config{Prefix: "strata:upload", Group: "upload-worker"})
//	id, err := q.Push(ctx, timelineKey, payload)
//
//	c := q.Consumer(instanceID)
//	_, _ = c.Reclaim(ctx, timelineKey, time.Minute, 100) // take over a dead worker's entries
//	for {
//		entries, err := c.Next(ctx, timelineKey, 16, 5*time.Second)
//		for _, e := range entries {
//			if err := handle(ctx, e.Payload); err != nil { break } // retried later, in order
//			_ = c.Ack(ctx, timelineKey, e.ID)
//		}
//	}
package workqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config of a queue. Zero fields take defaults.
type Config struct {
	Prefix    string        // key prefix, e.g. "strata:upload"; required
	Group     string        // consumer group; required
	OpTimeout time.Duration // deadline of each non-blocking Redis call; default 5s
}

// Entry is one queued item.
type Entry struct {
	ID      string // stream entry id, increasing in Push order
	Payload []byte
}

// Queue is a set of per-key streams sharing a consumer group. Safe for
// concurrent use.
type Queue struct {
	rdb redis.UniversalClient
	cfg Config

	mu     sync.Mutex
	groups map[string]bool // streams whose group we created or saw
}

// New returns a queue. It does not touch Redis.
func New(rdb redis.UniversalClient, cfg Config) *Queue {
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 5 * time.Second
	}
	return &Queue{rdb: rdb, cfg: cfg, groups: make(map[string]bool)}
}

// Stream returns the Redis key of key's stream.
func (q *Queue) Stream(key string) string { return q.cfg.Prefix + ":q:" + key }

func (q *Queue) keysSet() string { return q.cfg.Prefix + ":keys" }

const payloadField = "p"

// Push appends payload to key's queue and returns its entry id.
func (q *Queue) Push(ctx context.Context, key string, payload []byte) (string, error) {
	if key == "" {
		return "", errors.New("workqueue push: empty key")
	}
	cctx, cancel := context.WithTimeout(ctx, q.cfg.OpTimeout)
	defer cancel()
	var add *redis.StringCmd
	_, err := q.rdb.TxPipelined(cctx, func(p redis.Pipeliner) error {
		add = p.XAdd(cctx, &redis.XAddArgs{Stream: q.Stream(key), Values: []any{payloadField, payload}})
		p.SAdd(cctx, q.keysSet(), key)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("workqueue push %s: %w", key, err)
	}
	return add.Val(), nil
}

// Keys returns every key that has had entries pushed (and not been Forgotten).
func (q *Queue) Keys(ctx context.Context) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, q.cfg.OpTimeout)
	defer cancel()
	ks, err := q.rdb.SMembers(cctx, q.keysSet()).Result()
	if err != nil {
		return nil, fmt.Errorf("workqueue keys: %w", err)
	}
	return ks, nil
}

// Forget removes key's stream and its entry in Keys (e.g. timeline deleted).
func (q *Queue) Forget(ctx context.Context, key string) error {
	cctx, cancel := context.WithTimeout(ctx, q.cfg.OpTimeout)
	defer cancel()
	_, err := q.rdb.TxPipelined(cctx, func(p redis.Pipeliner) error {
		p.Del(cctx, q.Stream(key))
		p.SRem(cctx, q.keysSet(), key)
		return nil
	})
	q.mu.Lock()
	delete(q.groups, key)
	q.mu.Unlock()
	if err != nil {
		return fmt.Errorf("workqueue forget %s: %w", key, err)
	}
	return nil
}

// Len returns the number of entries of key not yet acknowledged (queued or
// in flight).
func (q *Queue) Len(ctx context.Context, key string) (int64, error) {
	cctx, cancel := context.WithTimeout(ctx, q.cfg.OpTimeout)
	defer cancel()
	n, err := q.rdb.XLen(cctx, q.Stream(key)).Result()
	if err != nil {
		return 0, fmt.Errorf("workqueue len %s: %w", key, err)
	}
	return n, nil
}

// ensureGroup creates the consumer group of key's stream (from the start of
// the stream) unless this process already did.
func (q *Queue) ensureGroup(ctx context.Context, key string, force bool) error {
	q.mu.Lock()
	done := q.groups[key]
	q.mu.Unlock()
	if done && !force {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, q.cfg.OpTimeout)
	defer cancel()
	err := q.rdb.XGroupCreateMkStream(cctx, q.Stream(key), q.cfg.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("workqueue create group %s: %w", key, err)
	}
	q.mu.Lock()
	q.groups[key] = true
	q.mu.Unlock()
	return nil
}

func isNoGroup(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOGROUP") }

// withGroup runs fn, creating the group first and once more if Redis lost it.
func (q *Queue) withGroup(ctx context.Context, key string, fn func() error) error {
	if err := q.ensureGroup(ctx, key, false); err != nil {
		return err
	}
	err := fn()
	if isNoGroup(err) {
		if err := q.ensureGroup(ctx, key, true); err != nil {
			return err
		}
		err = fn()
	}
	return err
}

// Consumer is one named worker of the queue's group. Use a stable name per
// worker instance so that a restart finds its pending entries.
type Consumer struct {
	q    *Queue
	name string
}

// Consumer returns the consumer called name.
func (q *Queue) Consumer(name string) *Consumer { return &Consumer{q: q, name: name} }

// Name returns the consumer name.
func (c *Consumer) Name() string { return c.name }

// Next returns up to count entries of key: this consumer's unacknowledged
// entries if it has any, else new entries, waiting up to block for one
// (block <= 0: do not wait). No entries is (nil, nil).
func (c *Consumer) Next(ctx context.Context, key string, count int64, block time.Duration) ([]Entry, error) {
	if count <= 0 {
		count = 1
	}
	pending, err := c.read(ctx, key, "0", count, -1)
	if err != nil || len(pending) > 0 {
		return pending, err
	}
	return c.read(ctx, key, ">", count, block)
}

func (c *Consumer) read(ctx context.Context, key, from string, count int64, block time.Duration) ([]Entry, error) {
	var out []Entry
	err := c.q.withGroup(ctx, key, func() error {
		// A blocking read gets block plus the op timeout as its deadline.
		timeout := c.q.cfg.OpTimeout
		if block > 0 {
			timeout += block
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		args := &redis.XReadGroupArgs{Group: c.q.cfg.Group, Consumer: c.name, Streams: []string{c.q.Stream(key), from}, Count: count, Block: block}
		if block <= 0 {
			args.Block = -1 // no BLOCK argument
		}
		res, err := c.q.rdb.XReadGroup(cctx, args).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, s := range res {
			out = appendEntries(out, s.Messages)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("workqueue read %s: %w", key, err)
	}
	return out, nil
}

func appendEntries(out []Entry, msgs []redis.XMessage) []Entry {
	for _, m := range msgs {
		if m.Values == nil { // deleted while pending
			continue
		}
		var p []byte
		if s, ok := m.Values[payloadField].(string); ok {
			p = []byte(s)
		}
		out = append(out, Entry{ID: m.ID, Payload: p})
	}
	return out
}

// Ack marks entries of key done and deletes them from the stream.
func (c *Consumer) Ack(ctx context.Context, key string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, c.q.cfg.OpTimeout)
	defer cancel()
	stream := c.q.Stream(key)
	_, err := c.q.rdb.TxPipelined(cctx, func(p redis.Pipeliner) error {
		p.XAck(cctx, stream, c.q.cfg.Group, ids...)
		p.XDel(cctx, stream, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("workqueue ack %s: %w", key, err)
	}
	return nil
}

// Reclaim moves to this consumer every entry of key that another consumer
// received but has not acknowledged for at least minIdle (its consumer is
// presumed dead), up to count per call, in entry order, and returns them.
// Call it before Next when taking over a key.
func (c *Consumer) Reclaim(ctx context.Context, key string, minIdle time.Duration, count int64) ([]Entry, error) {
	if count <= 0 {
		count = 100
	}
	var out []Entry
	err := c.q.withGroup(ctx, key, func() error {
		out = out[:0]
		start := "0-0"
		for {
			cctx, cancel := context.WithTimeout(ctx, c.q.cfg.OpTimeout)
			msgs, next, err := c.q.rdb.XAutoClaim(cctx, &redis.XAutoClaimArgs{
				Stream: c.q.Stream(key), Group: c.q.cfg.Group, Consumer: c.name, MinIdle: minIdle, Start: start, Count: count,
			}).Result()
			cancel()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			out = appendEntries(out, msgs)
			if next == "0-0" || next == "" || int64(len(out)) >= count {
				return nil
			}
			start = next
		}
	})
	if err != nil {
		return nil, fmt.Errorf("workqueue reclaim %s: %w", key, err)
	}
	return out, nil
}
