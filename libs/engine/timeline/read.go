package timeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stratadb/strata/libs/engine/inmem"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
)

// WaitLSN waits until last_record_lsn ≥ at, at most wait_lsn_timeout.
func (t *Timeline) WaitLSN(ctx context.Context, at lsn.LSN) error {
	if t.LastRecordLSN() >= at {
		return nil
	}
	var timer *time.Timer
	for {
		t.lsnMu.Lock()
		last := t.lastRecord
		if last >= at {
			t.lsnMu.Unlock()
			return nil
		}
		if t.advanced == nil {
			t.advanced = make(chan struct{})
		}
		ch := t.advanced
		t.lsnMu.Unlock()
		if err := t.checkReadable(); err != nil {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(t.opts.WaitLSNTimeout)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			return fmt.Errorf("timeline %s: WAL record at LSN %s did not arrive within %s (last_record_lsn %s): %w",
				t.id, at, t.opts.WaitLSNTimeout, last, ErrWaitLSNTimeout)
		case <-ctx.Done():
			return fmt.Errorf("timeline %s: wait for LSN %s: %w", t.id, at, ctx.Err())
		}
	}
}

// reconstruct gathers what a read needs: records newest first, and a base
// image (from a layer or the page cache) if the records do not start with a
// will_init one.
type reconstruct struct {
	records []Record // newest first
	img     []byte
	imgLSN  lsn.LSN
	done    bool
	buf     []byte
}

func (r *reconstruct) add(at lsn.LSN, v value.Value) bool {
	start := len(r.buf)
	r.buf = append(r.buf, v.Data...)
	data := r.buf[start:len(r.buf):len(r.buf)]
	if v.IsImage() {
		r.img, r.imgLSN, r.done = data, at, true
		return false
	}
	r.records = append(r.records, Record{LSN: at, Data: data, WillInit: v.WillInit})
	if v.WillInit {
		r.done = true
		return false
	}
	return true
}

// Get returns the value of k at LSN at: it waits for the WAL to arrive,
// refuses LSNs below the GC cutoff (ErrGCCutoff), and reconstructs the value
// across layers and ancestors. The returned slice is owned by the caller.
func (t *Timeline) Get(ctx context.Context, k key.Key, at lsn.LSN) ([]byte, error) {
	if err := t.checkReadable(); err != nil {
		return nil, err
	}
	if cut := t.GCCutoffLSN(); at < cut {
		return nil, fmt.Errorf("timeline %s: read %s at %s: %w %s", t.id, k, at, ErrGCCutoff, cut)
	}
	if err := t.WaitLSN(ctx, at); err != nil {
		return nil, err
	}
	cached, cachedAt, hasCached := t.cache.Lookup(t.id, k, at)
	if hasCached && cachedAt == at {
		return slices.Clone(cached), nil
	}
	floor := lsn.Invalid
	if hasCached {
		floor = cachedAt + 1
	}
	r := reconstruct{buf: make([]byte, 0, 8192+64)}
	if err := t.collect(k, at, floor, &r); err != nil {
		return nil, err
	}
	fromCache := false
	if !r.done && hasCached {
		r.img, r.imgLSN, r.done, fromCache = cached, cachedAt, true, true
	}
	if len(r.records) == 0 {
		switch {
		case r.img == nil:
			return nil, fmt.Errorf("timeline %s: read %s at %s: %w", t.id, k, at, ErrNotFound)
		case fromCache:
			return slices.Clone(r.img), nil
		}
		return r.img, nil // r.buf is this call's own
	}
	slices.Reverse(r.records)
	if r.img == nil && !r.records[0].WillInit {
		return nil, fmt.Errorf("timeline %s: read %s at %s: %w: no base image below the record at %s",
			t.id, k, at, ErrNotFound, r.records[0].LSN)
	}
	if t.deps.Redoer == nil {
		return nil, fmt.Errorf("timeline %s: read %s at %s: records need redo, but no Redoer is configured", t.id, k, at)
	}
	page, err := t.deps.Redoer.Redo(ctx, k, at, r.img, r.imgLSN, r.records)
	if err != nil {
		return nil, fmt.Errorf("timeline %s: redo %s at %s: %w", t.id, k, at, err)
	}
	t.cache.Insert(t.id, k, r.records[len(r.records)-1].LSN, page)
	return page, nil
}

// collect walks this timeline and its ancestors from at down to floor.
func (t *Timeline) collect(k key.Key, at, floor lsn.LSN, r *reconstruct) error {
	cont := at + 1 // exclusive upper bound of what is still to be read
	tl := t
	for !r.done && cont > floor {
		if tl.ancestor != nil && cont-1 <= tl.ancestorLSN {
			tl = tl.ancestor
			continue
		}
		if err := tl.checkReadable(); err != nil {
			return err
		}
		// In-memory layers first (newest to oldest), then the layer map.
		tl.mu.RLock()
		mem := make([]*inmem.Layer, 0, len(tl.frozen)+1)
		if tl.open != nil {
			mem = append(mem, tl.open)
		}
		for i := len(tl.frozen) - 1; i >= 0; i-- {
			mem = append(mem, tl.frozen[i])
		}
		tl.mu.RUnlock()
		for _, l := range mem {
			if r.done || cont <= floor || cont <= l.Start() {
				continue
			}
			l.Versions(k, max(l.Start(), floor), cont, r.add)
			cont = l.Start()
		}
		lm := tl.layers.Load()
		for !r.done && cont > floor {
			if tl.ancestor != nil && cont-1 <= tl.ancestorLSN {
				break
			}
			res, ok := lm.Search(k, cont)
			if !ok {
				if tl.ancestor == nil {
					return nil // nothing more: the caller decides if that is "not found"
				}
				cont = min(cont, tl.ancestorLSN+1)
				break
			}
			from := max(res.Floor, floor)
			if from < cont {
				found := false
				if err := tl.readLayer(res.Layer, k, layer.LSNRange{Start: from, End: cont}, func(at lsn.LSN, v value.Value) bool {
					found = true
					return r.add(at, v)
				}); err != nil {
					return err
				}
				if !found && res.Layer.Kind == layer.KindImage {
					// A key absent from an image layer does not exist at its LSN.
					return nil
				}
			}
			if res.Floor >= cont {
				return fmt.Errorf("timeline %s: read %s: layer %s made no progress below %s", tl.id, k, res.Layer, cont)
			}
			cont = res.Floor
		}
		if tl.ancestor == nil && !r.done && cont > floor {
			return nil
		}
	}
	return nil
}

// readLayer reads versions from a layer file, turning corruption into a
// CorruptionError and a Broken timeline.
func (t *Timeline) readLayer(n layer.Name, k key.Key, lsns layer.LSNRange, fn func(lsn.LSN, value.Value) bool) error {
	rd, err := t.reader(n)
	if err == nil {
		err = rd.Versions(k, lsns, fn)
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, layer.ErrCorrupt) {
		cerr := &CorruptionError{Layer: n.String(), Key: k, LSN: lsns.End - 1, Err: err}
		t.SetBroken("corrupt layer "+n.String(), cerr)
		return fmt.Errorf("timeline %s: %w", t.id, cerr)
	}
	return fmt.Errorf("timeline %s: read %s from layer %s: %w", t.id, k, n, err)
}
