// Package lease implements fenced leases in Redis: at most one holder of a
// key at a time, each acquisition numbered by a fencing token that only
// grows, so a storage write carrying an older token can be refused.
//
// Redis layout for key K:
//
//	K        string "<token>:<holder>"   with a TTL (PX)
//	K:fence  integer, INCR'd on every acquisition (never expires)
//
// Acquire, Renew and Release are Lua scripts, so the check and the change
// are atomic: only the exact "<token>:<holder>" value that acquired may renew
// or release, and a lease that expired and was taken by someone else cannot
// be renewed back. Every Redis call runs under a deadline.
//
// Usage (one gc-compactor per tenant):
//
//	l, err := lease.Acquire(ctx, rdb, "strata:lease:gc:"+tenantID, instanceID, lease.Options{TTL: 15 * time.Second})
//	if errors.Is(err, lease.ErrHeld) { return nil } // someone else works on it
//	lost, stop := l.KeepAlive(ctx)
//	defer stop()                  // stops renewing and releases
//	err = compact(lost, l.Token()) // lost is cancelled if the lease is lost
//
// Redis Cluster: K and K:fence must hash to one slot; put a hash tag in K
// ("strata:lease:{tenant}").
package lease

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors.
var (
	// ErrHeld: another holder has the lease.
	ErrHeld = errors.New("lease held by another holder")
	// ErrLost: the lease expired or was taken over; stop work fenced by it.
	ErrLost = errors.New("lease lost")
)

// Options of a lease. Zero fields take defaults.
type Options struct {
	TTL        time.Duration // lease duration; default 15s
	RenewEvery time.Duration // KeepAlive period; default TTL/3
	OpTimeout  time.Duration // deadline of each Redis call; default min(2s, TTL/3)
}

func (o Options) withDefaults() Options {
	if o.TTL <= 0 {
		o.TTL = 15 * time.Second
	}
	if o.RenewEvery <= 0 || o.RenewEvery >= o.TTL {
		o.RenewEvery = o.TTL / 3
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = min(2*time.Second, o.TTL/3)
	}
	return o
}

var (
	acquireScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local tok = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], tok .. ':' .. ARGV[1], 'PX', ARGV[2])
return tok`)
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// Lease is one acquisition of a key. Its methods are safe for concurrent use.
type Lease struct {
	rdb    redis.Scripter
	key    string
	holder string
	token  int64
	opts   Options

	mu     sync.Mutex
	lastOK time.Time // start of the last successful acquire/renew
}

func fenceKey(key string) string { return key + ":fence" }

func (l *Lease) value() string { return strconv.FormatInt(l.token, 10) + ":" + l.holder }

// Acquire takes the lease on key for holder, or returns ErrHeld.
func Acquire(ctx context.Context, rdb redis.Scripter, key, holder string, opts Options) (*Lease, error) {
	opts = opts.withDefaults()
	if holder == "" || strings.ContainsRune(holder, '\n') {
		return nil, fmt.Errorf("lease %s: bad holder %q", key, holder)
	}
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, opts.OpTimeout)
	defer cancel()
	tok, err := acquireScript.Run(cctx, rdb, []string{key, fenceKey(key)}, holder, opts.TTL.Milliseconds()).Int64()
	if err != nil {
		return nil, fmt.Errorf("acquire lease %s: %w", key, err)
	}
	if tok == 0 {
		return nil, fmt.Errorf("acquire lease %s: %w", key, ErrHeld)
	}
	return &Lease{rdb: rdb, key: key, holder: holder, token: tok, opts: opts, lastOK: start}, nil
}

// AcquireWait retries Acquire every interval until it succeeds or ctx ends.
func AcquireWait(ctx context.Context, rdb redis.Scripter, key, holder string, opts Options, interval time.Duration) (*Lease, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		l, err := Acquire(ctx, rdb, key, holder, opts)
		if err == nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last attempt: %v)", context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// Key returns the leased key.
func (l *Lease) Key() string { return l.key }

// Holder returns the holder id.
func (l *Lease) Holder() string { return l.holder }

// Token returns the fencing token: larger than the token of every earlier
// acquisition of the key.
func (l *Lease) Token() int64 { return l.token }

// Renew extends the lease by its TTL; ErrLost when it is no longer ours.
func (l *Lease) Renew(ctx context.Context) error {
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, l.opts.OpTimeout)
	defer cancel()
	n, err := renewScript.Run(cctx, l.rdb, []string{l.key}, l.value(), l.opts.TTL.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("renew lease %s: %w", l.key, err)
	}
	if n == 0 {
		return fmt.Errorf("renew lease %s: %w", l.key, ErrLost)
	}
	l.mu.Lock()
	l.lastOK = start
	l.mu.Unlock()
	return nil
}

// Release gives the lease up if it is still ours (no error otherwise).
func (l *Lease) Release(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.OpTimeout)
	defer cancel()
	if err := releaseScript.Run(cctx, l.rdb, []string{l.key}, l.value()).Err(); err != nil {
		return fmt.Errorf("release lease %s: %w", l.key, err)
	}
	return nil
}

// KeepAlive renews the lease every RenewEvery in a goroutine. The returned
// context is cancelled (cause ErrLost) as soon as the lease is known lost, or
// when a renewal could not succeed before the TTL would run out, or when ctx
// ends. stop ends the goroutine, waits for it, and releases the lease.
func (l *Lease) KeepAlive(ctx context.Context) (lost context.Context, stop func()) {
	lctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(l.opts.RenewEvery)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
			}
			err := l.Renew(lctx)
			switch {
			case err == nil:
			case errors.Is(err, ErrLost):
				cancel(err)
				return
			default:
				l.mu.Lock()
				last := l.lastOK
				l.mu.Unlock()
				// The next attempt would come too late: assume it expired.
				if time.Since(last)+l.opts.RenewEvery >= l.opts.TTL {
					cancel(fmt.Errorf("lease %s: %w: could not renew before expiry: %v", l.key, ErrLost, err))
					return
				}
			}
		}
	}()
	var once sync.Once
	return lctx, func() {
		once.Do(func() {
			cancel(context.Canceled)
			<-done
			_ = l.Release(context.Background())
		})
	}
}

// Current returns the holder and token of key's lease, or ("", 0, nil) when
// nobody holds it.
func Current(ctx context.Context, rdb redis.Cmdable, key string, timeout time.Duration) (holder string, token int64, err error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, err := rdb.Get(cctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("read lease %s: %w", key, err)
	}
	tokText, holder, ok := strings.Cut(v, ":")
	if !ok {
		return "", 0, fmt.Errorf("read lease %s: malformed value", key)
	}
	token, err = strconv.ParseInt(tokText, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("read lease %s: malformed token: %w", key, err)
	}
	return holder, token, nil
}
