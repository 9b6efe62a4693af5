package layer

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// writeWith writes es as a layer through fs and returns the writer's error.
func writeWith(fs vfs.FS, kind Kind, lsns LSNRange, es []entry) (Desc, error) {
	if kind == KindImage {
		w, err := NewImageWriter(fs, "/l", key.All, lsns.Start)
		if err != nil {
			return Desc{}, err
		}
		for _, e := range es {
			if err := w.Put(e.k, e.v.Data); err != nil {
				_ = w.Abort()
				return Desc{}, err
			}
		}
		return w.Finish()
	}
	w, err := NewDeltaWriter(fs, "/l", lsns)
	if err != nil {
		return Desc{}, err
	}
	for _, e := range es {
		if err := w.Put(e.k, e.at, e.v); err != nil {
			_ = w.Abort()
			return Desc{}, err
		}
	}
	return w.Finish(key.All)
}

// TestWriterCrashAtEveryStep makes each filesystem mutation of a layer write
// fail in turn (and every later one, as if the machine died there), then
// crashes: a file under the layer's final name must be complete and exact,
// and one exists only if the write got past its rename.
func TestWriterCrashAtEveryStep(t *testing.T) {
	for _, kind := range []Kind{KindDelta, KindImage} {
		t.Run(kind.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			lsns := LSNRange{0x100, 0x900}
			if kind == KindImage {
				lsns.End = 0x101
			}
			es := randomEntries(rng, kind, lsns, 400) // > writeBufferSize: several writes
			fresh := func() *vfs.CrashFS {
				fs := vfs.NewCrashFS()
				must(t, vfs.MkdirAllDurable(fs, "/l", 0o755))
				return fs
			}
			counter := vfs.CountOps(vfs.Mutations)
			d, err := writeWith(vfs.NewErrorFS(fresh(), counter), kind, lsns, es)
			must(t, err)
			steps := counter.Count()
			if steps < 5 {
				t.Fatalf("only %d mutating steps", steps)
			}
			for step := 1; step <= steps+1; step++ {
				base := fresh()
				_, err := writeWith(vfs.NewErrorFS(base, vfs.FailNth(step, vfs.Mutations, true)), kind, lsns, es)
				if step <= steps && !errors.Is(err, vfs.ErrInjected) {
					t.Fatalf("step %d: error %v, want ErrInjected", step, err)
				}
				if step > steps && err != nil {
					t.Fatalf("no failure injected, yet: %v", err)
				}
				crashed := base.Crash()
				names, err := crashed.List("/l")
				must(t, err)
				found := false
				for _, n := range names {
					if IsTempName(n) {
						continue
					}
					if n != d.Name.String() {
						t.Fatalf("step %d: unexpected file %s", step, n)
					}
					found = true
					r, err := Open(crashed, "/l", d.Name)
					must(t, err)
					all, err := readAll(r)
					must(t, err)
					if !sameEntries(all, es) {
						t.Fatalf("step %d: layer survived the crash with different content", step)
					}
					must(t, r.Close())
				}
				// Only a complete run leaves the layer behind: when the
				// last step, the directory sync after the rename, fails,
				// the rename is not durable.
				if want := step > steps; found != want {
					t.Errorf("step %d of %d: layer present after crash = %v, want %v", step, steps, found, want)
				}
			}
		})
	}
}

// TestFinishedLayerSurvivesACrash: Finish makes the layer durable.
func TestFinishedLayerSurvivesACrash(t *testing.T) {
	fs := vfs.NewCrashFS()
	must(t, vfs.MkdirAllDurable(fs, "/l", 0o755))
	rng := rand.New(rand.NewPCG(5, 6))
	lsns := LSNRange{1, 100}
	es := randomEntries(rng, KindDelta, lsns, 50)
	d, err := writeWith(fs, KindDelta, lsns, es)
	must(t, err)
	r, err := Open(fs.Crash(), "/l", d.Name)
	must(t, err)
	all, err := readAll(r)
	must(t, err)
	if !sameEntries(all, es) {
		t.Fatalf("layer differs after a crash: %d entries, want %d", len(all), len(es))
	}
}

// TestReadErrorsAreNotCorruption: an I/O error while reading is reported as
// itself, not as ErrCorrupt (it may be transient; corruption is not).
func TestReadErrorsAreNotCorruption(t *testing.T) {
	base := vfs.NewCrashFS()
	must(t, vfs.MkdirAllDurable(base, "/l", 0o755))
	rng := rand.New(rand.NewPCG(8, 9))
	lsns := LSNRange{1, 100}
	es := randomEntries(rng, KindDelta, lsns, 20)
	d, err := writeWith(base, KindDelta, lsns, es)
	must(t, err)
	for step := 1; ; step++ {
		fs := vfs.NewErrorFS(base, vfs.FailNth(step, vfs.OnOps(vfs.OpRead), true))
		r, err := Open(fs, "/l", d.Name)
		if err == nil {
			_, err = readAll(r)
			_ = r.Close()
		}
		if err == nil {
			if step < 3 {
				t.Fatalf("only %d reads", step-1)
			}
			return
		}
		if !errors.Is(err, vfs.ErrInjected) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("read %d failing: %v, want ErrInjected and not ErrCorrupt", step, err)
		}
	}
}

func TestReaderIsSafeForConcurrentUse(t *testing.T) {
	fs := vfs.NewCrashFS()
	rng := rand.New(rand.NewPCG(10, 11))
	lsns := LSNRange{1, 1000}
	es := randomEntries(rng, KindDelta, lsns, 300)
	d := writeEntries(t, fs, "/", KindDelta, key.All, lsns, es)
	r, err := Open(fs, "/", d.Name)
	must(t, err)
	defer r.Close()
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := g; i < len(es); i += 4 {
				got, err := readVersions(r, es[i].k, lsns, 0)
				if err != nil {
					done <- err
					return
				}
				if !sameEntries(got, modelVersions(es, es[i].k, lsns)) {
					done <- errors.New("wrong versions under concurrency")
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		must(t, <-done)
	}
}
