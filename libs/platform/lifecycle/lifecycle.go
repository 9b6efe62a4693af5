// Package lifecycle runs a service as an ordered list of components, each
// moving through the states
//
//	New ──Start──► Starting ──► Running ──stop──► Stopping ──► Terminated
//	                  │            │                  │
//	                  └────────────┴──── error ───────┴──────► Failed
//
// Run starts the components in order (each Start must return before the next
// begins), then runs them all until the context ends (SIGTERM/SIGINT in
// Main), or the first component fails. It then stops them in reverse order,
// each within the drain timeout, and returns the first failure.
//
// Ownership: every component's Run gets its own context, cancelled when that
// component is stopped; Run waits for every Run goroutine before returning, so
// no goroutine outlives it.
//
// Usage in cmd/<service>/main.go:
//
//	func main() {
//		lifecycle.Main(func(ctx context.Context) error {
//			svc, err := pageservice.New(cfg, deps)
//			if err != nil {
//				return err
//			}
//			return lifecycle.Run(ctx, adminServer, grpcServer, svc)
//		})
//	}
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// State is a component's lifecycle state.
type State int

// Component states, in the order a healthy component goes through them.
const (
	New State = iota
	Starting
	Running
	Stopping
	Terminated
	Failed
)

func (s State) String() string {
	switch s {
	case New:
		return "new"
	case Starting:
		return "starting"
	case Running:
		return "running"
	case Stopping:
		return "stopping"
	case Terminated:
		return "terminated"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Component is one named part of a service.
//
// Start prepares it (open listeners, connect to peers) and returns once the
// component can run; Run blocks until its context is cancelled (then it
// returns nil) or it fails (returning before cancellation counts as failure,
// even with a nil error); Stop releases what Start acquired, honouring the
// deadline of its context (the drain timeout). Stop is called only after a
// successful Start, and is called even when Run failed.
type Component interface {
	Name() string
	Start(ctx context.Context) error
	Run(ctx context.Context) error
	Stop(ctx context.Context) error
}

// Funcs builds a Component from functions; nil functions do nothing (a nil
// RunFn waits for cancellation).
type Funcs struct {
	ComponentName string
	StartFn       func(ctx context.Context) error
	RunFn         func(ctx context.Context) error
	StopFn        func(ctx context.Context) error
}

// Name implements Component.
func (f Funcs) Name() string { return f.ComponentName }

// Start implements Component.
func (f Funcs) Start(ctx context.Context) error {
	if f.StartFn == nil {
		return nil
	}
	return f.StartFn(ctx)
}

// Run implements Component.
func (f Funcs) Run(ctx context.Context) error {
	if f.RunFn == nil {
		<-ctx.Done()
		return nil
	}
	return f.RunFn(ctx)
}

// Stop implements Component.
func (f Funcs) Stop(ctx context.Context) error {
	if f.StopFn == nil {
		return nil
	}
	return f.StopFn(ctx)
}

// Loop returns a component whose Run is fn: a background loop that ends
// when its context ends.
func Loop(name string, fn func(ctx context.Context) error) Component {
	return Funcs{ComponentName: name, RunFn: fn}
}

// DefaultDrainTimeout bounds each component's Stop when Runner.DrainTimeout is zero.
const DefaultDrainTimeout = 30 * time.Second

// Runner runs components. The zero value is usable: default drain timeout,
// slog.Default logger, no status tracking.
type Runner struct {
	// DrainTimeout bounds Stop (and waiting for Run to return) per component.
	DrainTimeout time.Duration
	// Logger receives state changes; nil means slog.Default().
	Logger *slog.Logger
	// Status, when non-nil, tracks every component's state (for /readyz).
	Status *Status
}

// Run runs components with a zero Runner; see Runner.Run.
func Run(ctx context.Context, components ...Component) error {
	return Runner{}.Run(ctx, components...)
}

// Run starts the components in order, runs them until ctx ends, SIGTERM or
// SIGINT arrives, or one fails, then stops them in reverse order. It returns
// nil after a clean stop, or the first failure joined with any stop errors.
func (r Runner) Run(ctx context.Context, components ...Component) error {
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	drain := r.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	st := r.Status
	if st == nil {
		st = &Status{}
	}
	for _, c := range components {
		st.set(c.Name(), New)
	}
	ctx, stopSignals := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stopSignals()

	type running struct {
		c      Component
		cancel context.CancelFunc
		done   chan struct{}
		err    error // set before done is closed
	}
	var started []*running
	failed := make(chan string, len(components))
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err }) }

	for _, c := range components {
		if ctx.Err() != nil {
			break
		}
		st.set(c.Name(), Starting)
		log.Info("component starting", "component", c.Name())
		if err := c.Start(ctx); err != nil {
			st.set(c.Name(), Failed)
			fail(fmt.Errorf("start %s: %w", c.Name(), err))
			break
		}
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		rc := &running{c: c, cancel: cancel, done: make(chan struct{})}
		started = append(started, rc)
		st.set(c.Name(), Running)
		go func() {
			defer close(rc.done)
			err := c.Run(runCtx)
			if runCtx.Err() == nil {
				if err == nil {
					err = errors.New("stopped unexpectedly")
				}
				rc.err = fmt.Errorf("run %s: %w", c.Name(), err)
				failed <- c.Name()
			} else if err != nil && !errors.Is(err, context.Canceled) {
				rc.err = fmt.Errorf("run %s: %w", c.Name(), err)
			}
		}()
		log.Info("component running", "component", c.Name())
	}

	if firstErr == nil {
		select {
		case <-ctx.Done():
			log.Info("stopping", "reason", context.Cause(ctx))
		case name := <-failed:
			for _, rc := range started {
				if rc.c.Name() == name {
					<-rc.done
					fail(rc.err)
					st.set(name, Failed)
				}
			}
			log.Error("component failed, stopping", "component", name, "err", firstErr)
		}
	}

	var stopErrs []error
	for i := len(started) - 1; i >= 0; i-- {
		rc := started[i]
		name := rc.c.Name()
		if st.State(name) != Failed {
			st.set(name, Stopping)
		}
		log.Info("component stopping", "component", name)
		rc.cancel()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
		err := rc.c.Stop(dctx)
		if err != nil {
			err = fmt.Errorf("stop %s: %w", name, err)
		}
		select {
		case <-rc.done:
		case <-dctx.Done():
			err = errors.Join(err, fmt.Errorf("stop %s: run did not return within drain timeout %s", name, drain))
		}
		cancel()
		if rc.err != nil && firstErr == nil {
			// Failed while we were stopping for another reason.
			fail(rc.err)
		}
		switch {
		case err != nil:
			stopErrs = append(stopErrs, err)
			st.set(name, Failed)
		case st.State(name) != Failed:
			st.set(name, Terminated)
		}
		log.Info("component stopped", "component", name, "state", st.State(name).String())
	}
	if firstErr == nil && len(stopErrs) == 0 {
		return nil
	}
	return errors.Join(append([]error{firstErr}, stopErrs...)...)
}

// Status records the state of each component of a Runner. It is safe for
// concurrent use; the zero value is ready to use.
type Status struct {
	mu     sync.Mutex
	order  []string
	states map[string]State
}

func (s *Status) set(name string, state State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.states == nil {
		s.states = make(map[string]State)
	}
	if _, ok := s.states[name]; !ok {
		s.order = append(s.order, name)
	}
	s.states[name] = state
}

// State returns the state of the named component (New if unknown).
func (s *Status) State(name string) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.states[name]
}

// Ready returns nil when every known component is Running, otherwise an error
// naming those that are not. A Status with no components is not ready.
func (s *Status) Ready(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.order) == 0 {
		return errors.New("no components")
	}
	var errs []error
	for _, name := range s.order {
		if st := s.states[name]; st != Running {
			errs = append(errs, fmt.Errorf("%s is %s", name, st))
		}
	}
	return errors.Join(errs...)
}

// Main runs fn with a context cancelled on SIGTERM or SIGINT, and exits the
// process with status 1 (after logging the error with slog.Default) when fn
// fails. It is the body of every cmd/<service>/main.go.
func Main(fn func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := fn(ctx)
	stop()
	if err != nil {
		slog.Default().Error("exiting", "err", err)
		os.Exit(1)
	}
}
