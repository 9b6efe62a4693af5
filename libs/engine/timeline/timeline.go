// Package timeline is one branch of a tenant's history: its write path
// (in-memory layer, freeze, flush loop), its read path (GetPage@LSN across
// in-memory layers, layer files and ancestors), recovery and branching.
//
// # Write path
//
//	w := tl.Writer()                 // exclusive; blocks other writers and freezes
//	w.Put(k, lsn, value.Image(page)) // any number of puts at the batch LSN
//	w.FinishWrite(lsn)               // last_record_lsn = lsn; wakes WaitLSN
//	w.Close()
//
// After FinishWrite the open in-memory layer is frozen when it holds
// CheckpointDistance bytes, or WAL advanced CheckpointDistance since the last
// freeze; the flush loop also freezes data older than CheckpointTimeout. The
// flush loop writes each frozen layer as an L0 delta (or, for the initial
// import at exactly [initdb_lsn, initdb_lsn+1), as image layers), fsyncs it,
// adds it to the layer map, and then persists disk_consistent_lsn in the
// metadata file. Any flush failure makes the timeline Broken: data that was
// not flushed must be re-ingested from the WAL after a restart.
//
// # Read path
//
// Get(ctx, k, at): page cache → open and frozen in-memory layers → layer map
// → the ancestor below ancestor_lsn; records are collected newest first until
// an image or a will_init record, handed to the Redoer oldest first, and the
// result is cached under the LSN of the newest applied record.
//
// # States
//
//	Loading ──► Active ──► Stopping
//	   │          │           │
//	   └──────────┴───────────┴──► Broken (sticky; carries a reason)
//
// Writes are accepted while Loading (initial import) and Active; reads while
// Loading, Active and Stopping. Stopping is one-way.
//
// # Flush loop
//
//	not started ──StartFlushLoop──► running ──ctx done / broken──► exited
//
// FreezeAndFlush fails with ErrFlushLoopNotStarted or ErrFlushLoopExited
// when the loop is not running.
//
// # Directory
//
//	<timelines dir>/<timeline id>/metadata         docs/format/metadata.md
//	<timelines dir>/<timeline id>/<layer name>     docs/format/layers.md
//	<timelines dir>/<timeline id>/<layer>.<N>.old  set aside at recovery
//	<timelines dir>/<timeline id>.___uninit        present while being created
package timeline

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/inmem"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/layermap"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/metadata"
	"github.com/stratadb/strata/libs/engine/pagecache"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// State is a timeline's lifecycle state.
type State uint8

// Timeline states.
const (
	Loading State = iota
	Active
	Stopping
	Broken
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case Loading:
		return "Loading"
	case Active:
		return "Active"
	case Stopping:
		return "Stopping"
	case Broken:
		return "Broken"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

type flushLoopState uint8

const (
	loopNotStarted flushLoopState = iota
	loopRunning
	loopExited
)

// Timeline is one branch of history. Create it with Create or Open.
type Timeline struct {
	id       id.ID
	dir      string
	fs       vfs.FS
	opts     Options
	deps     Deps
	cache    *pagecache.Cache
	ancestor *Timeline

	// Immutable after open.
	ancestorLSN lsn.LSN
	initdbLSN   lsn.LSN
	pgVersion   uint32

	layers layermap.Current

	readersMu sync.Mutex
	readers   map[layer.Name]*layer.Reader

	// writeMu is held by the Writer and by freezes, so a freeze never
	// splits a batch.
	writeMu sync.Mutex

	mu             sync.RWMutex // protects the fields below
	open           *inmem.Layer
	frozen         []*inmem.Layer // oldest first
	nextOpenAt     lsn.LSN
	lastFreezeAt   lsn.LSN
	lastFreezeTime time.Time
	state          State
	brokenReason   string
	stateFast      atomic.Uint32 // mirrors state for lock-free checks
	loopState      flushLoopState
	loopDone       chan struct{}
	flushed        chan struct{} // closed and replaced after every flush attempt
	flushKick      chan struct{} // buffered(1)

	lsnMu      sync.Mutex
	lastRecord lsn.LSN
	prevRecord lsn.LSN
	lastFast   atomic.Uint64 // mirrors lastRecord for lock-free reads
	advanced   chan struct{} // closed on advance; nil when nobody waits

	diskConsistent   atomic.Uint64
	remoteConsistent atomic.Uint64
	gcCutoff         atomic.Uint64

	metaMu sync.Mutex // serializes metadata writes
}

func newTimeline(fs vfs.FS, dir string, tid id.ID, m metadata.Metadata, ancestor *Timeline, opts Options, deps Deps) (*Timeline, error) {
	opts = opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("timeline %s options: %w", tid, err)
	}
	if deps.FS == nil {
		deps.FS = fs
	}
	deps.Events = deps.Events.EnsureDefaults()
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if !m.Ancestor.IsZero() && (ancestor == nil || ancestor.id != m.Ancestor) {
		return nil, fmt.Errorf("timeline %s: metadata names ancestor %s, but it was not given", tid, m.Ancestor)
	}
	if m.Ancestor.IsZero() && ancestor != nil {
		return nil, fmt.Errorf("timeline %s: an ancestor was given, but the metadata names none", tid)
	}
	cache := deps.PageCache
	if cache == nil {
		cache = pagecache.New(opts.PageCacheSize)
	}
	t := &Timeline{
		id: tid, dir: dir, fs: fs, opts: opts, deps: deps, cache: cache, ancestor: ancestor,
		ancestorLSN: m.AncestorLSN, initdbLSN: m.InitDBLSN, pgVersion: m.PGVersion,
		readers:   make(map[layer.Name]*layer.Reader),
		flushed:   make(chan struct{}),
		flushKick: make(chan struct{}, 1),
		loopDone:  make(chan struct{}),
	}
	t.lastRecord = m.DiskConsistentLSN
	t.lastFast.Store(uint64(m.DiskConsistentLSN))
	t.prevRecord = m.PrevRecordLSN
	t.nextOpenAt = m.DiskConsistentLSN + 1
	if !m.DiskConsistentLSN.IsValid() && m.InitDBLSN.IsValid() {
		// A fresh root timeline: the initial import writes at initdb_lsn.
		t.nextOpenAt = m.InitDBLSN
	}
	t.lastFreezeAt = m.DiskConsistentLSN
	t.lastFreezeTime = deps.Now()
	t.diskConsistent.Store(uint64(m.DiskConsistentLSN))
	t.remoteConsistent.Store(uint64(m.RemoteConsistentLSN))
	t.gcCutoff.Store(uint64(m.LatestGCCutoffLSN))
	return t, nil
}

// ID returns the timeline's id.
func (t *Timeline) ID() id.ID { return t.id }

// Dir returns the timeline's directory.
func (t *Timeline) Dir() string { return t.dir }

// Ancestor returns the parent timeline, or nil for a root timeline.
func (t *Timeline) Ancestor() *Timeline { return t.ancestor }

// AncestorLSN returns the branch point (Invalid for a root timeline).
func (t *Timeline) AncestorLSN() lsn.LSN { return t.ancestorLSN }

// InitDBLSN returns the LSN of the initial import.
func (t *Timeline) InitDBLSN() lsn.LSN { return t.initdbLSN }

// PGVersion returns the PostgreSQL major version.
func (t *Timeline) PGVersion() uint32 { return t.pgVersion }

// LastRecordLSN returns the end of the last ingested record.
func (t *Timeline) LastRecordLSN() lsn.LSN { return lsn.LSN(t.lastFast.Load()) }

// PrevRecordLSN returns the start of the last ingested record, if known.
func (t *Timeline) PrevRecordLSN() lsn.LSN {
	t.lsnMu.Lock()
	defer t.lsnMu.Unlock()
	return t.prevRecord
}

// DiskConsistentLSN returns the LSN up to which everything is in local layer files.
func (t *Timeline) DiskConsistentLSN() lsn.LSN { return lsn.LSN(t.diskConsistent.Load()) }

// RemoteConsistentLSN returns the disk_consistent_lsn of the last uploaded index.
func (t *Timeline) RemoteConsistentLSN() lsn.LSN { return lsn.LSN(t.remoteConsistent.Load()) }

// GCCutoffLSN returns the latest GC cutoff.
func (t *Timeline) GCCutoffLSN() lsn.LSN { return lsn.LSN(t.gcCutoff.Load()) }

// Layers returns the current layer map snapshot.
func (t *Timeline) Layers() *layermap.Map { return t.layers.Load() }

// Metadata returns the timeline's current durable-state view.
func (t *Timeline) Metadata() metadata.Metadata { return t.metadataAt(t.DiskConsistentLSN()) }

// metadataAt is Metadata with disk_consistent_lsn set to disk.
func (t *Timeline) metadataAt(disk lsn.LSN) metadata.Metadata {
	m := metadata.Metadata{
		DiskConsistentLSN:   disk,
		AncestorLSN:         t.ancestorLSN,
		LatestGCCutoffLSN:   t.GCCutoffLSN(),
		InitDBLSN:           t.initdbLSN,
		RemoteConsistentLSN: t.RemoteConsistentLSN(),
		PGVersion:           t.pgVersion,
	}
	if t.ancestor != nil {
		m.Ancestor = t.ancestor.id
	}
	t.lsnMu.Lock()
	if m.DiskConsistentLSN == t.lastRecord {
		m.PrevRecordLSN = t.prevRecord
	}
	t.lsnMu.Unlock()
	return m
}

// persist writes the metadata with disk_consistent_lsn = disk (Invalid: the
// current one) and then publishes disk. Building and writing under metaMu
// keeps concurrent writers from persisting a stale view.
func (t *Timeline) persist(disk lsn.LSN) error {
	t.metaMu.Lock()
	defer t.metaMu.Unlock()
	if !disk.IsValid() {
		disk = t.DiskConsistentLSN()
	}
	if err := vfs.WriteFileAtomic(t.fs, t.dir+"/"+metadata.FileName, t.metadataAt(disk).Encode()); err != nil {
		return fmt.Errorf("timeline %s: write metadata: %w", t.id, err)
	}
	t.diskConsistent.Store(uint64(disk))
	return nil
}

// SetRemoteConsistentLSN records the disk_consistent_lsn of an uploaded
// index and persists it.
func (t *Timeline) SetRemoteConsistentLSN(l lsn.LSN) error {
	t.remoteConsistent.Store(uint64(l))
	return t.persist(lsn.Invalid)
}

// SetGCCutoff moves the GC cutoff forward (never back) and persists it.
func (t *Timeline) SetGCCutoff(l lsn.LSN) error {
	for {
		cur := t.gcCutoff.Load()
		if uint64(l) <= cur {
			return nil
		}
		if t.gcCutoff.CompareAndSwap(cur, uint64(l)) {
			return t.persist(lsn.Invalid)
		}
	}
}

// State returns the timeline's state and, if Broken, the reason.
func (t *Timeline) State() (State, string) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.state, t.brokenReason
}

// SetState moves the timeline to s. Broken is sticky (later changes are
// ignored); Stopping cannot go back to Active or Loading; use SetBroken for
// Broken.
func (t *Timeline) SetState(s State) error {
	if s == Broken {
		return fmt.Errorf("timeline %s: use SetBroken", t.id)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.state == s, t.state == Broken:
		return nil
	case t.state == Stopping:
		return fmt.Errorf("timeline %s: %w: cannot become %s", t.id, ErrStopping, s)
	case t.state == Active && s == Loading:
		return fmt.Errorf("timeline %s: cannot go from Active back to Loading", t.id)
	}
	t.state = s
	t.stateFast.Store(uint32(s))
	return nil
}

// SetBroken makes the timeline Broken with a reason and reports it.
func (t *Timeline) SetBroken(reason string, err error) {
	t.mu.Lock()
	if t.state == Broken {
		t.mu.Unlock()
		return
	}
	t.state, t.brokenReason = Broken, reason
	t.stateFast.Store(uint32(Broken))
	t.mu.Unlock()
	t.deps.Events.TimelineBroken(TimelineBrokenInfo{Tenant: t.deps.Tenant, Timeline: t.id, Reason: reason, Err: err})
	t.signalFlushed()
}

func (t *Timeline) checkReadable() error {
	if State(t.stateFast.Load()) != Broken {
		return nil
	}
	s, reason := t.State()
	if s == Broken {
		return fmt.Errorf("timeline %s: %w: %s", t.id, ErrBroken, reason)
	}
	return nil
}

// Close closes the layer files the timeline has open. The flush loop must
// have exited (cancel its context and wait for FlushLoopDone).
func (t *Timeline) Close() error {
	t.readersMu.Lock()
	defer t.readersMu.Unlock()
	var first error
	for n, r := range t.readers {
		if err := r.Close(); err != nil && first == nil {
			first = fmt.Errorf("timeline %s: close layer %s: %w", t.id, n, err)
		}
		delete(t.readers, n)
	}
	return first
}

// reader returns the open reader of a layer, opening it on first use.
func (t *Timeline) reader(n layer.Name) (*layer.Reader, error) {
	t.readersMu.Lock()
	defer t.readersMu.Unlock()
	if r, ok := t.readers[n]; ok {
		return r, nil
	}
	r, err := layer.Open(t.fs, t.dir, n)
	if err != nil {
		return nil, err
	}
	t.readers[n] = r
	return r, nil
}

// nudge wakes the flush loop without blocking.
func (t *Timeline) nudge() {
	select {
	case t.flushKick <- struct{}{}:
	default:
	}
}

func (t *Timeline) signalFlushed() {
	t.mu.Lock()
	close(t.flushed)
	t.flushed = make(chan struct{})
	t.mu.Unlock()
}
