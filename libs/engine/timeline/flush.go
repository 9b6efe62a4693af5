package timeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stratadb/strata/libs/engine/inmem"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/layermap"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
)

// StartFlushLoop starts the timeline's flush loop goroutine, which runs until
// ctx ends or the timeline breaks. It can be started once.
func (t *Timeline) StartFlushLoop(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.loopState {
	case loopRunning:
		return fmt.Errorf("timeline %s: flush loop already running", t.id)
	case loopExited:
		return fmt.Errorf("timeline %s: %w", t.id, ErrFlushLoopExited)
	}
	t.loopState = loopRunning
	go t.flushLoop(ctx)
	return nil
}

// FlushLoopDone is closed when the flush loop has exited.
func (t *Timeline) FlushLoopDone() <-chan struct{} { return t.loopDone }

func (t *Timeline) flushLoop(ctx context.Context) {
	defer func() {
		t.mu.Lock()
		t.loopState = loopExited
		t.mu.Unlock()
		close(t.loopDone)
		t.signalFlushed()
	}()
	tick := t.opts.CheckpointTimeout / 4
	if tick < 10*time.Millisecond {
		tick = 10 * time.Millisecond
	}
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.flushKick:
		case <-ticker.C:
			t.freezeIfStale()
		}
		for {
			if s, _ := t.State(); s == Broken {
				return
			}
			t.mu.RLock()
			var next *inmem.Layer
			if len(t.frozen) > 0 {
				next = t.frozen[0]
			}
			t.mu.RUnlock()
			if next == nil {
				break
			}
			if err := t.flushOne(next); err != nil {
				t.SetBroken(fmt.Sprintf("flush of %s failed: %v", next, err), err)
				return
			}
			if ctx.Err() != nil {
				return
			}
		}
	}
}

// freezeIfStale freezes the open layer if its oldest data is older than
// checkpoint_timeout. Unlike Neon, which checks only when WAL arrives, an idle
// timeline's data is flushed too.
func (t *Timeline) freezeIfStale() {
	t.mu.RLock()
	stale := t.open != nil && !t.open.Empty() && t.deps.Now().Sub(t.lastFreezeTime) >= t.opts.CheckpointTimeout
	t.mu.RUnlock()
	if stale && t.writeMu.TryLock() {
		defer t.writeMu.Unlock()
		t.freezeLocked()
	}
}

// FreezeAndFlush freezes the open layer and waits until every frozen layer
// is on disk and disk_consistent_lsn covers it. It does not compact.
func (t *Timeline) FreezeAndFlush(ctx context.Context) error {
	t.mu.RLock()
	ls := t.loopState
	t.mu.RUnlock()
	switch ls {
	case loopNotStarted:
		return fmt.Errorf("timeline %s: freeze and flush: %w", t.id, ErrFlushLoopNotStarted)
	case loopExited:
		return fmt.Errorf("timeline %s: freeze and flush: %w", t.id, ErrFlushLoopExited)
	}
	t.freeze()
	t.mu.RLock()
	target := lsn.Invalid
	if n := len(t.frozen); n > 0 {
		target = t.frozen[n-1].End() - 1
	}
	t.mu.RUnlock()
	if !target.IsValid() {
		return nil
	}
	t.nudge()
	for {
		t.mu.RLock()
		ch, ls, state, reason := t.flushed, t.loopState, t.state, t.brokenReason
		t.mu.RUnlock()
		if t.DiskConsistentLSN() >= target {
			return nil
		}
		switch {
		case state == Broken:
			return fmt.Errorf("timeline %s: freeze and flush: %w: %s", t.id, ErrBroken, reason)
		case ls == loopExited:
			return fmt.Errorf("timeline %s: freeze and flush: %w", t.id, ErrFlushLoopExited)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("timeline %s: freeze and flush: %w", t.id, ctx.Err())
		}
	}
}

// flushOne writes a frozen layer to disk, publishes it in the layer map,
// drops it from the frozen list and persists disk_consistent_lsn.
func (t *Timeline) flushOne(l *inmem.Layer) error {
	start := t.deps.Now()
	lsns := layer.LSNRange{Start: l.Start(), End: l.End()}
	var descs []layer.Desc
	var err error
	if lsns.Start == t.initdbLSN && lsns.End == t.initdbLSN+1 && t.initdbLSN.IsValid() && allImages(l) {
		descs, err = t.writeImageLayers(l, t.initdbLSN)
	} else {
		var d layer.Desc
		d, err = t.writeDelta(l, lsns)
		descs = []layer.Desc{d}
	}
	if err != nil {
		return err
	}
	edit := layermap.Edit{}
	for _, d := range descs {
		edit.Add = append(edit.Add, d.Name)
	}
	if _, err := t.layers.Apply(edit); err != nil {
		return fmt.Errorf("timeline %s: %w", t.id, err)
	}
	t.mu.Lock()
	if len(t.frozen) > 0 && t.frozen[0] == l {
		t.frozen = t.frozen[1:]
	}
	t.mu.Unlock()
	disk := lsns.End - 1
	if err := t.persist(disk); err != nil {
		return err
	}
	t.deps.Events.LayerFlushed(LayerFlushedInfo{
		Tenant: t.deps.Tenant, Timeline: t.id, Layers: descs, DiskConsistentLSN: disk, Duration: t.deps.Now().Sub(start),
	})
	t.signalFlushed()
	return nil
}

func allImages(l *inmem.Layer) bool {
	errNotImage := errors.New("not an image")
	return l.Iterate(func(_ key.Key, _ lsn.LSN, v value.Value) error {
		if !v.IsImage() {
			return errNotImage
		}
		return nil
	}) == nil
}

func (t *Timeline) writeDelta(l *inmem.Layer, lsns layer.LSNRange) (layer.Desc, error) {
	w, err := layer.NewDeltaWriter(t.fs, t.dir, lsns)
	if err != nil {
		return layer.Desc{}, fmt.Errorf("timeline %s: flush %s: %w", t.id, l, err)
	}
	if err := l.Iterate(w.Put); err != nil {
		_ = w.Abort()
		return layer.Desc{}, fmt.Errorf("timeline %s: flush %s: %w", t.id, l, err)
	}
	d, err := w.Finish(key.All)
	if err != nil {
		return layer.Desc{}, fmt.Errorf("timeline %s: flush %s: %w", t.id, l, err)
	}
	return d, nil
}

// writeImageLayers writes the initial import as image layers partitioned by
// compaction_target_size; together they cover the whole key space.
func (t *Timeline) writeImageLayers(l *inmem.Layer, at lsn.LSN) ([]layer.Desc, error) {
	// Cut the sorted keys into partitions of about the target size.
	var cuts []key.Key
	var size int64
	first := true
	_ = l.Iterate(func(k key.Key, _ lsn.LSN, v value.Value) error {
		if !first && size+int64(len(v.Data)) > t.opts.CompactionTargetSize {
			cuts = append(cuts, k)
			size = 0
		}
		first = false
		size += int64(len(v.Data))
		return nil
	})
	bounds := append(append([]key.Key{key.Min}, cuts...), key.Max)
	var descs []layer.Desc
	var w *layer.ImageWriter
	part := -1
	abort := func(err error) ([]layer.Desc, error) {
		if w != nil {
			_ = w.Abort()
		}
		return nil, fmt.Errorf("timeline %s: flush %s as image layers: %w", t.id, l, err)
	}
	finish := func() error {
		d, err := w.Finish()
		w = nil
		if err != nil {
			return err
		}
		descs = append(descs, d)
		return nil
	}
	open := func() error {
		part++
		var err error
		w, err = layer.NewImageWriter(t.fs, t.dir, key.Range{Start: bounds[part], End: bounds[part+1]}, at)
		return err
	}
	if err := open(); err != nil {
		return abort(err)
	}
	err := l.Iterate(func(k key.Key, _ lsn.LSN, v value.Value) error {
		for !k.Less(bounds[part+1]) {
			if err := finish(); err != nil {
				return err
			}
			if err := open(); err != nil {
				return err
			}
		}
		return w.Put(k, v.Data)
	})
	if err != nil {
		return abort(err)
	}
	for {
		if err := finish(); err != nil {
			return abort(err)
		}
		if part+2 >= len(bounds) {
			break
		}
		if err := open(); err != nil {
			return abort(err)
		}
	}
	return descs, nil
}
