package timeline

import (
	"fmt"

	"github.com/stratadb/strata/libs/engine/inmem"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
)

// Writer is the single writer of a timeline, obtained with Timeline.Writer.
// It holds the timeline's write lock until Close, so a batch of puts at one
// LSN is never split by a freeze. Hold it for a batch of records, not
// forever: FreezeAndFlush and the checkpoint_timeout freeze wait for (or
// skip while) a Writer is held. Not safe for concurrent use.
type Writer struct {
	t       *Timeline
	open    *inmem.Layer
	pending lsn.LSN // LSN of puts not yet finished; Invalid if none
	closed  bool
}

// Writer locks the timeline for writing; call Close to release it.
func (t *Timeline) Writer() *Writer {
	t.writeMu.Lock()
	return &Writer{t: t}
}

// Close releases the write lock. Puts not followed by FinishWrite stay in the
// open layer but are invisible (above last_record_lsn) until a later
// FinishWrite covers them.
func (w *Writer) Close() {
	if !w.closed {
		w.closed = true
		w.t.writeMu.Unlock()
	}
}

// Put stores v as the value of k at at. at must be above last_record_lsn and
// the same for every put until FinishWrite. The same (k, at) twice replaces.
func (w *Writer) Put(k key.Key, at lsn.LSN, v value.Value) error {
	t := w.t
	if w.closed {
		return fmt.Errorf("timeline %s: put on a closed writer", t.id)
	}
	if w.pending != at {
		if err := t.checkWritable(); err != nil {
			return err
		}
		if last := t.LastRecordLSN(); at <= last {
			return fmt.Errorf("timeline %s: put %s at %s: %w: not above last_record_lsn %s", t.id, k, at, ErrInvalidLSN, last)
		}
		if w.pending.IsValid() && at < w.pending {
			return fmt.Errorf("timeline %s: put %s at %s: %w: below the unfinished batch at %s", t.id, k, at, ErrInvalidLSN, w.pending)
		}
		w.pending = at
	}
	if w.open == nil {
		t.mu.Lock()
		if t.open == nil {
			t.open = inmem.New(t.nextOpenAt)
		}
		w.open = t.open
		t.mu.Unlock()
	}
	if err := w.open.Put(k, at, v); err != nil {
		return fmt.Errorf("timeline %s: %w", t.id, err)
	}
	return nil
}

// FinishWrite makes everything put at or below at visible: last_record_lsn
// becomes at (8-byte aligned, not below the current one), prev_record_lsn the
// previous last_record_lsn, and waiters wake. It may freeze the open layer.
func (w *Writer) FinishWrite(at lsn.LSN) error {
	t := w.t
	if w.closed {
		return fmt.Errorf("timeline %s: finish write on a closed writer", t.id)
	}
	if !at.IsAligned() {
		return fmt.Errorf("timeline %s: finish write at %s: %w: not 8-byte aligned", t.id, at, ErrInvalidLSN)
	}
	if w.pending.IsValid() && at < w.pending {
		return fmt.Errorf("timeline %s: finish write at %s: %w: below the batch at %s", t.id, at, ErrInvalidLSN, w.pending)
	}
	t.lsnMu.Lock()
	if at < t.lastRecord {
		last := t.lastRecord
		t.lsnMu.Unlock()
		return fmt.Errorf("timeline %s: finish write at %s: %w: below last_record_lsn %s", t.id, at, ErrInvalidLSN, last)
	}
	if at > t.lastRecord {
		t.prevRecord = t.lastRecord
		t.lastRecord = at
		t.lastFast.Store(uint64(at))
		if t.advanced != nil {
			close(t.advanced)
			t.advanced = nil
		}
	}
	t.lsnMu.Unlock()
	w.pending = lsn.Invalid
	if w.open != nil && shouldFreeze(w.open, at, t.lastFreezeAt, t.opts.CheckpointDistance) {
		t.freezeLocked()
		w.open = nil
	}
	return nil
}

func (t *Timeline) checkWritable() error {
	if s := State(t.stateFast.Load()); s != Broken && s != Stopping {
		return nil
	}
	s, reason := t.State()
	switch s {
	case Broken:
		return fmt.Errorf("timeline %s: %w: %s", t.id, ErrBroken, reason)
	case Stopping:
		return fmt.Errorf("timeline %s: %w", t.id, ErrStopping)
	}
	return nil
}

// shouldFreeze applies the checkpoint_distance rules to the open layer. The
// caller holds writeMu, which every change of the open layer and of
// lastFreezeAt also holds.
func shouldFreeze(open *inmem.Layer, last, lastFreezeAt lsn.LSN, distance int64) bool {
	if open.Empty() {
		return false
	}
	return open.Footprint() >= distance || int64(last-lastFreezeAt) >= distance
}

// freezeLocked freezes the open layer at last_record_lsn+1 and wakes the
// flush loop. writeMu is held, so no batch is in progress.
func (t *Timeline) freezeLocked() {
	last := t.LastRecordLSN()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open == nil || t.open.Empty() || t.open.MaxLSN() > last {
		return
	}
	end := last + 1
	if err := t.open.Freeze(end); err != nil {
		return // cannot happen: end is above every finished put
	}
	t.frozen = append(t.frozen, t.open)
	t.open = nil
	t.nextOpenAt = end
	t.lastFreezeAt = last
	t.lastFreezeTime = t.deps.Now()
	t.nudgeLocked()
}

func (t *Timeline) nudgeLocked() {
	select {
	case t.flushKick <- struct{}{}:
	default:
	}
}

// freeze takes the write lock and freezes the open layer.
func (t *Timeline) freeze() {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.freezeLocked()
}
