package tenantmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	enginetenant "github.com/stratadb/strata/libs/engine/tenant"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/engine/vfs"
	"github.com/stratadb/strata/libs/postgres/datadir"
	"github.com/stratadb/strata/libs/postgres/startwal"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/services/pageservice/internal/walreceiver"
)

// Tenant is one tenant of the node. Before loading finishes it has no
// engine tenant and reports Loading (or Broken, if its config is unreadable).
type Tenant struct {
	m      *Manager
	id     id.ID
	dir    string
	loaded chan struct{} // closed once eng is set

	eng  *enginetenant.Tenant
	conf *pagev1.TenantConfig

	mu        sync.Mutex
	timelines map[id.ID]*Timeline
}

func newTenant(m *Manager, tid id.ID) *Tenant {
	return &Tenant{m: m, id: tid, dir: filepath.Join(m.cfg.Dir, tid.String()), loaded: make(chan struct{}), timelines: map[id.ID]*Timeline{}}
}

// ID returns the tenant id.
func (t *Tenant) ID() id.ID { return t.id }

// State returns the tenant state name and, if Broken, the reason.
func (t *Tenant) State() (string, string) {
	select {
	case <-t.loaded:
	default:
		return enginetenant.Loading.String(), ""
	}
	s, reason := t.eng.State()
	return s.String(), reason
}

// Conf returns the tenant's config overrides.
func (t *Tenant) Conf() *pagev1.TenantConfig {
	select {
	case <-t.loaded:
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.conf != nil {
			return t.conf
		}
	default:
	}
	return &pagev1.TenantConfig{}
}

func (t *Tenant) timelineDeps() timeline.Deps {
	log := t.m.log.With("tenant_id", t.id.String())
	return timeline.Deps{
		FS:     t.m.fs,
		Redoer: t.m.deps.NewRedoer(t.id),
		Tenant: t.id,
		Events: timeline.EventListener{
			TimelineBroken: func(i timeline.TimelineBrokenInfo) {
				log.Error("timeline broken", "timeline_id", i.Timeline.String(), "reason", i.Reason)
			},
		},
	}
}

// load reads the config, opens the timelines and activates the tenant, then
// starts the WAL receivers. Failures leave the tenant Broken.
func (t *Tenant) load(ctx context.Context) {
	log := t.m.log.With("tenant_id", t.id.String())
	defer close(t.loaded)
	raw, err := os.ReadFile(filepath.Join(t.dir, "config"))
	var conf *pagev1.TenantConfig
	if errors.Is(err, os.ErrNotExist) {
		conf, err = &pagev1.TenantConfig{}, nil
	} else if err == nil {
		conf, err = decodeConf(raw)
	}
	if err != nil {
		t.eng = enginetenant.New(t.m.fs, t.dir, t.id, enginetenant.Loading, timeline.Options{}.EnsureDefaults(), t.timelineDeps())
		reason := fmt.Sprintf("read tenant config: %v", err)
		_ = t.eng.SetBroken(reason)
		log.Error("tenant broken", "reason", reason)
		return
	}
	t.conf = conf
	eng, err := enginetenant.Load(ctx, t.m.fs, t.dir, t.id, timelineOptions(conf, t.m.cfg.WaitLSNTimeout), t.timelineDeps())
	t.eng = eng
	if err != nil {
		log.Error("tenant broken", "reason", fmt.Sprintf("load: %v", err))
		return
	}
	if err := eng.Activate(); err != nil {
		log.Error("activate tenant", "err", err)
		return
	}
	for _, tl := range eng.Timelines() {
		w := t.wrap(tl)
		if err := w.readState(); err != nil {
			tl.SetBroken(fmt.Sprintf("read timeline state: %v", err), err)
			continue
		}
		t.startReceiver(w)
	}
	log.Info("tenant loaded", "timelines", len(eng.Timelines()))
}

func (t *Tenant) shutdown(ctx context.Context) error {
	select {
	case <-t.loaded:
	default:
		return nil
	}
	t.mu.Lock()
	tls := make([]*Timeline, 0, len(t.timelines))
	for _, tl := range t.timelines {
		tls = append(tls, tl)
	}
	t.mu.Unlock()
	for _, tl := range tls {
		tl.stopReceiver()
	}
	return t.eng.Shutdown(ctx, true)
}

// wrap returns the page-service view of an engine timeline.
func (t *Tenant) wrap(tl *timeline.Timeline) *Timeline {
	t.mu.Lock()
	defer t.mu.Unlock()
	if w, ok := t.timelines[tl.ID()]; ok {
		return w
	}
	w := &Timeline{t: t, TL: tl}
	t.timelines[tl.ID()] = w
	return w
}

// Timeline returns a timeline of an Active tenant.
func (t *Tenant) Timeline(tlid id.ID) (*Timeline, error) {
	select {
	case <-t.loaded:
	default:
		return nil, fmt.Errorf("tenant %s is loading: %w", t.id, ErrNotActive)
	}
	tl, err := t.eng.Timeline(tlid)
	if err != nil {
		return nil, fmt.Errorf("timeline %s: %w", tlid, ErrTimelineNotFound)
	}
	return t.wrap(tl), nil
}

// Timelines returns every timeline, ancestors before their branches.
func (t *Tenant) Timelines() []*Timeline {
	select {
	case <-t.loaded:
	default:
		return nil
	}
	var out []*Timeline
	seen := map[id.ID]bool{}
	var add func(tl *timeline.Timeline)
	add = func(tl *timeline.Timeline) {
		if seen[tl.ID()] {
			return
		}
		if a := tl.Ancestor(); a != nil {
			add(a)
		}
		seen[tl.ID()] = true
		out = append(out, t.wrap(tl))
	}
	for _, tl := range t.eng.Timelines() {
		add(tl)
	}
	return out
}

// RootSource says where a new root timeline's data comes from.
type RootSource struct {
	ConnString string
	SlotName   string
	// TarPath, when set, is a base backup tar to import at TarLSN (reads
	// allowed from TarEndLSN, or TarLSN when Invalid).
	TarPath           string
	TarLSN, TarEndLSN lsn.LSN
}

// CreateRoot creates a root timeline from a PostgreSQL source: a base backup
// over the replication protocol (or the tar at TarPath) imported at its start
// LSN and flushed; then its WAL receiver starts.
func (t *Tenant) CreateRoot(ctx context.Context, tlid id.ID, src RootSource) (*Timeline, error) {
	if src.ConnString == "" && src.TarPath == "" {
		return nil, fmt.Errorf("source: %w: connstr or basebackup_tar_path is required", ErrInvalid)
	}
	if src.TarPath != "" && src.TarLSN == lsn.Invalid {
		return nil, fmt.Errorf("source: %w: basebackup_lsn is required with basebackup_tar_path", ErrInvalid)
	}
	if src.SlotName == "" {
		src.SlotName = defaultSlot(tlid)
	}
	if !walreceiver.ValidSlotName(src.SlotName) {
		return nil, fmt.Errorf("%w: slot_name %q: only lower-case letters, digits and underscores, at most 63", ErrInvalid, src.SlotName)
	}
	if err := t.checkNew(tlid); err != nil {
		return nil, err
	}
	st := timelineState{ConnString: src.ConnString, SlotName: src.SlotName}
	var tl *timeline.Timeline
	var err error
	if src.TarPath != "" {
		st.StartLSN, st.MinReadableLSN = src.TarLSN, max(src.TarLSN, src.TarEndLSN)
		tl, err = t.eng.CreateTimeline(ctx, tlid, src.TarLSN, 15, func(ctx context.Context, tl *timeline.Timeline) error {
			f, err := os.Open(src.TarPath)
			if err != nil {
				return fmt.Errorf("open base backup tar: %w", err)
			}
			defer f.Close()
			if err := importAt(ctx, tl, f, src.TarLSN); err != nil {
				return err
			}
			return writeState(t.m.fs, t.dir, tlid, st)
		})
	} else {
		tl, err = t.createFromPG(ctx, tlid, &st)
	}
	if err != nil {
		return nil, fmt.Errorf("create timeline %s: %w", tlid, err)
	}
	w := t.wrap(tl)
	w.setState(st)
	t.m.log.Info("root timeline created", "tenant_id", t.id.String(), "timeline_id", tlid.String(),
		"initdb_lsn", tl.InitDBLSN().String(), "min_readable_lsn", st.MinReadableLSN.String())
	t.startReceiver(w)
	return w, nil
}

func (t *Tenant) createFromPG(ctx context.Context, tlid id.ID, st *timelineState) (*timeline.Timeline, error) {
	conn, err := walreceiver.Connect(ctx, st.ConnString, 0)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The slot first: it keeps the WAL from before the backup's start.
	created, err := walreceiver.EnsureSlot(ctx, conn, st.SlotName)
	if err != nil {
		return nil, err
	}
	tl, err := t.importFromPG(ctx, conn, tlid, st)
	if err != nil && created {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := walreceiver.DropSlot(dctx, st.ConnString, st.SlotName); derr != nil {
			t.m.log.Warn("drop replication slot after failed import", "tenant_id", t.id.String(), "timeline_id", tlid.String(), "slot", st.SlotName, "err", derr)
		}
	}
	return tl, err
}

func (t *Tenant) importFromPG(ctx context.Context, conn *pgconn.PgConn, tlid id.ID, st *timelineState) (*timeline.Timeline, error) {
	bb, err := walreceiver.StartBaseBackup(ctx, conn, "strata "+tlid.String())
	if err != nil {
		return nil, err
	}
	st.StartLSN = bb.Start
	return t.eng.CreateTimeline(ctx, tlid, bb.Start, 15, func(ctx context.Context, tl *timeline.Timeline) error {
		pr, pw := io.Pipe()
		type result struct {
			end lsn.LSN
			err error
		}
		done := make(chan result, 1)
		go func() {
			end, err := bb.Stream(ctx, pw)
			pw.CloseWithError(err)
			done <- result{end, err}
		}()
		ierr := importAt(ctx, tl, pr, bb.Start)
		if ierr != nil {
			pr.CloseWithError(ierr)
		} else {
			_, _ = io.Copy(io.Discard, pr)
		}
		res := <-done
		if ierr != nil {
			return ierr
		}
		if res.err != nil {
			return res.err
		}
		st.MinReadableLSN = res.end
		return writeState(t.m.fs, t.dir, tlid, *st)
	})
}

// importAt imports a data directory tar at at and flushes it.
func importAt(ctx context.Context, tl *timeline.Timeline, r io.Reader, at lsn.LSN) error {
	w := tl.Writer()
	_, err := datadir.ImportTar(ctx, r, at, w)
	if err == nil {
		err = w.FinishWrite(at)
	}
	w.Close()
	if err != nil {
		return fmt.Errorf("import base backup at %s: %w", at, err)
	}
	if err := tl.FreezeAndFlush(ctx); err != nil {
		return fmt.Errorf("flush imported base backup: %w", err)
	}
	return nil
}

// CreateBranch creates a branch of ancestor at at (Invalid: the ancestor's
// last record). The branch inherits the ancestor's minimum readable LSN.
func (t *Tenant) CreateBranch(ctx context.Context, tlid, ancestor id.ID, at lsn.LSN) (*Timeline, error) {
	if err := t.checkNew(tlid); err != nil {
		return nil, err
	}
	anc, err := t.Timeline(ancestor)
	if err != nil {
		return nil, fmt.Errorf("ancestor: %w", err)
	}
	ast := anc.state()
	if at == lsn.Invalid {
		at = anc.TL.LastRecordLSN()
	}
	if at.Align() < ast.MinReadableLSN {
		return nil, fmt.Errorf("%w: branch LSN %s is below the ancestor's minimum readable LSN %s (the end of its initial base backup)", ErrInvalid, at, ast.MinReadableLSN)
	}
	tl, err := t.eng.CreateBranch(ctx, tlid, ancestor, at)
	if err != nil {
		if errors.Is(err, timeline.ErrInvalidLSN) || errors.Is(err, timeline.ErrGCCutoff) {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return nil, err
	}
	st := timelineState{MinReadableLSN: ast.MinReadableLSN}
	if err := writeState(t.m.fs, t.dir, tlid, st); err != nil {
		return nil, err
	}
	w := t.wrap(tl)
	w.setState(st)
	t.m.log.Info("branch created", "tenant_id", t.id.String(), "timeline_id", tlid.String(), "ancestor", ancestor.String(), "lsn", tl.AncestorLSN().String())
	return w, nil
}

// SetWALSource attaches a WAL source to a timeline and (re)starts its
// receiver; an empty connstr detaches the source. A timeline that has ingested nothing since it was created at X
// streams from startwal.Place(X): the first record of a PostgreSQL started
// from Strata's basebackup at X.
func (t *Tenant) SetWALSource(ctx context.Context, tlid id.ID, connstr, slot string) (*Timeline, error) {
	w, err := t.Timeline(tlid)
	if err != nil {
		return nil, err
	}
	if connstr == "" {
		w.stopReceiver()
		st := w.state()
		st.ConnString, st.SlotName = "", ""
		if err := writeState(t.m.fs, t.dir, tlid, st); err != nil {
			return nil, err
		}
		w.setState(st)
		t.m.log.Info("WAL source detached", "tenant_id", t.id.String(), "timeline_id", tlid.String())
		return w, nil
	}
	if slot == "" {
		slot = defaultSlot(tlid)
	}
	if !walreceiver.ValidSlotName(slot) {
		return nil, fmt.Errorf("%w: slot_name %q: only lower-case letters, digits and underscores, at most 63", ErrInvalid, slot)
	}
	w.stopReceiver()
	st := w.state()
	st.ConnString, st.SlotName = connstr, slot
	tip := w.TL.LastRecordLSN()
	if w.TL.AncestorLSN() != lsn.Invalid && tip == w.TL.AncestorLSN() {
		st.StartLSN = startwal.Place(tip)
	}
	if err := writeState(t.m.fs, t.dir, tlid, st); err != nil {
		return nil, err
	}
	w.setState(st)
	t.startReceiver(w)
	return w, nil
}

func (t *Tenant) checkNew(tlid id.ID) error {
	select {
	case <-t.loaded:
	default:
		return fmt.Errorf("tenant %s is loading: %w", t.id, ErrNotActive)
	}
	if s, _ := t.eng.State(); s != enginetenant.Active {
		return fmt.Errorf("tenant %s is %s: %w", t.id, s, ErrNotActive)
	}
	if _, err := t.eng.Timeline(tlid); err == nil {
		return fmt.Errorf("timeline %s: %w", tlid, ErrExists)
	}
	return nil
}

func (t *Tenant) startReceiver(w *Timeline) {
	st := w.state()
	if st.ConnString == "" {
		return
	}
	if s, _ := w.TL.State(); s == timeline.Broken {
		return
	}
	r := walreceiver.New(walreceiver.Config{
		Tenant: t.id, Timeline: w.TL.ID(), ConnString: st.ConnString, SlotName: st.SlotName, StartLSN: st.StartLSN,
		ConnectTimeout: parseDur(Effective(t.Conf()).WalreceiverConnectTimeout),
	}, w.TL, t.m.log, t.m.met)
	ctx, cancel := context.WithCancel(t.m.ctx)
	done := make(chan struct{})
	w.mu.Lock()
	w.recv, w.cancel, w.done = r, cancel, done
	w.mu.Unlock()
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
}

func defaultSlot(tlid id.ID) string { return "strata_" + strings.ToLower(tlid.String()) }

// SetConf validates and persists new config overrides. The WAL receiver
// settings apply to receivers started from now on and the checkpoint
// settings to timelines opened from now on (at the next load); the rest are
// read by their users when they run.
func (t *Tenant) SetConf(conf *pagev1.TenantConfig) error {
	if conf == nil {
		conf = &pagev1.TenantConfig{}
	}
	if err := ValidateConf(conf); err != nil {
		return fmt.Errorf("tenant config: %w: %v", ErrInvalid, err)
	}
	select {
	case <-t.loaded:
	default:
		return fmt.Errorf("tenant %s is loading: %w", t.id, ErrNotActive)
	}
	raw, err := encodeConf(conf)
	if err != nil {
		return fmt.Errorf("encode tenant config: %w", err)
	}
	if err := vfs.WriteFileAtomic(t.m.fs, filepath.Join(t.dir, "config"), raw); err != nil {
		return fmt.Errorf("write tenant config: %w", err)
	}
	t.mu.Lock()
	t.conf = conf
	t.mu.Unlock()
	return nil
}
