package timeline

import (
	"bytes"
	"errors"
	"path"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

func writeFile(tb testing.TB, fsys vfs.FS, p string, b []byte) {
	tb.Helper()
	f, err := fsys.Create(p)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		tb.Fatal(err)
	}
	_ = f.Close()
}

func TestAFlippedByteInALayerFailsReadsAndBreaksTheTimeline(t *testing.T) {
	page := func(c byte) []byte { return bytes.Repeat([]byte{c}, 8192) }
	// Build one timeline with an image layer and a delta layer.
	fsys := vfs.NewCrashFS()
	e := newEnv(t, fsys, Options{WaitLSNTimeout: 1})
	tl := e.createRoot("main", 0x100)
	w := tl.Writer()
	for k := uint32(0); k < 8; k++ {
		_ = w.Put(key.Key{Field6: k}, 0x100, value.Image(page(byte('a'+k))))
	}
	_ = w.FinishWrite(0x100)
	for k := uint32(0); k < 8; k++ {
		_ = w.Put(key.Key{Field6: k}, 0x108, value.Record([]byte{'r', byte(k)}, false))
	}
	_ = w.FinishWrite(0x108)
	w.Close()
	if err := tl.FreezeAndFlush(e.ctx); err != nil {
		t.Fatal(err)
	}
	want := map[uint32][]byte{}
	for k := uint32(0); k < 8; k++ {
		want[k] = append(page(byte('a'+k)), 'r', byte(k))
	}
	e.stop(false)
	pristine := fsys.Crash()
	dir := tl.Dir()

	for _, n := range tl.Layers().Layers() {
		orig, err := vfs.ReadFile(pristine, path.Join(dir, n.String()))
		if err != nil {
			t.Fatal(err)
		}
		detected := 0
		step := max(1, len(orig)/300)
		for off := 0; off < len(orig); off += step {
			cfs := pristine.Crash()
			bad := bytes.Clone(orig)
			bad[off] ^= 0x5A
			writeFile(t, cfs, path.Join(dir, n.String()), bad)
			e2 := newEnv(t, cfs, Options{WaitLSNTimeout: 1})
			e2.ids["main"] = nameID("main")
			e2.reopen(cfs)
			tl2 := e2.tls["main"]
			for k := uint32(0); k < 8; k++ {
				got, err := tl2.Get(e2.ctx, key.Key{Field6: k}, 0x108)
				switch {
				case err == nil:
					if !bytes.Equal(got, want[k]) {
						t.Fatalf("layer %s byte %d flipped: key %d read wrong data", n, off, k)
					}
				case errors.Is(err, ErrCorrupt):
					if !errors.Is(err, layer.ErrCorrupt) {
						t.Fatalf("corruption error does not unwrap to layer.ErrCorrupt: %v", err)
					}
					var ce *CorruptionError
					if !errors.As(err, &ce) || ce.Layer != n.String() {
						t.Fatalf("corruption error does not name the layer: %v", err)
					}
					if s, _ := tl2.State(); s != Broken {
						t.Fatalf("timeline is %s after a corrupt read", s)
					}
					if len(e2.broken) != 1 {
						t.Fatalf("got %d TimelineBroken events, want 1", len(e2.broken))
					}
					detected++
				case errors.Is(err, ErrBroken):
					// Already broken by an earlier key's read.
				default:
					t.Fatalf("layer %s byte %d flipped: key %d: unexpected error %v", n, off, k, err)
				}
			}
			e2.stop(false)
		}
		if detected == 0 {
			t.Fatalf("no flipped byte in layer %s was detected", n)
		}
	}
}
