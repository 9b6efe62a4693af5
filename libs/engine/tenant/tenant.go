// Package tenant holds a tenant's timelines and its lifecycle state machine.
//
//	           ┌──────────┐
//	 load ───► │ Loading  │──┐
//	           └──────────┘  │ activate    ┌────────┐  stop   ┌──────────┐
//	           ┌──────────┐  ├───────────► │ Active │ ──────► │ Stopping │
//	attach ──► │Attaching │──┘             └────────┘         └──────────┘
//	           └──────────┘                    │                    │
//	 Loading, Attaching, Active, Stopping ─────┴──── set broken ────┴──► Broken(reason)
//
// Stopping is one-way (it is a shutdown, not a pause: the reason Neon renamed
// "Paused" to "Stopping"); Broken is sticky and keeps its first reason.
// Setting the current state again is a no-op, stopping a Broken tenant keeps
// it Broken, and every other transition not drawn fails with
// ErrInvalidTransition. Timeline flush loops run only while the tenant is
// Active: Activate starts them with a context the tenant owns, Shutdown
// cancels it and waits for them.
//
// Directory layout:
//
//	<tenant dir>/timelines/<timeline id>/...     see package timeline
//	<tenant dir>/timelines/<id>.___uninit        timeline being created
package tenant

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/metadata"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// ErrTimelineExists is wrapped when creating a timeline whose id is taken.
var ErrTimelineExists = errors.New("timeline already exists")

// ErrTimelineNotFound is wrapped when a timeline id is unknown.
var ErrTimelineNotFound = errors.New("timeline not found")

// Tenant is a set of timelines with a lifecycle state. Safe for concurrent use.
type Tenant struct {
	id   id.ID
	dir  string
	fs   vfs.FS
	opts timeline.Options
	deps timeline.Deps
	sm   *machine

	mu        sync.Mutex
	timelines map[id.ID]*timeline.Timeline
	// loopCtx is the context of the tenant's background loops, created by
	// Activate and cancelled when the tenant stops: the tenant owns it.
	loopCtx context.Context
	cancel  context.CancelFunc
}

// New returns an empty tenant in state s (Loading or Attaching) rooted at dir.
// deps.Tenant is set to tid.
func New(fsys vfs.FS, dir string, tid id.ID, s State, opts timeline.Options, deps timeline.Deps) *Tenant {
	deps.Tenant = tid
	if deps.FS == nil {
		deps.FS = fsys
	}
	return &Tenant{id: tid, dir: dir, fs: fsys, opts: opts, deps: deps, sm: newMachine(s), timelines: map[id.ID]*timeline.Timeline{}}
}

// ID returns the tenant id.
func (t *Tenant) ID() id.ID { return t.id }

// State returns the state and, if Broken, the reason.
func (t *Tenant) State() (State, string) { return t.sm.get() }

// WaitUntilActive waits until the tenant is Active; it fails at once if the
// tenant is (or becomes) Stopping or Broken, and when ctx ends.
func (t *Tenant) WaitUntilActive(ctx context.Context) error { return t.sm.waitActive(ctx) }

func (t *Tenant) timelinesDir() string { return path.Join(t.dir, "timelines") }

// Load opens a tenant from its directory: half-created timelines are removed,
// the others are opened parents first. On failure the tenant is Broken (and
// returned with the error), so it stays visible. The tenant is left Loading;
// call Activate.
func Load(ctx context.Context, fsys vfs.FS, dir string, tid id.ID, opts timeline.Options, deps timeline.Deps) (*Tenant, error) {
	t := New(fsys, dir, tid, Loading, opts, deps)
	if err := t.load(ctx); err != nil {
		_ = t.SetBroken(err.Error())
		return t, fmt.Errorf("load tenant %s: %w", tid, err)
	}
	return t, nil
}

func (t *Tenant) load(ctx context.Context) error {
	if err := vfs.MkdirAllDurable(t.fs, t.timelinesDir(), 0o755); err != nil {
		return err
	}
	ids, err := timeline.CleanupUninit(t.fs, t.timelinesDir())
	if err != nil {
		return err
	}
	metas := map[id.ID]metadata.Metadata{}
	for _, tid := range ids {
		m, err := timeline.ReadMetadata(t.fs, path.Join(t.timelinesDir(), tid.String()))
		if err != nil {
			return err
		}
		metas[tid] = m
	}
	// Open parents before children.
	for len(metas) > 0 {
		progress := false
		for _, tid := range ids {
			m, ok := metas[tid]
			if !ok {
				continue
			}
			var anc *timeline.Timeline
			if !m.Ancestor.IsZero() {
				t.mu.Lock()
				anc = t.timelines[m.Ancestor]
				t.mu.Unlock()
				if anc == nil {
					if _, pending := metas[m.Ancestor]; pending {
						continue
					}
					return fmt.Errorf("timeline %s: ancestor %s is missing", tid, m.Ancestor)
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			tl, err := timeline.Open(t.fs, t.timelinesDir(), tid, anc, t.opts, t.deps)
			if err != nil {
				return err
			}
			t.mu.Lock()
			t.timelines[tid] = tl
			t.mu.Unlock()
			delete(metas, tid)
			progress = true
		}
		if !progress {
			return errors.New("timelines form an ancestry cycle")
		}
	}
	return nil
}

// Activate moves a Loading or Attaching tenant to Active, sets its timelines
// Active and starts their flush loops.
func (t *Tenant) Activate() error {
	if err := t.sm.set(Active, ""); err != nil {
		return fmt.Errorf("activate tenant %s: %w", t.id, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.mu.Lock()
	t.loopCtx, t.cancel = ctx, cancel
	tls := t.list()
	t.mu.Unlock()
	for _, tl := range tls {
		if err := t.startTimeline(ctx, tl); err != nil {
			_ = t.SetBroken(err.Error())
			return fmt.Errorf("activate tenant %s: %w", t.id, err)
		}
	}
	return nil
}

func (t *Tenant) startTimeline(ctx context.Context, tl *timeline.Timeline) error {
	if s, _ := tl.State(); s == timeline.Broken {
		return nil
	}
	if err := tl.SetState(timeline.Active); err != nil {
		return err
	}
	return tl.StartFlushLoop(ctx)
}

func (t *Tenant) list() []*timeline.Timeline {
	out := make([]*timeline.Timeline, 0, len(t.timelines))
	for _, tl := range t.timelines {
		out = append(out, tl)
	}
	return out
}

// SetBroken makes the tenant Broken with a reason and stops its loops.
func (t *Tenant) SetBroken(reason string) error {
	if err := t.sm.set(Broken, reason); err != nil {
		return err
	}
	t.stopLoops()
	return nil
}

func (t *Tenant) stopLoops() {
	t.mu.Lock()
	cancel := t.cancel
	tls := t.list()
	t.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	for _, tl := range tls {
		_ = tl.SetState(timeline.Stopping)
	}
}

// Shutdown moves the tenant to Stopping; with flush, every Active timeline's
// in-memory data is flushed first. It then stops the flush loops, waits for
// them (or ctx) and closes the timelines. Errors of individual flushes are
// joined and returned; shutdown proceeds regardless.
func (t *Tenant) Shutdown(ctx context.Context, flush bool) error {
	wasActive := false
	if s, _ := t.sm.get(); s == Active {
		wasActive = true
	}
	if err := t.sm.set(Stopping, ""); err != nil {
		return fmt.Errorf("shut down tenant %s: %w", t.id, err)
	}
	t.mu.Lock()
	tls := t.list()
	cancel := t.cancel
	t.mu.Unlock()
	var errs []error
	for _, tl := range tls {
		_ = tl.SetState(timeline.Stopping)
	}
	if flush && wasActive {
		for _, tl := range tls {
			if s, _ := tl.State(); s == timeline.Broken {
				continue
			}
			if err := tl.FreezeAndFlush(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if cancel != nil {
		cancel()
		for _, tl := range tls {
			select {
			case <-tl.FlushLoopDone():
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("wait for flush loop of %s: %w", tl.ID(), ctx.Err()))
			}
		}
	}
	for _, tl := range tls {
		if err := tl.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Timeline returns a timeline by id.
func (t *Tenant) Timeline(tid id.ID) (*timeline.Timeline, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tl, ok := t.timelines[tid]
	if !ok {
		return nil, fmt.Errorf("tenant %s: %w: %s", t.id, ErrTimelineNotFound, tid)
	}
	return tl, nil
}

// Timelines returns every timeline (in no particular order).
func (t *Tenant) Timelines() []*timeline.Timeline {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.list()
}

// CreateTimeline creates a root timeline at initdb_lsn crash-safely. init,
// if not nil, runs before the timeline is published (the initial import:
// write through tl.Writer and call tl.FreezeAndFlush); the flush loop is
// already running. The tenant must be Active.
func (t *Tenant) CreateTimeline(ctx context.Context, tid id.ID, initdbLSN lsn.LSN, pgVersion uint32, init func(ctx context.Context, tl *timeline.Timeline) error) (*timeline.Timeline, error) {
	m := metadata.Metadata{LatestGCCutoffLSN: initdbLSN, InitDBLSN: initdbLSN, PGVersion: pgVersion}
	return t.create(ctx, tid, m, nil, init)
}

// CreateBranch creates a timeline branching from ancestor at at (Invalid:
// the ancestor's last record), validated by timeline.BranchMetadata. If the
// ancestor's disk_consistent_lsn is below the branch point, the ancestor is
// flushed first, so a branch point is always durable.
func (t *Tenant) CreateBranch(ctx context.Context, tid, ancestor id.ID, at lsn.LSN) (*timeline.Timeline, error) {
	anc, err := t.Timeline(ancestor)
	if err != nil {
		return nil, err
	}
	m, err := anc.BranchMetadata(at)
	if err != nil {
		return nil, err
	}
	if anc.DiskConsistentLSN() < m.AncestorLSN {
		if err := anc.FreezeAndFlush(ctx); err != nil {
			return nil, fmt.Errorf("branch %s: flush ancestor: %w", tid, err)
		}
	}
	return t.create(ctx, tid, m, anc, nil)
}

func (t *Tenant) create(ctx context.Context, tid id.ID, m metadata.Metadata, anc *timeline.Timeline, init func(context.Context, *timeline.Timeline) error) (*timeline.Timeline, error) {
	if s, _ := t.sm.get(); s != Active {
		return nil, fmt.Errorf("create timeline %s: tenant %s is %s, not Active", tid, t.id, s)
	}
	t.mu.Lock()
	if _, ok := t.timelines[tid]; ok {
		t.mu.Unlock()
		return nil, fmt.Errorf("create timeline %s: %w", tid, ErrTimelineExists)
	}
	loopCtx := t.loopCtx
	t.mu.Unlock()
	if loopCtx == nil {
		return nil, fmt.Errorf("create timeline %s: tenant %s has no running background loops", tid, t.id)
	}
	tl, err := timeline.Create(t.fs, t.timelinesDir(), tid, m, anc, t.opts, t.deps)
	if err != nil {
		return nil, err
	}
	ctx2, cancelLoop := context.WithCancel(loopCtx)
	fail := func(err error) (*timeline.Timeline, error) {
		cancelLoop()
		<-tl.FlushLoopDone()
		_ = tl.Close()
		_ = t.fs.RemoveAll(tl.Dir())
		_ = t.fs.Remove(tl.Dir() + timeline.UninitSuffix)
		return nil, fmt.Errorf("create timeline %s: %w", tid, err)
	}
	if err := tl.StartFlushLoop(ctx2); err != nil {
		cancelLoop()
		return nil, fmt.Errorf("create timeline %s: %w", tid, err)
	}
	if init != nil {
		if err := init(ctx, tl); err != nil {
			return fail(err)
		}
	}
	if err := tl.MarkInitialized(); err != nil {
		return fail(err)
	}
	if err := tl.SetState(timeline.Active); err != nil {
		return fail(err)
	}
	t.mu.Lock()
	t.timelines[tid] = tl
	t.mu.Unlock()
	return tl, nil
}
