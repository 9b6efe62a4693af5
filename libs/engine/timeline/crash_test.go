package timeline

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// crashScenario ingests into one root timeline in phases; each phase ends
// with a FreezeAndFlush. The model records every put.
type crashScenario struct {
	initdb lsn.LSN
	phases []func(e *env, m *model) error
}

func newCrashScenario() crashScenario {
	initdb := lsn.LSN(0x100)
	batch := func(e *env, m *model, at lsn.LSN, puts map[uint32]value.Value) error {
		w := e.tls["main"].Writer()
		defer w.Close()
		for k, v := range puts {
			if err := w.Put(key.Key{Field6: k}, at, v); err != nil {
				return err
			}
			m.vers["main"][k] = append(m.vers["main"][k], modelVer{at, v})
		}
		m.last["main"] = at
		return w.FinishWrite(at)
	}
	flush := func(e *env) error { return e.tls["main"].FreezeAndFlush(e.ctx) }
	return crashScenario{initdb: initdb, phases: []func(*env, *model) error{
		func(e *env, m *model) error { // the initial import: image layers
			if err := batch(e, m, initdb, map[uint32]value.Value{1: value.Image([]byte("A")), 2: value.Image([]byte("B")), 5: value.Image([]byte("E"))}); err != nil {
				return err
			}
			return flush(e)
		},
		func(e *env, m *model) error { // an L0 delta
			for i := 1; i <= 4; i++ {
				at := initdb + lsn.LSN(8*i)
				if err := batch(e, m, at, map[uint32]value.Value{uint32(i): value.Record([]byte(fmt.Sprint(i)), false), 9: value.Record([]byte("n"), i == 1)}); err != nil {
					return err
				}
			}
			return flush(e)
		},
		func(e *env, m *model) error { // another L0 delta over the first
			if err := batch(e, m, initdb+0x40, map[uint32]value.Value{1: value.Image([]byte("Z")), 2: value.Record([]byte("y"), false)}); err != nil {
				return err
			}
			return flush(e)
		},
	}}
}

// gate is an injector the test arms for one phase.
type gate struct {
	mu    sync.Mutex
	armed bool
	count int
	fn    func(n int, op vfs.Op, path string) error
}

func (g *gate) MaybeError(op vfs.Op, path string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.armed {
		return nil
	}
	g.count++
	if g.fn == nil {
		return nil
	}
	return g.fn(g.count, op, path)
}

func (g *gate) arm(on bool) {
	g.mu.Lock()
	g.armed = on
	g.mu.Unlock()
}

// runScenario runs the phases before target unarmed, then target armed.
func runScenario(t *testing.T, sc crashScenario, target int, g *gate, fsys vfs.FS) (*env, *model, error) {
	t.Helper()
	e := newEnv(t, fsys, Options{WaitLSNTimeout: 1})
	m := &model{parent: map[string]string{}, branch: map[string]lsn.LSN{}, vers: map[string]map[uint32][]modelVer{"main": {}}, last: map[string]lsn.LSN{}}
	e.createRoot("main", sc.initdb)
	for i := 0; i < target; i++ {
		if err := sc.phases[i](e, m); err != nil {
			t.Fatalf("phase %d: %v", i, err)
		}
	}
	g.arm(true)
	err := sc.phases[target](e, m)
	g.arm(false)
	return e, m, err
}

// verifyRecovered opens the timeline from a crashed filesystem and checks
// every read at or below disk_consistent_lsn against the model.
func verifyRecovered(t *testing.T, crashed *vfs.CrashFS, m *model, allowed []lsn.LSN, what string) {
	t.Helper()
	e := newEnv(t, crashed, Options{WaitLSNTimeout: 1})
	e.ids["main"] = nameID("main")
	e.reopen(crashed)
	tl := e.tls["main"]
	disk := tl.DiskConsistentLSN()
	ok := false
	for _, a := range allowed {
		ok = ok || a == disk
	}
	if !ok {
		t.Fatalf("%s: disk_consistent_lsn %s, want one of %v", what, disk, allowed)
	}
	if tl.LastRecordLSN() != disk {
		t.Fatalf("%s: last_record_lsn %s != disk_consistent_lsn %s", what, tl.LastRecordLSN(), disk)
	}
	names, err := crashed.List(tl.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if vfs.IsTemp(n) {
			t.Fatalf("%s: temp file %s survived recovery", what, n)
		}
	}
	for _, n := range tl.Layers().Layers() {
		if n.LSNs.End > disk+1 {
			t.Fatalf("%s: layer %s above disk_consistent_lsn %s was loaded", what, n, disk)
		}
		r, err := layer.Open(crashed, tl.Dir(), n)
		if err != nil {
			t.Fatalf("%s: loaded layer %s does not open: %v", what, n, err)
		}
		if err := r.Verify(); err != nil {
			t.Fatalf("%s: loaded layer %s is partial: %v", what, n, err)
		}
		_ = r.Close()
	}
	if !disk.IsValid() {
		return
	}
	for at := m.vers["main"][1][0].at; at <= disk; at += 8 {
		for k := uint32(0); k < 10; k++ {
			want, exists := m.get("main", k, at)
			got, err := tl.Get(e.ctx, key.Key{Field6: k}, at)
			if !exists {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("%s: key %d at %s: got %q, %v; want not found", what, k, at, got, err)
				}
				continue
			}
			if err != nil || string(got) != string(want) {
				t.Fatalf("%s: key %d at %s: got %q, %v; want %q", what, k, at, got, err, want)
			}
		}
	}
}

func TestCrashAtEveryStepOfFlushAndMetadataWrite(t *testing.T) {
	sc := newCrashScenario()
	for target := range sc.phases {
		// Count the filesystem operations of the target phase.
		g := &gate{}
		cfs := vfs.NewCrashFS()
		e, m, err := runScenario(t, sc, target, g, vfs.NewErrorFS(cfs, g))
		if err != nil {
			t.Fatal(err)
		}
		ops := g.count
		before := lsn.Invalid
		if target > 0 {
			before = e.tls["main"].DiskConsistentLSN() // unchanged below
		}
		after := e.tls["main"].DiskConsistentLSN()
		e.stop(false)
		if target > 0 {
			before = map[int]lsn.LSN{1: sc.initdb, 2: sc.initdb + 0x20}[target]
		}
		_ = m
		if ops < 5 {
			t.Fatalf("phase %d did only %d filesystem operations", target, ops)
		}
		for n := 1; n <= ops; n++ {
			for _, mode := range []string{"crash", "error then crash"} {
				t.Run(fmt.Sprintf("phase %d op %d of %d %s", target, n, ops, mode), func(t *testing.T) {
					cfs := vfs.NewCrashFS()
					var snap *vfs.CrashFS
					var opName string
					g := &gate{fn: func(i int, op vfs.Op, path string) error {
						if i != n {
							return nil
						}
						opName = op.String() + " " + path
						if mode == "crash" {
							snap = cfs.Crash()
							return nil
						}
						return fmt.Errorf("injected at %s %s: %w", op, path, vfs.ErrInjected)
					}}
					e, m, err := runScenario(t, sc, target, g, vfs.NewErrorFS(cfs, g))
					if mode == "error then crash" {
						if err == nil && !strings.HasPrefix(opName, "remove") && !strings.HasPrefix(opName, "close") {
							// Some failures (e.g. of a best-effort cleanup) need not fail the flush.
							t.Logf("flush survived an error at %s", opName)
						}
						e.stop(false)
						snap = cfs.Crash()
					} else {
						if err != nil {
							t.Fatalf("flush failed without an injected error: %v", err)
						}
						e.stop(false)
					}
					verifyRecovered(t, snap, m, []lsn.LSN{before, after}, fmt.Sprintf("crash at %s", opName))
				})
			}
		}
	}
}

func TestCrashAtEveryStepOfTimelineCreation(t *testing.T) {
	dir := "/tenant/timelines"
	create := func(fsys vfs.FS) error {
		if err := vfs.MkdirAllDurable(fsys, dir, 0o755); err != nil {
			return err
		}
		tl, err := Create(fsys, dir, nameID("new"), metadataForTest(), nil, Options{}, Deps{})
		if err != nil {
			return err
		}
		return tl.MarkInitialized()
	}
	g := &gate{}
	g.arm(true)
	if err := create(vfs.NewErrorFS(vfs.NewCrashFS(), g)); err != nil {
		t.Fatal(err)
	}
	ops := g.count
	for n := 1; n <= ops+1; n++ {
		t.Run(fmt.Sprintf("crash before op %d of %d", n, ops), func(t *testing.T) {
			cfs := vfs.NewCrashFS()
			var snap *vfs.CrashFS
			g := &gate{fn: func(i int, _ vfs.Op, _ string) error {
				if i == n {
					snap = cfs.Crash()
				}
				return nil
			}}
			g.arm(true)
			if err := create(vfs.NewErrorFS(cfs, g)); err != nil {
				t.Fatal(err)
			}
			if snap == nil {
				snap = cfs.Crash()
			}
			if _, err := snap.Stat(dir); err != nil {
				return // nothing durable yet
			}
			ids, err := CleanupUninit(snap, dir)
			if err != nil {
				t.Fatal(err)
			}
			names, _ := snap.List(dir)
			switch {
			case len(ids) == 0:
				if len(names) != 0 {
					t.Fatalf("half-created timeline left behind: %v", names)
				}
			case n <= ops:
				// The mark was removed durably only by the last operation.
				t.Fatalf("timeline survived a crash before its uninit mark was removed: %v", names)
			default:
				tl, err := Open(snap, dir, ids[0], nil, Options{}, Deps{})
				if err != nil {
					t.Fatalf("created timeline does not open: %v", err)
				}
				_ = tl.Close()
			}
		})
	}
}
