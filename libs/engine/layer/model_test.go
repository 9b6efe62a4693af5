package layer

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// entry is one version in a model of a layer.
type entry struct {
	k  key.Key
	at lsn.LSN
	v  value.Value
}

func (e entry) String() string { return fmt.Sprintf("%s@%s %s", e.k, e.at, formatValue(e.v)) }

func sameValue(a, b value.Value) bool {
	return a.Kind == b.Kind && a.WillInit == b.WillInit && bytes.Equal(a.Data, b.Data)
}

// randomEntries returns sorted random versions: for an image layer one image
// per key at lsns.Start, for a delta up to 6 versions per key.
func randomEntries(rng *rand.Rand, kind Kind, lsns LSNRange, nkeys int) []entry {
	keys := map[key.Key]bool{}
	for len(keys) < nkeys {
		rel := key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384 + uint32(rng.IntN(3)), Fork: uint8(rng.IntN(2))}
		keys[key.RelBlock(rel, uint32(rng.IntN(5000)))] = true
	}
	sorted := make([]key.Key, 0, nkeys)
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, key.Key.Compare)
	randData := func() []byte {
		n := rng.IntN(200)
		if rng.IntN(20) == 0 {
			n = 8192
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var out []entry
	for _, k := range sorted {
		if kind == KindImage {
			out = append(out, entry{k, lsns.Start, value.Image(randData())})
			continue
		}
		at := lsns.Start
		for n := 1 + rng.IntN(6); n > 0 && at < lsns.End; n-- {
			var v value.Value
			switch rng.IntN(3) {
			case 0:
				v = value.Image(randData())
			case 1:
				v = value.Record(randData(), true)
			default:
				v = value.Record(randData(), false)
			}
			out = append(out, entry{k, at, v})
			at += lsn.LSN(1 + rng.IntN(64))
		}
	}
	return out
}

// writeEntries writes a layer holding es and returns its description.
func writeEntries(t testing.TB, fs vfs.FS, dir string, kind Kind, keys key.Range, lsns LSNRange, es []entry) Desc {
	t.Helper()
	if kind == KindImage {
		w, err := NewImageWriter(fs, dir, keys, lsns.Start)
		must(t, err)
		for _, e := range es {
			must(t, w.Put(e.k, e.v.Data))
		}
		d, err := w.Finish()
		must(t, err)
		return d
	}
	w, err := NewDeltaWriter(fs, dir, lsns)
	must(t, err)
	for _, e := range es {
		must(t, w.Put(e.k, e.at, e.v))
	}
	d, err := w.Finish(keys)
	must(t, err)
	return d
}

// modelVersions returns the versions of k in lsns, newest first.
func modelVersions(es []entry, k key.Key, lsns LSNRange) []entry {
	var out []entry
	for _, e := range es {
		if e.k == k && lsns.Contains(e.at) {
			out = append(out, e)
		}
	}
	slices.Reverse(out)
	return out
}

// readVersions returns what r.Versions yields (values copied).
func readVersions(r *Reader, k key.Key, lsns LSNRange, limit int) ([]entry, error) {
	var out []entry
	err := r.Versions(k, lsns, func(at lsn.LSN, v value.Value) bool {
		v.Data = bytes.Clone(v.Data)
		out = append(out, entry{k, at, v})
		return limit == 0 || len(out) < limit
	})
	return out, err
}

func readAll(r *Reader) ([]entry, error) {
	var out []entry
	err := r.Iterate(func(k key.Key, at lsn.LSN, v value.Value) bool {
		v.Data = bytes.Clone(v.Data)
		out = append(out, entry{k, at, v})
		return true
	})
	return out, err
}

func sameEntries(a, b []entry) bool {
	return slices.EqualFunc(a, b, func(x, y entry) bool { return x.k == y.k && x.at == y.at && sameValue(x.v, y.v) })
}

func TestRandomLayersReadBackAsWritten(t *testing.T) {
	for _, kind := range []Kind{KindDelta, KindImage} {
		for seed := uint64(0); seed < 12; seed++ {
			t.Run(fmt.Sprintf("%s seed %d", kind, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 1))
				lsns := LSNRange{0x1000, 0x1000 + lsn.LSN(1+rng.IntN(500))}
				if kind == KindImage {
					lsns.End = lsns.Start + 1
				}
				es := randomEntries(rng, kind, lsns, 1+rng.IntN(600))
				fs := vfs.NewCrashFS()
				d := writeEntries(t, fs, "/", kind, key.All, lsns, es)
				r, err := Open(fs, "/", d.Name)
				must(t, err)
				defer r.Close()
				if r.Len() != len(es) {
					t.Fatalf("Len = %d, want %d", r.Len(), len(es))
				}
				all, err := readAll(r)
				must(t, err)
				if !sameEntries(all, es) {
					t.Fatalf("Iterate returned %d entries that differ from the %d written", len(all), len(es))
				}
				for i := 0; i < 20; i++ {
					a, b := es[rng.IntN(len(es))].k, es[rng.IntN(len(es))].k
					if i%3 == 0 {
						a = a.Next()
					}
					if b.Less(a) {
						a, b = b, a
					}
					kr := key.Range{Start: a, End: b}
					var want, got []entry
					for _, e := range es {
						if kr.Contains(e.k) {
							want = append(want, e)
						}
					}
					err := r.IterateRange(kr, func(k key.Key, at lsn.LSN, v value.Value) bool {
						v.Data = bytes.Clone(v.Data)
						got = append(got, entry{k, at, v})
						return true
					})
					must(t, err)
					if !sameEntries(got, want) {
						t.Fatalf("IterateRange(%s) returned %d entries, want %d", kr, len(got), len(want))
					}
				}
				probe := []key.Key{key.Min, key.Max, key.RelBlock(key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16385}, 7)}
				for _, e := range es {
					probe = append(probe, e.k, e.k.Next())
				}
				for _, k := range probe {
					for i := 0; i < 3; i++ {
						a := lsn.LSN(rng.IntN(600)) + 0xF00
						q := LSNRange{a, a + lsn.LSN(rng.IntN(700))}
						if i == 0 {
							q = LSNRange{0, lsn.Max}
						}
						want := modelVersions(es, k, q)
						got, err := readVersions(r, k, q, 0)
						must(t, err)
						if !sameEntries(got, want) {
							t.Fatalf("Versions(%s, %s) = %v, want %v", k, q, got, want)
						}
						if len(want) > 1 {
							got, err := readVersions(r, k, q, 1)
							must(t, err)
							if !sameEntries(got, want[:1]) {
								t.Fatalf("Versions(%s, %s) did not stop after the first version", k, q)
							}
						}
					}
				}
			})
		}
	}
}

// corruptSubjects writes a small delta and a small image layer (each more
// than one leaf) and returns their bytes, names and contents.
func corruptSubjects(t testing.TB) []struct {
	name Name
	data []byte
	es   []entry
} {
	t.Helper()
	var out []struct {
		name Name
		data []byte
		es   []entry
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, kind := range []Kind{KindDelta, KindImage} {
		lsns := LSNRange{0x100, 0x200}
		if kind == KindImage {
			lsns.End = 0x101
		}
		nkeys := 40
		if kind == KindImage {
			nkeys = maxLeafEntries + 20
		}
		es := randomEntries(rng, kind, lsns, nkeys)
		for len(es) <= maxLeafEntries {
			es = randomEntries(rng, kind, lsns, nkeys)
		}
		for i := range es { // keep the file small: short values
			es[i].v.Data = es[i].v.Data[:min(len(es[i].v.Data), 3)]
		}
		fs := vfs.NewCrashFS()
		d := writeEntries(t, fs, "/", kind, key.All, lsns, es)
		data, err := vfs.ReadFile(fs, "/"+d.Name.String())
		must(t, err)
		out = append(out, struct {
			name Name
			data []byte
			es   []entry
		}{d.Name, data, es})
	}
	return out
}

// TestEveryFlippedByteIsDetected flips each byte of small layer files, one at
// a time. Open or Verify must report ErrCorrupt, and every read must return
// either ErrCorrupt or exactly the written data: never wrong data, never a
// panic.
func TestEveryFlippedByteIsDetected(t *testing.T) {
	for _, sub := range corruptSubjects(t) {
		if len(sub.es) <= maxLeafEntries {
			t.Fatalf("subject has %d entries, want more than one leaf", len(sub.es))
		}
		t.Logf("%s layer: %d bytes, %d entries", sub.name.Kind, len(sub.data), len(sub.es))
		for pos := range sub.data {
			if testing.Short() && pos%4 != 0 {
				continue
			}
			// A single flipped bit, a different one at each position, and
			// every bit of the byte at every 7th position.
			masks := []byte{1 << (pos % 8)}
			if pos%7 == 0 {
				masks = append(masks, 0xFF)
			}
			for _, mask := range masks {
				data := bytes.Clone(sub.data)
				data[pos] ^= mask
				checkCorruptFile(t, sub.name, data, sub.es, fmt.Sprintf("byte %d ^ %02x", pos, mask), pos)
			}
		}
	}
}

func TestTruncatedAndExtendedFilesAreCorrupt(t *testing.T) {
	for _, sub := range corruptSubjects(t) {
		for n := 0; n < len(sub.data); n += 1 + n/50 {
			checkCorruptFile(t, sub.name, sub.data[:n], sub.es, fmt.Sprintf("truncated to %d", n), n)
		}
		checkCorruptFile(t, sub.name, append(bytes.Clone(sub.data), 0), sub.es, "one byte appended", 0)
	}
}

// checkCorruptFile opens data as layer n and checks that reads either fail
// with ErrCorrupt or return exactly es, and that some read fails. To keep
// the test fast it probes Versions on a fifth of the keys, chosen by salt.
func checkCorruptFile(t *testing.T, n Name, data []byte, es []entry, what string, salt int) {
	t.Helper()
	fs := vfs.NewCrashFS()
	f, err := fs.Create("/" + n.String())
	must(t, err)
	_, _ = f.Write(data)
	must(t, f.Close())
	r, err := Open(fs, "/", n)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: Open: %v, want ErrCorrupt", what, err)
		}
		return
	}
	defer r.Close()
	detected := false
	check := func(op string, err error, ok bool) {
		switch {
		case err != nil && !errors.Is(err, ErrCorrupt):
			t.Fatalf("%s: %s: %v, want ErrCorrupt", what, op, err)
		case err != nil:
			detected = true
		case !ok:
			t.Fatalf("%s: %s returned wrong data without an error", what, op)
		}
	}
	all, err := readAll(r)
	check("Iterate", err, sameEntries(all, es))
	for i, e := range es {
		if (i > 0 && es[i-1].k == e.k) || (i+salt)%5 != 0 {
			continue
		}
		q := LSNRange{0, lsn.Max}
		got, err := readVersions(r, e.k, q, 0)
		check("Versions "+e.k.String(), err, sameEntries(got, modelVersions(es, e.k, q)))
		got, err = readVersions(r, e.k.Next(), q, 0)
		check("Versions of the next key", err, sameEntries(got, modelVersions(es, e.k.Next(), q)))
	}
	if !detected {
		t.Fatalf("%s: not detected", what)
	}
}

// FuzzOpen feeds arbitrary bytes to Open, Versions and Iterate: they must
// not panic, and every error they return on a file that opens must be
// ErrCorrupt.
func FuzzOpen(f *testing.F) {
	subs := corruptSubjects(f)
	for i, s := range subs {
		f.Add(s.data, i == 1)
	}
	f.Add([]byte("STRATAD\x01"), false)
	f.Fuzz(func(t *testing.T, data []byte, image bool) {
		sub := subs[0]
		if image {
			sub = subs[1]
		}
		fs := vfs.NewCrashFS()
		fl, err := fs.Create("/" + sub.name.String())
		must(t, err)
		_, _ = fl.Write(data)
		must(t, fl.Close())
		r, err := Open(fs, "/", sub.name)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			return
		}
		defer r.Close()
		if _, err := readAll(r); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Iterate: %v", err)
		}
		for _, e := range sub.es[:10] {
			if _, err := readVersions(r, e.k, LSNRange{0, lsn.Max}, 0); err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Versions: %v", err)
			}
		}
	})
}
