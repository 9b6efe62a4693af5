// Package pool runs walredo-pool's redo worker processes and sends them redo
// requests.
//
// A Pool has Config.Workers slots. A slot holds at most one worker process,
// launched lazily by the first request that gets the slot, and serves one
// request at a time. Every process the pool starts is wrapped so that it is
// always killed and reaped (SIGKILL, then wait), whatever happens:
//
//	              launch (pipes, start, hello within launch_timeout)
//	empty slot ──────────────────────────────────────────────► running
//	    ▲              │ hello missing/garbled: kill+wait          │
//	    │              ▼                                           │
//	    ├───────── launch failed                                   │
//	    │                                                          │
//	    │  kill+wait on: dead worker (EOF, broken pipe, garbage),  │
//	    │  timeout (wal_redo_timeout), caller canceled,            │
//	    │  idle longer than idle_timeout (stdin closed first),     │
//	    └─ pool Close (mid-request too) ◄──────────────────────────┘
//
// A request whose worker died (EOF, broken pipe, garbage output) is retried
// once on a freshly launched worker; a timeout, a cancellation or an error
// the worker reports (a record that cannot be applied) is not retried.
//
// Workers get the least privilege available: an empty environment, "/" as
// working directory, only stdin, stdout and stderr open (Go opens every other
// descriptor close-on-exec, and the worker closes any inherited descriptor
// that is not), their own process group, SIGKILL when the pool's process
// dies (Pdeathsig; Linux ties it to the forking thread, and Go only ends a
// thread whose goroutine exits while locked to it, which the pool never
// does), and, when the pool runs as root and Config.User is set, that user's
// uid and gid with no supplementary groups.
//
// The pool never logs a request's failure (the caller gets it); it logs what
// workers write to stderr (WARN) and a failed wait (ERROR).
//
// Each slot serializes requests into one reused buffer, so a steady stream of
// requests allocates nothing in the pool (see BenchmarkPoolOneRecord).
//
// Concurrency: Redo may be called from many goroutines; Close once from any.
package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/services/walredopool/internal/wire"
)

// Errors of Redo. Use errors.Is.
var (
	// ErrClosed: the pool is closed (or closed during the request).
	ErrClosed = errors.New("walredo pool is closed")
	// ErrTimeout: the worker did not answer within wal_redo_timeout; it was
	// killed.
	ErrTimeout = errors.New("wal redo timed out")
	// ErrRedo: the worker could not apply the records (the message says
	// why). Retrying the same input fails the same way.
	ErrRedo = errors.New("wal redo failed")
	// ErrBadRequest: the request cannot be encoded or the worker refused its
	// payload.
	ErrBadRequest = errors.New("bad redo request")
	// ErrWorkerDied: the worker died or answered garbage, twice.
	ErrWorkerDied = errors.New("redo worker died")
	// ErrLaunch: a worker process could not be started.
	ErrLaunch = errors.New("launch redo worker")
)

// Config configures a Pool.
type Config struct {
	// Workers is the number of worker processes (slots), at least 1.
	Workers int
	// Timeout bounds one request's exchange with its worker
	// (wal_redo_timeout); the worker is killed when it passes.
	Timeout time.Duration
	// IdleTimeout stops a worker that served no request for this long; 0
	// keeps workers until Close.
	IdleTimeout time.Duration
	// LaunchTimeout bounds the wait for a new worker's hello.
	LaunchTimeout time.Duration
	// Command is the worker's argv; Command[0] is its path (looked up in
	// PATH when it has no slash).
	Command []string
	// User is the user workers run as when the pool runs as root ("" keeps
	// root).
	User string
}

// Deps are the pool's collaborators.
type Deps struct {
	Logger  *slog.Logger // nil: slog.Default()
	Metrics *Metrics     // nil: NewMetrics(nil)
}

// Request is one redo request. Base is nil when the first record
// initializes the page.
type Request struct {
	Key     key.Key
	LSN     lsn.LSN
	Base    []byte
	Records []Record
}

// Record is one WAL record of a request.
type Record = wire.Record

// Record kinds.
const (
	RecordStrata   = wire.RecordStrata
	RecordPostgres = wire.RecordPostgres
)

// Stats are counters for the status API.
type Stats struct {
	Workers, Alive, Busy         int
	Requests, Failures, Replaced uint64
	LastRedo                     time.Time
}

// Pool is a set of redo worker processes. Create it with New; Close it.
type Pool struct {
	cfg     Config
	path    string
	copyDir string // private copy of the worker binary, removed by Close; "" if none
	attr    *syscall.SysProcAttr
	log     *slog.Logger
	m       *Metrics

	free  chan *slot
	done  chan struct{}
	once  sync.Once
	loops sync.WaitGroup

	mu     sync.Mutex
	closed bool
	live   map[*proc]struct{}

	busy, requests, failures, replaced atomic.Int64
	lastRedo                           atomic.Int64 // unix nanos
}

// slot is one worker position. Only the goroutine that took it from
// Pool.free touches it.
type slot struct {
	proc     *proc
	lastUsed time.Time
	nextID   uint64
	buf      []byte // request serialization buffer, reused
}

// maxKeptBuffer is the largest request buffer a slot keeps for the next
// request; a bigger one (a rare huge chain) is dropped after use.
const maxKeptBuffer = 4 << 20

// New checks cfg and builds a pool. No worker starts until the first
// request.
func New(cfg Config, deps Deps) (*Pool, error) {
	if cfg.Workers < 1 || cfg.Timeout <= 0 || cfg.LaunchTimeout <= 0 || cfg.IdleTimeout < 0 || len(cfg.Command) == 0 {
		return nil, fmt.Errorf("walredo pool config: need workers >= 1, positive timeouts and a command (got %+v)", cfg)
	}
	path, err := exec.LookPath(cfg.Command[0])
	if err != nil {
		return nil, fmt.Errorf("walredo pool worker command: %w", err)
	}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	var copyDir string
	if cfg.User != "" && os.Geteuid() == 0 {
		cred, err := credential(cfg.User)
		if err != nil {
			return nil, err
		}
		attr.Credential = cred
		if !othersCanExec(path) {
			// e.g. a checkout under /root: the worker user cannot reach the
			// binary, so the workers run a private copy it can execute.
			if copyDir, path, err = copyForOthers(path); err != nil {
				return nil, fmt.Errorf("walredo pool: worker user %s cannot execute %s, and copying it failed: %w", cfg.User, cfg.Command[0], err)
			}
			log.Info("worker binary copied where the worker user can execute it", "user", cfg.User, "path", path)
		}
	}
	p := &Pool{
		cfg: cfg, path: path, attr: attr, log: log, m: deps.Metrics, copyDir: copyDir,
		free: make(chan *slot, cfg.Workers), done: make(chan struct{}), live: map[*proc]struct{}{},
	}
	if p.m == nil {
		p.m = NewMetrics(nil)
	}
	for range cfg.Workers {
		p.free <- &slot{buf: make([]byte, 0, 3*wire.PageSize)}
	}
	if cfg.IdleTimeout > 0 {
		p.loops.Add(1)
		go p.quiesceLoop()
	}
	return p, nil
}

func credential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("walredo worker user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("walredo worker user %q: %w", name, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// Redo applies req's records to its base image on a worker and returns the
// page, written into dst (reused when its capacity is at least 8192 bytes).
func (p *Pool) Redo(ctx context.Context, dst []byte, req *Request) ([]byte, error) {
	start := time.Now()
	page, err := p.redo(ctx, dst, req, start)
	p.m.redoSeconds.Observe(time.Since(start).Seconds())
	p.requests.Add(1)
	if err != nil {
		p.failures.Add(1)
		p.m.failures[classify(err)].Inc()
	}
	return page, err
}

func (p *Pool) redo(ctx context.Context, dst []byte, req *Request, start time.Time) ([]byte, error) {
	n := 0
	for i := range req.Records {
		n += len(req.Records[i].Data)
	}
	p.m.records.Observe(float64(len(req.Records)))
	p.m.bytes.Observe(float64(n))
	s, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	p.m.waitSeconds.Observe(time.Since(start).Seconds())
	p.m.busy.Inc()
	p.busy.Add(1)
	defer func() {
		p.busy.Add(-1)
		p.m.busy.Dec()
		p.free <- s
	}()
	page, err := p.redoOn(ctx, s, dst, req)
	if errors.Is(err, ErrWorkerDied) && ctx.Err() == nil && !p.isClosed() {
		p.m.retries.Inc()
		page, err = p.redoOn(ctx, s, dst, req)
	}
	if err == nil {
		s.lastUsed = time.Now()
		p.lastRedo.Store(s.lastUsed.UnixNano())
	}
	return page, err
}

// acquire takes a free slot, waiting for one.
func (p *Pool) acquire(ctx context.Context) (*slot, error) {
	select {
	case <-p.done:
		return nil, ErrClosed
	case s := <-p.free:
		if p.isClosed() {
			p.free <- s
			return nil, ErrClosed
		}
		return s, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a redo worker: %w", context.Cause(ctx))
	}
}

// redoOn serves req on slot s, launching its worker if needed. A failure
// that leaves the worker in an unknown state kills it.
func (p *Pool) redoOn(ctx context.Context, s *slot, dst []byte, req *Request) ([]byte, error) {
	if s.proc == nil {
		pr, err := p.launch(ctx)
		if err != nil {
			return nil, err
		}
		s.proc, s.lastUsed = pr, time.Now()
	}
	s.nextID++
	buf, err := wire.AppendRedo(s.buf[:0], s.nextID, req.Key, req.LSN, req.Base, req.Records)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if cap(buf) <= maxKeptBuffer {
		s.buf = buf[:0]
	} else {
		s.buf = make([]byte, 0, 3*wire.PageSize)
	}
	page, err := s.proc.roundTrip(ctx, buf, s.nextID, dst, p.cfg.Timeout)
	if err == nil || errors.Is(err, ErrRedo) || errors.Is(err, ErrBadRequest) {
		return page, err
	}
	reason := ReasonError
	switch {
	case p.isClosed():
		reason, err = ReasonShutdown, fmt.Errorf("%w (during redo: %v)", ErrClosed, err)
	case errors.Is(err, ErrTimeout):
		reason = ReasonTimeout
	case ctx.Err() != nil:
		reason = ReasonCanceled
	}
	p.retire(s.proc, reason)
	s.proc = nil
	return nil, err
}

// Close stops every worker, killing those serving a request (their callers
// get ErrClosed), reaps them all, and returns once no worker process is left.
func (p *Pool) Close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		live := make([]*proc, 0, len(p.live))
		for pr := range p.live {
			live = append(live, pr)
		}
		p.mu.Unlock()
		close(p.done)
		for _, pr := range live {
			pr.kill()
		}
		for range p.cfg.Workers {
			s := <-p.free
			if s.proc != nil {
				p.retire(s.proc, ReasonShutdown)
				s.proc = nil
			}
		}
		p.loops.Wait()
		if p.copyDir != "" {
			if err := os.RemoveAll(p.copyDir); err != nil {
				p.log.Warn("remove the worker binary copy", "dir", p.copyDir, "err", err)
			}
		}
	})
}

func (p *Pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// PIDs returns the process ids of the live workers, sorted.
func (p *Pool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	pids := make([]int, 0, len(p.live))
	for pr := range p.live {
		pids = append(pids, pr.pid)
	}
	slices.Sort(pids)
	return pids
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	alive := len(p.live)
	p.mu.Unlock()
	st := Stats{
		Workers: p.cfg.Workers, Alive: alive, Busy: int(p.busy.Load()),
		Requests: uint64(p.requests.Load()), Failures: uint64(p.failures.Load()), Replaced: uint64(p.replaced.Load()),
	}
	if t := p.lastRedo.Load(); t != 0 {
		st.LastRedo = time.Unix(0, t)
	}
	return st
}

// quiesceLoop stops workers idle for longer than IdleTimeout until the pool
// closes.
func (p *Pool) quiesceLoop() {
	defer p.loops.Done()
	every := min(max(p.cfg.IdleTimeout/2, time.Millisecond), 10*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case now := <-t.C:
			p.quiesce(now)
		}
	}
}

// quiesce visits each free slot once and stops its worker if it is idle.
func (p *Pool) quiesce(now time.Time) {
	for range len(p.free) {
		select {
		case s := <-p.free:
			if s.proc != nil && now.Sub(s.lastUsed) >= p.cfg.IdleTimeout && !p.isClosed() {
				p.retire(s.proc, ReasonIdle)
				s.proc = nil
			}
			p.free <- s
		default:
			return
		}
	}
}

func classify(err error) string {
	switch {
	case errors.Is(err, ErrClosed):
		return classClosed
	case errors.Is(err, ErrRedo):
		return classRedo
	case errors.Is(err, ErrBadRequest):
		return classBad
	case errors.Is(err, ErrTimeout):
		return classTimeout
	case errors.Is(err, ErrLaunch):
		return classLaunch
	case errors.Is(err, ErrWorkerDied):
		return classDead
	}
	return classCanceled
}
