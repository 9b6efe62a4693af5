// Package layermap answers "which layer file holds the data for key K at LSN L"
// for one timeline, and the coverage questions GC and compaction planners ask.
//
// A Map is an immutable snapshot of the set of historic (on-disk) layers of a
// timeline. It is changed only by applying an Edit (a set of layers to add and
// a set to remove), which produces a new Map and leaves the old one untouched
// (copy-on-write, like a pebble version edit). Current holds the latest Map
// behind an atomic pointer: readers call Load and work on a consistent
// snapshot without taking any lock; writers are serialized among themselves
// and never block readers.
//
// Every layer covers a rectangle of key range × LSN range, both half-open.
// An image layer at LSN L covers [L, L+1). L0 delta layers cover the whole key
// space and are also kept in a separate list (L0), since they are what
// compaction consumes first.
//
// Search(k, end) finds the layer to read next when reconstructing key k with
// all versions below end (exclusive), and the LSN floor below which that
// layer must not be read (the caller continues the search at the floor):
//
//	LSN ▲
//	 60 │        ┌──────────┐ delta D2 [40,60)
//	 50 │  image I @45 ─────┼── inside D2's span
//	 40 │        └──────────┘
//	 30 │  ┌──────────┐ delta D1 [10,30)
//	 10 │  └──────────┘
//	    └──────────────────────► key
//
//	Search(k, 61)  → D2, floor 46  (read D2 only in [46,61); the image at 45 is newer than D2's start)
//	Search(k, 46)  → I,  floor 45  (exact image: 45+1 == 46)
//	Search(k, 35)  → D1, floor 10  (nothing contains 34; the newest delta below wins)
//
// Rules (Neon's, §3.6 of the reference digest):
//  1. Image layers whose key range contains k and LSN < end: one at end-1 is an
//     exact hit (returned with floor = its LSN); otherwise the newest is
//     remembered as latestImage.
//  2. Delta layers whose key range contains k and LSN start < end: a delta
//     with LSN end ≥ end contains the point and wins (if several overlapping
//     deltas contain it, the one with the greatest start wins, then the one with
//     the narrowest key range — a deterministic choice Neon leaves to R-tree
//     order). Otherwise the delta with the greatest LSN end wins, ignoring
//     deltas that end at or below latestImage.
//  3. A winning delta is returned with floor = max(latestImage+1, delta start),
//     so a newer image inside the delta's LSN span is not skipped. Else the
//     latest image is returned with floor = its LSN. Else nothing.
package layermap

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// Map is an immutable snapshot of a timeline's historic layers. The zero Map
// is empty and usable. A Map must not be modified after it is published.
type Map struct {
	// layers holds every layer sorted by LSN end descending, then by name
	// order, so searches can stop early.
	layers []layer.Name
	l0     []layer.Name // L0 deltas sorted by LSN start
	byName map[layer.Name]struct{}
}

// Edit is an atomic change to a Map: Remove is applied, then Add.
type Edit struct {
	Add    []layer.Name
	Remove []layer.Name
}

// Len returns the number of layers in the map.
func (m *Map) Len() int { return len(m.layers) }

// Contains reports whether the map holds the layer.
func (m *Map) Contains(n layer.Name) bool {
	_, ok := m.byName[n]
	return ok
}

// Layers returns every layer in name order (key start, key end, LSN start, LSN
// end). The slice is a fresh copy.
func (m *Map) Layers() []layer.Name {
	out := slices.Clone(m.layers)
	slices.SortFunc(out, compareNames)
	return out
}

// L0 returns the L0 deltas oldest first. The slice is a fresh copy.
func (m *Map) L0() []layer.Name { return slices.Clone(m.l0) }

// Apply returns a new Map with the edit applied. It fails, leaving m
// unchanged, if a removed layer is absent, an added layer is already present
// (and not removed by the same edit), or an added name is malformed.
func (m *Map) Apply(e Edit) (*Map, error) {
	next := &Map{byName: make(map[layer.Name]struct{}, len(m.byName)+len(e.Add))}
	for n := range m.byName {
		next.byName[n] = struct{}{}
	}
	for _, n := range e.Remove {
		if _, ok := next.byName[n]; !ok {
			return nil, fmt.Errorf("layer map edit: remove %s: not in the map", n)
		}
		delete(next.byName, n)
	}
	for _, n := range e.Add {
		if err := validName(n); err != nil {
			return nil, fmt.Errorf("layer map edit: add %s: %w", n, err)
		}
		if _, ok := next.byName[n]; ok {
			return nil, fmt.Errorf("layer map edit: add %s: already in the map", n)
		}
		next.byName[n] = struct{}{}
	}
	next.layers = make([]layer.Name, 0, len(next.byName))
	for n := range next.byName {
		next.layers = append(next.layers, n)
		if n.IsL0() {
			next.l0 = append(next.l0, n)
		}
	}
	slices.SortFunc(next.layers, func(a, b layer.Name) int {
		if a.LSNs.End != b.LSNs.End {
			if a.LSNs.End > b.LSNs.End {
				return -1
			}
			return 1
		}
		return compareNames(a, b)
	})
	slices.SortFunc(next.l0, compareNames)
	return next, nil
}

func validName(n layer.Name) error {
	if n.Keys.IsEmpty() {
		return fmt.Errorf("empty key range")
	}
	if n.LSNs.Start >= n.LSNs.End {
		return fmt.Errorf("empty LSN range")
	}
	if isImage(n) && n.LSNs.End != n.LSNs.Start+1 {
		return fmt.Errorf("image layer LSN range must be one LSN wide")
	}
	return nil
}

func compareNames(a, b layer.Name) int {
	if c := a.Keys.Start.Compare(b.Keys.Start); c != 0 {
		return c
	}
	if c := a.Keys.End.Compare(b.Keys.End); c != 0 {
		return c
	}
	if a.LSNs.Start != b.LSNs.Start {
		return cmpLSN(a.LSNs.Start, b.LSNs.Start)
	}
	if a.LSNs.End != b.LSNs.End {
		return cmpLSN(a.LSNs.End, b.LSNs.End)
	}
	return int(a.Kind) - int(b.Kind)
}

func cmpLSN(a, b lsn.LSN) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Result is the answer of Search: read Layer for versions in [Floor, end).
type Result struct {
	Layer layer.Name
	Floor lsn.LSN
}

// Search finds the layer holding the newest data for k below end (exclusive).
// ok is false when no layer has data for k below end. See the package
// documentation for the rules.
func (m *Map) Search(k key.Key, end lsn.LSN) (r Result, ok bool) {
	var (
		img, delta       layer.Name
		haveImg, haveDel bool
		contains         bool
	)
	for _, n := range m.layers {
		if n.LSNs.Start >= end || !n.Keys.Contains(k) {
			continue
		}
		if isImage(n) {
			if n.LSNs.Start+1 == end {
				return Result{Layer: n, Floor: n.LSNs.Start}, true
			}
			if !haveImg || n.LSNs.Start > img.LSNs.Start {
				img, haveImg = n, true
			}
			continue
		}
		if n.LSNs.End >= end {
			if !contains || betterContaining(n, delta) {
				delta, haveDel, contains = n, true, true
			}
			continue
		}
		if contains {
			continue
		}
		if !haveDel || n.LSNs.End > delta.LSNs.End {
			delta, haveDel = n, true
		}
	}
	if haveDel && !contains && haveImg && delta.LSNs.End <= img.LSNs.Start {
		haveDel = false
	}
	if haveDel {
		floor := delta.LSNs.Start
		if haveImg && img.LSNs.Start+1 > floor {
			floor = img.LSNs.Start + 1
		}
		return Result{Layer: delta, Floor: floor}, true
	}
	if haveImg {
		return Result{Layer: img, Floor: img.LSNs.Start}, true
	}
	return Result{}, false
}

// betterContaining orders two deltas that both contain the searched point.
func betterContaining(a, b layer.Name) bool {
	if a.LSNs.Start != b.LSNs.Start {
		return a.LSNs.Start > b.LSNs.Start
	}
	return a.Keys.Start.Compare(b.Keys.Start) > 0 || (a.Keys.Start == b.Keys.Start && a.Keys.End.Less(b.Keys.End))
}

// Current holds the latest Map of a timeline. Load never blocks; Apply
// serializes writers. The zero Current holds an empty Map.
type Current struct {
	mu  sync.Mutex
	cur atomic.Pointer[Map]
}

// Load returns the current snapshot.
func (c *Current) Load() *Map {
	if m := c.cur.Load(); m != nil {
		return m
	}
	return &Map{}
}

// Apply applies the edit to the current snapshot and publishes the result.
// On error the current snapshot is unchanged.
func (c *Current) Apply(e Edit) (*Map, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, err := c.Load().Apply(e)
	if err != nil {
		return nil, err
	}
	c.cur.Store(next)
	return next, nil
}
