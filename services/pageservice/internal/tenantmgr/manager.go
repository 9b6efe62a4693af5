// Package tenantmgr holds the tenants of a page-service node: their
// directories, configs, engine tenants and timelines, and the WAL receivers
// of those timelines.
//
// Directory layout under Config.Dir (the node's tenants/ directory):
//
//	<tenant id>/config                 tenant config overrides (JSON TenantConfig)
//	<tenant id>/timelines/...          engine timelines (package timeline)
//	<tenant id>/sources/<tl id>.json   page-service state of a timeline: WAL source
//	                                   (connection string, slot), start and minimum
//	                                   readable LSNs; mode 0600 (it may hold a password)
//	<tenant id>.___temp/               a tenant being created (removed at startup)
//
// Tenant creation builds <id>.___temp with config and timelines/, fsyncs it and
// renames it into place, so a crash leaves no half-made tenant. Start loads
// every tenant in the background (the API is up first): a tenant is Loading
// until loaded, then Active; one whose files cannot be read is Broken with a
// reason, and others are not affected.
//
// Safe for concurrent use.
package tenantmgr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratadb/strata/libs/engine/id"
	enginetenant "github.com/stratadb/strata/libs/engine/tenant"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/engine/vfs"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/services/pageservice/internal/walreceiver"
)

// Errors of the tenant manager; page-service maps them to codes.
var (
	ErrTenantNotFound   = errors.New("tenant not found")
	ErrTimelineNotFound = errors.New("timeline not found")
	ErrExists           = errors.New("already exists")
	ErrInvalid          = errors.New("invalid argument")
	ErrNotActive        = errors.New("tenant is not active")
)

const tempSuffix = ".___temp"

// Config of the manager.
type Config struct {
	// Dir is the node's tenants directory.
	Dir string
	// WaitLSNTimeout bounds reads waiting for WAL (0: 60 s).
	WaitLSNTimeout time.Duration
	// ActivateTimeout bounds how long a read waits for a Loading tenant (0: 30 s).
	ActivateTimeout time.Duration
}

// Deps of the manager.
type Deps struct {
	Logger *slog.Logger
	// NewRedoer returns the redoer of a tenant's timelines (required).
	NewRedoer func(tenant id.ID) timeline.Redoer
	Registry  prometheus.Registerer
}

// Manager is the set of tenants of this node.
type Manager struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	met  *walreceiver.Metrics
	fs   vfs.FS

	mu      sync.Mutex
	tenants map[id.ID]*Tenant
	ctx     context.Context // background work; set by Start
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a manager; call Start to load the tenants on disk.
func New(cfg Config, deps Deps) *Manager {
	if cfg.WaitLSNTimeout <= 0 {
		cfg.WaitLSNTimeout = 60 * time.Second
	}
	if cfg.ActivateTimeout <= 0 {
		cfg.ActivateTimeout = 30 * time.Second
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return &Manager{cfg: cfg, deps: deps, log: deps.Logger.With("component", "tenantmgr"),
		met: walreceiver.NewMetrics(deps.Registry), fs: vfs.Default(), tenants: map[id.ID]*Tenant{}, ctx: context.Background()}
}

// Start creates the tenants directory, registers every tenant found there as
// Loading and loads them in the background. Background work (loading, WAL
// receivers, flush loops) runs until Shutdown; ctx only bounds the start.
func (m *Manager) Start(ctx context.Context) error {
	if err := vfs.MkdirAllDurable(m.fs, m.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("create tenants directory %s: %w", m.cfg.Dir, err)
	}
	entries, err := os.ReadDir(m.cfg.Dir)
	if err != nil {
		return fmt.Errorf("read tenants directory %s: %w", m.cfg.Dir, err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.mu.Lock()
	m.ctx = bg
	m.cancel = cancel
	var toLoad []*Tenant
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, tempSuffix) {
			if err := os.RemoveAll(filepath.Join(m.cfg.Dir, name)); err != nil {
				m.log.Warn("remove half-created tenant", "dir", name, "err", err)
			}
			continue
		}
		tid, err := id.Parse(name)
		if err != nil || !e.IsDir() {
			m.log.Warn("ignoring unexpected entry in tenants directory", "name", name)
			continue
		}
		t := newTenant(m, tid)
		m.tenants[tid] = t
		toLoad = append(toLoad, t)
	}
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for _, t := range toLoad {
			t.load(bg)
		}
	}()
	return nil
}

// Shutdown stops every WAL receiver, flushes and shuts down every tenant.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	if m.cancel != nil {
		m.cancel()
	}
	ts := make([]*Tenant, 0, len(m.tenants))
	for _, t := range m.tenants {
		ts = append(ts, t)
	}
	m.mu.Unlock()
	m.wg.Wait()
	var errs []error
	for _, t := range ts {
		if err := t.shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down tenant %s: %w", t.id, err))
		}
	}
	return errors.Join(errs...)
}

// List returns every tenant sorted by id.
func (m *Manager) List() []*Tenant {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*Tenant, 0, len(m.tenants))
	for _, t := range m.tenants {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Tenant) int { return strings.Compare(a.id.String(), b.id.String()) })
	return out
}

// Get returns a tenant in any state.
func (m *Manager) Get(tid id.ID) (*Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tenants[tid]
	if !ok {
		return nil, fmt.Errorf("tenant %s: %w", tid, ErrTenantNotFound)
	}
	return t, nil
}

// Active returns an Active tenant, waiting up to ActivateTimeout for one
// that is still loading.
func (m *Manager) Active(ctx context.Context, tid id.ID) (*Tenant, error) {
	t, err := m.Get(tid)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.ActivateTimeout)
	defer cancel()
	select {
	case <-t.loaded:
	case <-ctx.Done():
		return nil, fmt.Errorf("tenant %s is still loading: %w", tid, ErrNotActive)
	}
	if err := t.eng.WaitUntilActive(ctx); err != nil {
		return nil, fmt.Errorf("tenant %s: %w: %v", tid, ErrNotActive, err)
	}
	return t, nil
}

// Create creates a tenant with config overrides conf and activates it.
func (m *Manager) Create(ctx context.Context, tid id.ID, conf *pagev1.TenantConfig) (*Tenant, error) {
	if conf == nil {
		conf = &pagev1.TenantConfig{}
	}
	if err := ValidateConf(conf); err != nil {
		return nil, fmt.Errorf("tenant config: %w: %v", ErrInvalid, err)
	}
	raw, err := encodeConf(conf)
	if err != nil {
		return nil, fmt.Errorf("encode tenant config: %w", err)
	}
	m.mu.Lock()
	if _, ok := m.tenants[tid]; ok {
		m.mu.Unlock()
		return nil, fmt.Errorf("tenant %s: %w", tid, ErrExists)
	}
	t := newTenant(m, tid)
	m.tenants[tid] = t
	m.mu.Unlock()
	if err := m.createDir(tid, raw); err != nil {
		m.mu.Lock()
		delete(m.tenants, tid)
		m.mu.Unlock()
		return nil, err
	}
	t.conf = conf
	t.eng = enginetenant.New(m.fs, t.dir, tid, enginetenant.Loading, timelineOptions(conf, m.cfg.WaitLSNTimeout), t.timelineDeps())
	err = t.eng.Activate()
	close(t.loaded)
	if err != nil {
		return nil, fmt.Errorf("activate tenant %s: %w", tid, err)
	}
	m.log.Info("tenant created", "tenant_id", tid.String())
	return t, nil
}

func (m *Manager) createDir(tid id.ID, conf []byte) error {
	final := filepath.Join(m.cfg.Dir, tid.String())
	if _, err := os.Stat(final); err == nil {
		return fmt.Errorf("tenant %s: directory exists: %w", tid, ErrExists)
	}
	tmp := final + tempSuffix
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("create tenant %s: %w", tid, err)
	}
	if err := vfs.MkdirAllDurable(m.fs, filepath.Join(tmp, "timelines"), 0o755); err != nil {
		return fmt.Errorf("create tenant %s: %w", tid, err)
	}
	if err := vfs.WriteFileAtomic(m.fs, filepath.Join(tmp, "config"), conf); err != nil {
		return fmt.Errorf("create tenant %s: write config: %w", tid, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("create tenant %s: %w", tid, err)
	}
	if err := syncDir(m.cfg.Dir); err != nil {
		return fmt.Errorf("create tenant %s: %w", tid, err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
