// Package inmem is the in-memory layer: the versions a timeline ingested since
// its last freeze, before they are flushed to an L0 delta layer file.
//
// A Layer covers every key and the LSN range [Start, End). While open, End is
// lsn.Max and Put adds versions; Freeze fixes End and makes the layer
// read-only, after which Iterate feeds the flush in (key, LSN) order.
//
// Memory: value bytes are copied into an arena of 1 MiB chunks that never
// move (values above 256 KiB get a chunk of their own), and each version costs
// one small slot in a per-key slice. Size reports the value bytes;
// MemoryUsage estimates the whole heap use (arena, slots, per-key index) in
// O(1); Footprint is the same with only the used part of the arena. The
// timeline freezes the layer when its Footprint reaches checkpoint_distance,
// so an open layer's heap use is bounded by checkpoint_distance plus the
// unused tail of its chunks (under 1 MiB for the last one) and one batch.
// Nothing is spilled to disk.
//
// Concurrency: one writer (Put, Freeze) and any number of readers (Versions)
// may use a Layer at once. Iterate must only be called on a frozen layer.
package inmem

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
)

const (
	chunkSize = 1 << 20
	// slotOverhead approximates the bytes of bookkeeping per version
	// (slot plus slice growth slack).
	slotOverhead = 40
	// keyOverhead approximates the bytes of bookkeeping per distinct key
	// (map entry and slice header).
	keyOverhead = 96
)

// ErrFrozen is returned by Put on a frozen layer.
var ErrFrozen = errors.New("in-memory layer is frozen")

type slot struct {
	at       lsn.LSN
	chunk    uint32
	off      uint32
	n        uint32
	kind     value.Kind
	willInit bool
}

// Layer is an in-memory layer. Create it with New.
type Layer struct {
	start lsn.LSN

	mu     sync.RWMutex
	end    lsn.LSN
	frozen bool
	index  map[key.Key]int32 // position in versions
	keys   []key.Key         // keys[i] owns versions[i]
	vers   [][]slot          // per key, sorted by LSN ascending
	chunks [][]byte
	cur    int // index of the chunk small values go to; -1 if none
	size   atomic.Int64
	slots  atomic.Int64
	nkeys  atomic.Int64
	arena  atomic.Int64 // bytes of chunk capacity allocated
	maxLSN atomic.Uint64
	sorted []int32 // key positions in key order; set by Freeze
}

// New returns an open layer starting at start (inclusive).
func New(start lsn.LSN) *Layer {
	return &Layer{start: start, end: lsn.Max, index: make(map[key.Key]int32), cur: -1}
}

// Start returns the first LSN the layer covers.
func (l *Layer) Start() lsn.LSN { return l.start }

// End returns the LSN after the last one the layer covers: lsn.Max while open.
func (l *Layer) End() lsn.LSN {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.end
}

// Frozen reports whether Freeze was called.
func (l *Layer) Frozen() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.frozen
}

// Size returns the bytes of value data held (including replaced versions).
func (l *Layer) Size() int64 { return l.size.Load() }

// Footprint is MemoryUsage counting only the arena bytes in use: what the
// timeline compares with checkpoint_distance. The heap use exceeds it by at
// most the unused tail of the arena's chunks.
func (l *Layer) Footprint() int64 {
	return l.size.Load() + l.slots.Load()*slotOverhead + l.nkeys.Load()*keyOverhead
}

// MemoryUsage estimates the layer's heap use in O(1).
func (l *Layer) MemoryUsage() int64 {
	return l.arena.Load() + l.slots.Load()*slotOverhead + l.nkeys.Load()*keyOverhead
}

// Empty reports whether the layer holds no versions.
func (l *Layer) Empty() bool { return l.slots.Load() == 0 }

// MaxLSN returns the highest LSN put into the layer (Invalid if empty).
func (l *Layer) MaxLSN() lsn.LSN { return lsn.LSN(l.maxLSN.Load()) }

// Put stores v as the version of k at at, copying v.Data. A second put of the
// same (k, at) replaces the first. at must lie in [Start, End).
func (l *Layer) Put(k key.Key, at lsn.LSN, v value.Value) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.frozen {
		return fmt.Errorf("put %s at %s: %w", k, at, ErrFrozen)
	}
	if at < l.start {
		return fmt.Errorf("put %s at %s: below the layer start %s", k, at, l.start)
	}
	if v.Kind != value.KindImage && v.Kind != value.KindRecord {
		return fmt.Errorf("put %s at %s: invalid value kind %v", k, at, v.Kind)
	}
	if len(v.Data) > 1<<31 {
		return fmt.Errorf("put %s at %s: value of %d bytes is too large", k, at, len(v.Data))
	}
	s := l.store(v.Data)
	s.at, s.kind, s.willInit = at, v.Kind, v.WillInit || v.Kind == value.KindImage
	i, ok := l.index[k]
	if !ok {
		i = int32(len(l.keys))
		l.index[k] = i
		l.keys = append(l.keys, k)
		l.vers = append(l.vers, nil)
		l.nkeys.Add(1)
	}
	vs := l.vers[i]
	if n := len(vs); n == 0 || vs[n-1].at < at {
		l.vers[i] = append(vs, s)
		l.slots.Add(1)
	} else {
		j, found := slices.BinarySearchFunc(vs, at, func(x slot, t lsn.LSN) int {
			switch {
			case x.at < t:
				return -1
			case x.at > t:
				return 1
			}
			return 0
		})
		if found {
			vs[j] = s
		} else {
			l.vers[i] = slices.Insert(vs, j, s)
			l.slots.Add(1)
		}
	}
	if uint64(at) > l.maxLSN.Load() {
		l.maxLSN.Store(uint64(at))
	}
	return nil
}

// store copies b into the arena and returns its location. Chunks never
// move, so slices into them stay valid.
func (l *Layer) store(b []byte) slot {
	n := len(b)
	l.size.Add(int64(n))
	if n > chunkSize/4 {
		l.chunks = append(l.chunks, slices.Clone(b))
		l.arena.Add(int64(n))
		return slot{chunk: uint32(len(l.chunks) - 1), n: uint32(n)}
	}
	if l.cur < 0 || len(l.chunks[l.cur])+n > chunkSize {
		l.chunks = append(l.chunks, make([]byte, 0, chunkSize))
		l.arena.Add(chunkSize)
		l.cur = len(l.chunks) - 1
	}
	c := l.chunks[l.cur]
	off := len(c)
	l.chunks[l.cur] = append(c, b...)
	return slot{chunk: uint32(l.cur), off: uint32(off), n: uint32(n)}
}

func (l *Layer) value(s slot) value.Value {
	data := l.chunks[s.chunk][s.off : s.off+s.n : s.off+s.n]
	return value.Value{Kind: s.kind, WillInit: s.willInit, Data: data}
}

// Freeze makes the layer read-only with End = end. end must be above every
// LSN put into the layer.
func (l *Layer) Freeze(end lsn.LSN) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.frozen {
		return fmt.Errorf("freeze in-memory layer at %s: already frozen at %s", end, l.end)
	}
	if end <= l.start || (l.slots.Load() > 0 && end <= l.MaxLSN()) {
		return fmt.Errorf("freeze in-memory layer [%s, ...) at %s: end must be above %s", l.start, end, l.MaxLSN())
	}
	l.end, l.frozen = end, true
	l.sorted = make([]int32, len(l.keys))
	for i := range l.sorted {
		l.sorted[i] = int32(i)
	}
	slices.SortFunc(l.sorted, func(a, b int32) int { return l.keys[a].Compare(l.keys[b]) })
	return nil
}

// Versions calls fn for the versions of k with LSN in [from, to), newest
// first, until fn returns false. v.Data is valid only during the call.
func (l *Layer) Versions(k key.Key, from, to lsn.LSN, fn func(at lsn.LSN, v value.Value) bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	p, ok := l.index[k]
	if !ok {
		return
	}
	vs := l.vers[p]
	for i := len(vs) - 1; i >= 0; i-- {
		s := vs[i]
		if s.at >= to {
			continue
		}
		if s.at < from || !fn(s.at, l.value(s)) {
			return
		}
	}
}

// Iterate calls fn for every version in (key, LSN) order, stopping at the
// first error, which it returns. The layer must be frozen. v.Data is valid
// only during the call.
func (l *Layer) Iterate(fn func(k key.Key, at lsn.LSN, v value.Value) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.frozen {
		return errors.New("iterate in-memory layer: not frozen")
	}
	for _, p := range l.sorted {
		k := l.keys[p]
		for _, s := range l.vers[p] {
			if err := fn(k, s.at, l.value(s)); err != nil {
				return err
			}
		}
	}
	return nil
}

// KeyRange returns the smallest range holding every key of a frozen layer
// (empty if the layer is empty or open).
func (l *Layer) KeyRange() key.Range {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.sorted) == 0 {
		return key.Range{}
	}
	return key.Range{Start: l.keys[l.sorted[0]], End: l.keys[l.sorted[len(l.sorted)-1]].Next()}
}

// String names the layer for errors and events: inmem-<start>-<end>.
func (l *Layer) String() string {
	return fmt.Sprintf("inmem-%s-%s", l.start.Hex(), l.End().Hex())
}
