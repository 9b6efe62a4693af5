package tenant

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// State is the lifecycle state of a tenant. See the package documentation for
// the transitions.
type State uint8

// Tenant states.
const (
	// Loading: local files are being loaded.
	Loading State = iota
	// Attaching: the tenant is being downloaded from remote storage.
	Attaching
	// Active: serving; background loops run.
	Active
	// Stopping: shutting down or detaching. One-way.
	Stopping
	// Broken: unusable, with a reason. Sticky.
	Broken
)

// String returns the state's name as the API reports it.
func (s State) String() string {
	switch s {
	case Loading:
		return "Loading"
	case Attaching:
		return "Attaching"
	case Active:
		return "Active"
	case Stopping:
		return "Stopping"
	case Broken:
		return "Broken"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// ParseState reads a state name; "Paused", the name Neon used before it was
// renamed Stopping, is accepted as an alias.
func ParseState(s string) (State, error) {
	for st := Loading; st <= Broken; st++ {
		if st.String() == s {
			return st, nil
		}
	}
	if s == "Paused" {
		return Stopping, nil
	}
	return 0, fmt.Errorf("unknown tenant state %q", s)
}

// HasInProgressDownloads reports whether the state still loads or downloads data.
func (s State) HasInProgressDownloads() bool { return s == Loading || s == Attaching }

var (
	// ErrInvalidTransition is wrapped by errors for transitions the state
	// machine forbids.
	ErrInvalidTransition = errors.New("invalid tenant state transition")
	// ErrBroken is wrapped by errors about a Broken tenant.
	ErrBroken = errors.New("tenant is broken")
	// ErrStopping is wrapped by errors about a Stopping tenant.
	ErrStopping = errors.New("tenant is stopping")
)

// allowed[from] lists the states reachable from from. Setting the current
// state again is always a no-op, and asking a Broken tenant to stop keeps it
// Broken without error.
var allowed = [...][]State{
	Loading:   {Active, Stopping, Broken},
	Attaching: {Active, Stopping, Broken},
	Active:    {Stopping, Broken},
	Stopping:  {Broken},
	Broken:    nil,
}

// machine holds a state and lets goroutines wait for changes.
type machine struct {
	mu      sync.Mutex
	state   State
	reason  string
	changed chan struct{} // closed and replaced on every change
}

func newMachine(s State) *machine { return &machine{state: s, changed: make(chan struct{})} }

func (m *machine) get() (State, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state, m.reason
}

// set moves to s; reason is kept for Broken.
func (m *machine) set(s State, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == s || (m.state == Broken && s == Stopping) {
		return nil
	}
	ok := false
	for _, t := range allowed[m.state] {
		ok = ok || t == s
	}
	if !ok {
		return fmt.Errorf("%w: %s → %s", ErrInvalidTransition, m.state, s)
	}
	m.state = s
	if s == Broken {
		m.reason = reason
	}
	close(m.changed)
	m.changed = make(chan struct{})
	return nil
}

// waitActive waits until the state is Active, failing at once if it is (or
// becomes) Stopping or Broken, or when ctx ends.
func (m *machine) waitActive(ctx context.Context) error {
	for {
		m.mu.Lock()
		s, reason, ch := m.state, m.reason, m.changed
		m.mu.Unlock()
		switch s {
		case Active:
			return nil
		case Broken:
			return fmt.Errorf("wait for tenant to become active: %w: %s", ErrBroken, reason)
		case Stopping:
			return fmt.Errorf("wait for tenant to become active: %w", ErrStopping)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for tenant to become active (state %s): %w", s, ctx.Err())
		}
	}
}
