package timeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/pagecache"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// Record is one WAL record handed to a Redoer.
type Record struct {
	LSN      lsn.LSN
	Data     []byte
	WillInit bool
}

// Redoer applies WAL records to a page. The engine never interprets record
// bytes; page-service plugs in the walredo pool.
type Redoer interface {
	// Redo returns the value of k at LSN at: base (nil if the oldest record
	// is will_init; then baseLSN is Invalid) with records applied oldest
	// first. Implementations must not retain or modify base or the records.
	Redo(ctx context.Context, k key.Key, at lsn.LSN, base []byte, baseLSN lsn.LSN, records []Record) ([]byte, error)
}

// Defaults, as in Neon at the reference revision.
const (
	DefaultCheckpointDistance   = 256 << 20
	DefaultCheckpointTimeout    = 10 * time.Minute
	DefaultWaitLSNTimeout       = 60 * time.Second
	DefaultPageCacheSize        = 8192 * 8192 // 8192 pages
	DefaultCompactionTargetSize = 128 << 20
	DefaultPGVersion            = 15
)

// Options tunes a timeline. The zero value means "all defaults" after
// EnsureDefaults.
type Options struct {
	// CheckpointDistance: the open in-memory layer is frozen when it holds
	// this many bytes of values, or the WAL advanced this far since the last
	// freeze.
	CheckpointDistance int64
	// CheckpointTimeout: data older than this in the open layer is frozen
	// and flushed even without more WAL.
	CheckpointTimeout time.Duration
	// WaitLSNTimeout bounds how long a read waits for WAL not yet ingested.
	WaitLSNTimeout time.Duration
	// PageCacheSize is the byte budget of the materialized page cache when
	// Deps.PageCache is nil.
	PageCacheSize int
	// CompactionTargetSize sizes the image layers written for the initial
	// import (the [initdb_lsn, initdb_lsn+1) special case).
	CompactionTargetSize int64
}

// EnsureDefaults returns o with zero fields set to their defaults.
func (o Options) EnsureDefaults() Options {
	if o.CheckpointDistance == 0 {
		o.CheckpointDistance = DefaultCheckpointDistance
	}
	if o.CheckpointTimeout == 0 {
		o.CheckpointTimeout = DefaultCheckpointTimeout
	}
	if o.WaitLSNTimeout == 0 {
		o.WaitLSNTimeout = DefaultWaitLSNTimeout
	}
	if o.PageCacheSize == 0 {
		o.PageCacheSize = DefaultPageCacheSize
	}
	if o.CompactionTargetSize == 0 {
		o.CompactionTargetSize = DefaultCompactionTargetSize
	}
	return o
}

// Validate reports every invalid field at once.
func (o Options) Validate() error {
	var errs []error
	if o.CheckpointDistance <= 0 {
		errs = append(errs, fmt.Errorf("checkpoint_distance must be positive, got %d", o.CheckpointDistance))
	}
	if o.CheckpointTimeout <= 0 {
		errs = append(errs, fmt.Errorf("checkpoint_timeout must be positive, got %s", o.CheckpointTimeout))
	}
	if o.WaitLSNTimeout <= 0 {
		errs = append(errs, fmt.Errorf("wait_lsn_timeout must be positive, got %s", o.WaitLSNTimeout))
	}
	if o.PageCacheSize < 0 {
		errs = append(errs, fmt.Errorf("page_cache_size must not be negative, got %d", o.PageCacheSize))
	}
	if o.CompactionTargetSize <= 0 {
		errs = append(errs, fmt.Errorf("compaction_target_size must be positive, got %d", o.CompactionTargetSize))
	}
	return errors.Join(errs...)
}

// LayerFlushedInfo describes a frozen in-memory layer written to disk.
type LayerFlushedInfo struct {
	Tenant, Timeline  id.ID
	Layers            []layer.Desc
	DiskConsistentLSN lsn.LSN
	Duration          time.Duration
}

// TimelineBrokenInfo describes a timeline that became Broken.
type TimelineBrokenInfo struct {
	Tenant, Timeline id.ID
	Reason           string
	Err              error
}

// RecoveryInfo describes what opening a timeline cleaned up.
type RecoveryInfo struct {
	Tenant, Timeline  id.ID
	DiskConsistentLSN lsn.LSN
	Loaded            int
	TempRemoved       []string
	SetAside          []string // "from the future": renamed to <name>.<N>.old
}

// EventListener receives engine events instead of log lines. Any nil field
// is a no-op. Callbacks run synchronously on engine goroutines: keep them
// short and never call back into the timeline.
type EventListener struct {
	LayerFlushed   func(LayerFlushedInfo)
	TimelineBroken func(TimelineBrokenInfo)
	Recovered      func(RecoveryInfo)
}

// EnsureDefaults fills nil callbacks with no-ops.
func (l EventListener) EnsureDefaults() EventListener {
	if l.LayerFlushed == nil {
		l.LayerFlushed = func(LayerFlushedInfo) {}
	}
	if l.TimelineBroken == nil {
		l.TimelineBroken = func(TimelineBrokenInfo) {}
	}
	if l.Recovered == nil {
		l.Recovered = func(RecoveryInfo) {}
	}
	return l
}

// Deps are what a timeline uses but does not own.
type Deps struct {
	FS     vfs.FS // default vfs.Default()
	Redoer Redoer // required for reads that need redo
	// PageCache may be shared by many timelines; default: a private cache
	// of Options.PageCacheSize bytes.
	PageCache *pagecache.Cache
	Events    EventListener
	Tenant    id.ID // for events only
	// Now is the clock; default time.Now.
	Now func() time.Time
}
