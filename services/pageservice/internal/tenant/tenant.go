// Package tenant holds the tenants attached to this page-service node.
//
// The registry is the node's in-memory view; tenant loading, attach and
// detach fill it (later issues). Safe for concurrent use.
package tenant

import (
	"slices"
	"strings"
	"sync"

	"github.com/stratadb/strata/libs/engine/id"
)

// State of a tenant on this node.
type State string

// Tenant states (Neon's names).
const (
	Loading   State = "Loading"
	Attaching State = "Attaching"
	Active    State = "Active"
	Stopping  State = "Stopping"
	Broken    State = "Broken"
)

// Info describes one tenant.
type Info struct {
	ID           id.ID
	State        State
	Generation   uint32
	BrokenReason string
}

// Registry maps tenant ids to tenants. The zero value is an empty registry.
type Registry struct {
	mu      sync.RWMutex
	tenants map[id.ID]Info
}

// List returns every tenant sorted by id.
func (r *Registry) List() []Info {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Info, 0, len(r.tenants))
	for _, t := range r.tenants {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	return out
}

// Get returns the tenant, or false if it is not on this node.
func (r *Registry) Get(tid id.ID) (Info, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tenants[tid]
	return t, ok
}
