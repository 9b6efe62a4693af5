package timeline

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/metadata"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// appendRedoer "applies" a record by appending its bytes to the page, so a
// reference model is a list of byte strings.
type appendRedoer struct{ calls int }

func (r *appendRedoer) Redo(_ context.Context, _ key.Key, _ lsn.LSN, base []byte, _ lsn.LSN, recs []Record) ([]byte, error) {
	r.calls++
	out := append([]byte(nil), base...)
	for _, rec := range recs {
		if rec.WillInit {
			out = out[:0]
		}
		out = append(out, rec.Data...)
	}
	return out, nil
}

// env is a set of timelines in one directory with running flush loops.
type env struct {
	tb     testing.TB
	fs     vfs.FS
	dir    string
	opts   Options
	deps   Deps
	ctx    context.Context
	cancel context.CancelFunc
	tls    map[string]*Timeline
	ids    map[string]id.ID
	broken []TimelineBrokenInfo
	// noLoops: flush loops are not started, so frozen layers pile up in memory.
	noLoops bool
}

func newEnv(tb testing.TB, fsys vfs.FS, opts Options) *env {
	tb.Helper()
	e := &env{tb: tb, fs: fsys, dir: "/tenant/timelines", opts: opts, tls: map[string]*Timeline{}, ids: map[string]id.ID{}}
	e.deps = Deps{Redoer: &appendRedoer{}, Events: EventListener{TimelineBroken: func(i TimelineBrokenInfo) { e.broken = append(e.broken, i) }}}
	if err := vfs.MkdirAllDurable(fsys, e.dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	tb.Cleanup(func() { e.stop(false) })
	return e
}

func nameID(name string) id.ID {
	var v id.ID
	copy(v[:], name)
	return v
}

func (e *env) start(name string, tl *Timeline) {
	e.tb.Helper()
	if err := tl.SetState(Active); err != nil {
		e.tb.Fatal(err)
	}
	if !e.noLoops {
		if err := tl.StartFlushLoop(e.ctx); err != nil {
			e.tb.Fatal(err)
		}
	}
	e.tls[name] = tl
	e.ids[name] = tl.ID()
}

func (e *env) createRoot(name string, initdb lsn.LSN) *Timeline {
	e.tb.Helper()
	tl, err := Create(e.fs, e.dir, nameID(name), metadata.Metadata{InitDBLSN: initdb, LatestGCCutoffLSN: initdb, PGVersion: 15}, nil, e.opts, e.deps)
	if err != nil {
		e.tb.Fatal(err)
	}
	if err := tl.MarkInitialized(); err != nil {
		e.tb.Fatal(err)
	}
	e.start(name, tl)
	return tl
}

func (e *env) branch(name, from string, at lsn.LSN) (*Timeline, error) {
	anc := e.tls[from]
	m, err := anc.BranchMetadata(at)
	if err != nil {
		return nil, err
	}
	if anc.DiskConsistentLSN() < m.AncestorLSN && !e.noLoops {
		if err := anc.FreezeAndFlush(e.ctx); err != nil {
			return nil, err
		}
	}
	tl, err := Create(e.fs, e.dir, nameID(name), m, anc, e.opts, e.deps)
	if err != nil {
		return nil, err
	}
	if err := tl.MarkInitialized(); err != nil {
		return nil, err
	}
	e.start(name, tl)
	return tl, nil
}

// stop stops the flush loops (flushing first if asked) and closes every timeline.
func (e *env) stop(flush bool) {
	e.tb.Helper()
	for _, tl := range e.tls {
		if flush {
			if err := tl.FreezeAndFlush(e.ctx); err != nil {
				e.tb.Fatalf("flush %s: %v", tl.ID(), err)
			}
		}
	}
	e.cancel()
	for _, tl := range e.tls {
		if e.noLoops {
			_ = tl.Close()
			continue
		}
		select {
		case <-tl.FlushLoopDone():
		case <-time.After(time.Minute):
			e.tb.Fatalf("flush loop of %s did not exit", tl.ID())
		}
		_ = tl.Close()
	}
	e.tls = map[string]*Timeline{}
}

// reopen opens every timeline from disk again (parents first) on fsys.
func (e *env) reopen(fsys vfs.FS) {
	e.tb.Helper()
	e.fs = fsys
	e.ctx, e.cancel = context.WithCancel(context.Background())
	ids, err := CleanupUninit(fsys, e.dir)
	if err != nil {
		e.tb.Fatal(err)
	}
	byID := map[id.ID]string{}
	for n, v := range e.ids {
		byID[v] = n
	}
	pending := map[id.ID]metadata.Metadata{}
	for _, v := range ids {
		m, err := ReadMetadata(fsys, e.dir+"/"+v.String())
		if err != nil {
			e.tb.Fatal(err)
		}
		pending[v] = m
	}
	for len(pending) > 0 {
		for v, m := range pending {
			var anc *Timeline
			if !m.Ancestor.IsZero() {
				if _, wait := pending[m.Ancestor]; wait {
					continue
				}
				anc = e.tls[byID[m.Ancestor]]
			}
			tl, err := Open(fsys, e.dir, v, anc, e.opts, e.deps)
			if err != nil {
				e.tb.Fatal(err)
			}
			e.start(byID[v], tl)
			delete(pending, v)
		}
	}
}

func (e *env) names() []string {
	var out []string
	for n := range e.tls {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func fmtLayers(tl *Timeline) string {
	var b strings.Builder
	for _, n := range tl.Layers().Layers() {
		fmt.Fprintf(&b, "%s %s %s-%s\n", n.Kind, keysText(n.Keys), n.LSNs.Start, n.LSNs.End)
	}
	return b.String()
}

func keysText(r key.Range) string {
	f := func(k key.Key) string {
		switch k {
		case key.Min:
			return "min"
		case key.Max:
			return "max"
		}
		return fmt.Sprint(k.Field6)
	}
	return f(r.Start) + ".." + f(r.End)
}

func metadataForTest() metadata.Metadata {
	return metadata.Metadata{InitDBLSN: 0x100, LatestGCCutoffLSN: 0x100, PGVersion: 15}
}
