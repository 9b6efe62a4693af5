package layer

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// testRel is the relation "blkN" keys in testdata refer to.
var testRel = key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}

// parseTestKey reads "blkN" (block N of testRel), "all-start", "all-end" or
// a 36-digit key.
func parseTestKey(t testing.TB, s string) key.Key {
	t.Helper()
	switch {
	case strings.HasPrefix(s, "blk"):
		n, err := strconv.ParseUint(s[3:], 10, 32)
		if err != nil {
			t.Fatalf("bad key %q", s)
		}
		return key.RelBlock(testRel, uint32(n))
	case s == "min":
		return key.Min
	case s == "max":
		return key.Max
	}
	k, err := key.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func parseTestRange(t testing.TB, s string) key.Range {
	t.Helper()
	if s == "all" {
		return key.All
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		t.Fatalf("bad key range %q", s)
	}
	return key.Range{Start: parseTestKey(t, a), End: parseTestKey(t, b)}
}

func parseLSNRange(t testing.TB, s string) LSNRange {
	t.Helper()
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		t.Fatalf("bad LSN range %q", s)
	}
	return LSNRange{lsn.MustParse(a), lsn.MustParse(b)}
}

func formatValue(v value.Value) string {
	kind := "image"
	if v.Kind == value.KindRecord {
		kind = "record"
		if v.WillInit {
			kind = "record+init"
		}
	}
	if len(v.Data) > 24 {
		return fmt.Sprintf("%s %q... (%d bytes)", kind, v.Data[:12], len(v.Data))
	}
	return fmt.Sprintf("%s %q", kind, v.Data)
}

// genValue is the value of the i-th generated entry: 100 bytes.
func genValue(i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("v%04d", i)), 20)
}

func parseValue(t testing.TB, kind, data string) value.Value {
	t.Helper()
	s, err := strconv.Unquote(data)
	if err != nil {
		t.Fatalf("bad value %s: %v", data, err)
	}
	switch kind {
	case "image":
		return value.Image([]byte(s))
	case "record":
		return value.Record([]byte(s), false)
	case "record+init":
		return value.Record([]byte(s), true)
	}
	t.Fatalf("bad value kind %q", kind)
	return value.Value{}
}

// describe prints a layer's layout and, if it has at most maxShown entries,
// its logical content.
func describe(t testing.TB, r *Reader) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n", r.Name())
	fmt.Fprintf(&b, "size: %d bytes, %d entries, %d leaves, largest blob %d, fence at %d (%d bytes)\n",
		r.Size(), r.Len(), len(r.leafOff), r.sum.maxBlob, r.sum.fenceOff, r.sum.fenceLen)
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	for i := range r.leafOff {
		l, err := r.loadLeaf(i, s)
		if err != nil {
			t.Fatal(err)
		}
		lo, _ := r.blobBounds(i)
		fmt.Fprintf(&b, "leaf %d: blobs %d..%d, block %d+%d, %d entries, prefix %d bytes\n",
			i, lo, r.leafOff[i], r.leafOff[i], r.leafLen[i], l.count, len(l.prefix))
	}
	const maxShown = 20
	if r.Len() > maxShown {
		return b.String()
	}
	err := r.Iterate(func(k key.Key, at lsn.LSN, v value.Value) bool {
		fmt.Fprintf(&b, "%s@%s %s\n", k, at, formatValue(v))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestContents runs testdata/contents:
//
//	write-delta lsns=A-B keys=RANGE [gen=N]   input: "KEY @LSN KIND \"data\"" lines
//	write-image keys=RANGE lsn=L [gen=N]      input: "KEY \"data\"" lines
//	versions key=KEY lsns=A-B [limit=N]       versions in the last layer, newest first
//
// gen=N adds N generated entries (blocks 1000.. of testRel) after the input.
func TestContents(t *testing.T) {
	fs := vfs.NewCrashFS()
	must(t, fs.MkdirAll("/l", 0o755))
	var r *Reader
	datadriven.RunTest(t, "testdata/contents", func(t *testing.T, d *datadriven.TestData) string {
		arg := func(name string) string {
			for _, a := range d.CmdArgs {
				if a.Key == name && len(a.Vals) > 0 {
					return a.Vals[0]
				}
			}
			return ""
		}
		gen, _ := strconv.Atoi(arg("gen"))
		var desc Desc
		var err error
		switch d.Cmd {
		case "write-delta":
			lsns := parseLSNRange(t, arg("lsns"))
			w, err := NewDeltaWriter(fs, "/l", lsns)
			must(t, err)
			for _, line := range nonEmptyLines(d.Input) {
				f := strings.SplitN(line, " ", 3)
				if err := w.Put(parseTestKey(t, f[0]), lsn.MustParse(strings.TrimPrefix(f[1], "@")), parseValue(t, f[2][:strings.IndexByte(f[2], ' ')], f[2][strings.IndexByte(f[2], ' ')+1:])); err != nil {
					return "error: " + err.Error()
				}
			}
			for i := 0; i < gen; i++ {
				must(t, w.Put(key.RelBlock(testRel, uint32(1000+i)), lsns.Start, value.Image(genValue(i))))
			}
			if desc, err = w.Finish(parseTestRange(t, arg("keys"))); err != nil {
				return "error: " + err.Error()
			}
		case "write-image":
			w, err := NewImageWriter(fs, "/l", parseTestRange(t, arg("keys")), lsn.MustParse(arg("lsn")))
			must(t, err)
			for _, line := range nonEmptyLines(d.Input) {
				k, data, _ := strings.Cut(line, " ")
				if err := w.Put(parseTestKey(t, k), parseValue(t, "image", data).Data); err != nil {
					return "error: " + err.Error()
				}
			}
			for i := 0; i < gen; i++ {
				must(t, w.Put(key.RelBlock(testRel, uint32(1000+i)), genValue(i)))
			}
			if desc, err = w.Finish(); err != nil {
				return "error: " + err.Error()
			}
		case "versions":
			var b strings.Builder
			limit, _ := strconv.Atoi(arg("limit"))
			n := 0
			err := r.Versions(parseTestKey(t, arg("key")), parseLSNRange(t, arg("lsns")), func(at lsn.LSN, v value.Value) bool {
				fmt.Fprintf(&b, "%s %s\n", at, formatValue(v))
				n++
				return limit == 0 || n < limit
			})
			if err != nil {
				return "error: " + err.Error()
			}
			if n == 0 {
				return "none\n"
			}
			return b.String()
		default:
			d.Fatalf(t, "unknown command %q", d.Cmd)
		}
		if r != nil {
			must(t, r.Close())
		}
		r, err = Open(fs, "/l", desc.Name)
		must(t, err)
		if r.Size() != desc.Size {
			t.Fatalf("Desc.Size %d, file has %d bytes", desc.Size, r.Size())
		}
		return describe(t, r)
	})
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWritersRejectMisuse(t *testing.T) {
	fs := vfs.NewCrashFS()
	k1, k2 := key.RelBlock(testRel, 1), key.RelBlock(testRel, 2)
	img := value.Image([]byte("p"))
	tests := []struct {
		name string
		run  func(w *DeltaWriter) error
	}{
		{"a put below the previous key fails", func(w *DeltaWriter) error {
			must(t, w.Put(k2, 10, img))
			return w.Put(k1, 10, img)
		}},
		{"a repeated (key, LSN) fails", func(w *DeltaWriter) error {
			must(t, w.Put(k1, 10, img))
			return w.Put(k1, 10, img)
		}},
		{"a put outside the LSN range fails", func(w *DeltaWriter) error { return w.Put(k1, 20, img) }},
		{"a value of no kind fails", func(w *DeltaWriter) error { return w.Put(k1, 10, value.Value{}) }},
		{"finishing with a key range that misses a key fails", func(w *DeltaWriter) error {
			must(t, w.Put(k2, 10, img))
			_, err := w.Finish(key.Range{Start: k1, End: k2})
			return err
		}},
		{"a put after Finish fails", func(w *DeltaWriter) error {
			must(t, w.Put(k1, 10, img))
			_, err := w.Finish(key.All)
			must(t, err)
			return w.Put(k2, 10, img)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewDeltaWriter(fs, "/", LSNRange{10, 20})
			must(t, err)
			if err := tt.run(w); err == nil {
				t.Fatal("no error")
			}
			_ = w.Abort()
		})
	}
	names, err := fs.List("/")
	must(t, err)
	for _, n := range names {
		if IsTempName(n) {
			t.Errorf("temp file %s left behind", n)
		}
	}
	if _, err := NewImageWriter(fs, "/", key.Range{Start: k2, End: k1}, 5); err == nil {
		t.Error("image writer accepted an empty key range")
	}
	iw, err := NewImageWriter(fs, "/", key.Range{Start: k1, End: k2}, 5)
	must(t, err)
	if err := iw.Put(k2, nil); err == nil {
		t.Error("image put outside the key range succeeded")
	}
	must(t, iw.Abort())
}

func TestOpenRejectsAFileUnderAnotherName(t *testing.T) {
	fs := vfs.NewCrashFS()
	w, err := NewDeltaWriter(fs, "/", LSNRange{10, 20})
	must(t, err)
	must(t, w.Put(key.RelBlock(testRel, 1), 10, value.Image([]byte("p"))))
	d, err := w.Finish(key.All)
	must(t, err)
	other := DeltaName(key.All, LSNRange{10, 30})
	must(t, fs.Rename("/"+d.Name.String(), "/"+other.String()))
	if _, err := Open(fs, "/", other); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open under another name: %v, want ErrCorrupt", err)
	}
}
