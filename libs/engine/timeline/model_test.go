package timeline

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// model is the reference: every version of every key per timeline, plus the
// branch structure. Reading applies the append redoer's rule by hand.
type model struct {
	parent map[string]string
	branch map[string]lsn.LSN
	vers   map[string]map[uint32][]modelVer // oldest first
	last   map[string]lsn.LSN
}

type modelVer struct {
	at lsn.LSN
	v  value.Value
}

func (m *model) get(tl string, k uint32, at lsn.LSN) ([]byte, bool) {
	var recs [][]byte // newest first
	var base []byte
	found := false
	for tl != "" && !found {
		vs := m.vers[tl][k]
		for i := len(vs) - 1; i >= 0 && !found; i-- {
			if vs[i].at > at {
				continue
			}
			switch v := vs[i].v; {
			case v.IsImage():
				base, found = v.Data, true
			case v.WillInit:
				recs, found = append(recs, v.Data), true
				base = []byte{}
			default:
				recs = append(recs, v.Data)
			}
		}
		if p := m.parent[tl]; p != "" && !found {
			at = min(at, m.branch[tl])
			tl = p
			continue
		}
		break
	}
	if !found {
		return nil, false
	}
	out := append([]byte(nil), base...)
	for i := len(recs) - 1; i >= 0; i-- {
		out = append(out, recs[i]...)
	}
	return out, true
}

func TestModelRandomBranchesFlushesAndReopens(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { runModel(t, seed, 400, false) })
	}
}

func TestModelWithFrozenLayersPilingUpInMemory(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { runModel(t, seed, 200, true) })
	}
}

func runModel(t *testing.T, seed uint64, steps int, noLoops bool) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	const keys = 12
	initdb := lsn.LSN(0x100)
	e := newEnv(t, vfs.NewCrashFS(), Options{CheckpointDistance: 200 + int64(rng.IntN(400)), WaitLSNTimeout: 1})
	e.noLoops = noLoops
	m := &model{parent: map[string]string{}, branch: map[string]lsn.LSN{}, vers: map[string]map[uint32][]modelVer{}, last: map[string]lsn.LSN{}}
	put := func(name string, at lsn.LSN, puts map[uint32]value.Value) {
		w := e.tls[name].Writer()
		defer w.Close()
		for k, v := range puts {
			if err := w.Put(key.Key{Field6: k}, at, v); err != nil {
				t.Fatal(err)
			}
			if m.vers[name] == nil {
				m.vers[name] = map[uint32][]modelVer{}
			}
			m.vers[name][k] = append(m.vers[name][k], modelVer{at, v})
		}
		if err := w.FinishWrite(at); err != nil {
			t.Fatal(err)
		}
		m.last[name] = at
	}
	e.createRoot("t0", initdb)
	img := map[uint32]value.Value{}
	for k := uint32(0); k < keys; k += 2 {
		img[k] = value.Image([]byte(fmt.Sprintf("i%d", k)))
	}
	put("t0", initdb, img)
	names := []string{"t0"}
	spot := func(when string) {
		name := names[rng.IntN(len(names))]
		at := initdb + lsn.LSN(8*rng.IntN(int((m.last[name]-initdb)/8)+1))
		k := uint32(rng.IntN(keys))
		want, ok := m.get(name, k, at)
		got, err := e.tls[name].Get(e.ctx, key.Key{Field6: k}, at)
		if (!ok && !errors.Is(err, ErrNotFound)) || (ok && (err != nil || string(got) != string(want))) {
			t.Fatalf("%s: %s key %d at %s: got %q, %v; want %q (exists %v)", when, name, k, at, got, err, want, ok)
		}
	}
	for step := 0; step < steps; step++ {
		name := names[rng.IntN(len(names))]
		switch r := rng.IntN(100); {
		case r < 75:
			at := m.last[name] + lsn.LSN(8*(1+rng.IntN(3)))
			puts := map[uint32]value.Value{}
			for i := 0; i < 1+rng.IntN(3); i++ {
				d := []byte(fmt.Sprintf("<%d.%d>", step, i))
				switch c := rng.IntN(10); {
				case c < 2:
					puts[uint32(rng.IntN(keys))] = value.Image(d)
				case c < 3:
					puts[uint32(rng.IntN(keys))] = value.Record(d, true)
				default:
					puts[uint32(rng.IntN(keys))] = value.Record(d, false)
				}
			}
			put(name, at, puts)
		case r < 85:
			if noLoops {
				break
			}
			if err := e.tls[name].FreezeAndFlush(e.ctx); err != nil {
				t.Fatal(err)
			}
		case r < 92 && len(names) < 6:
			lo := e.tls[name].AncestorLSN()
			if name == "t0" {
				lo = initdb
			}
			at := lo + lsn.LSN(8*rng.IntN(int((m.last[name]-lo)/8)+1))
			child := fmt.Sprintf("t%d", len(names))
			if _, err := e.branch(child, name, at); err != nil {
				t.Fatalf("branch %s from %s at %s: %v", child, name, at, err)
			}
			m.parent[child], m.branch[child], m.last[child] = name, at, at
			names = append(names, child)
		case r < 95 && !noLoops:
			e.stop(true)
			e.reopen(e.fs)
		}
		for i := 0; i < 3; i++ {
			spot(fmt.Sprintf("step %d", step))
		}
	}
	check := func(when string) {
		for _, name := range names {
			lo := initdb
			for at := lo; at <= m.last[name]; at += 8 {
				for k := uint32(0); k < keys; k++ {
					want, ok := m.get(name, k, at)
					got, err := e.tls[name].Get(e.ctx, key.Key{Field6: k}, at)
					if !ok {
						if !errors.Is(err, ErrNotFound) {
							t.Fatalf("%s: %s key %d at %s: got %q, %v; want not found", when, name, k, at, got, err)
						}
						continue
					}
					if err != nil || string(got) != string(want) {
						t.Fatalf("%s: %s key %d at %s: got %q, %v; want %q", when, name, k, at, got, err, want)
					}
				}
			}
		}
	}
	check("before reopen")
	if noLoops {
		return
	}
	e.stop(true)
	e.reopen(e.fs)
	check("after reopen")
}
