package layermap

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// The test notation keeps names short: a key is a decimal block number (key
// with only field6 set) or "max"; LSNs are decimal. Layers are written
//
//	delta <k1>-<k2> <lsn1>-<lsn2>
//	image <k1>-<k2> <lsn>
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var cur Current
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "add", "remove":
				var e Edit
				for _, line := range lines(d.Input) {
					n, err := parseLayer(line)
					if err != nil {
						return "error: " + err.Error()
					}
					if d.Cmd == "add" {
						e.Add = append(e.Add, n)
					} else {
						e.Remove = append(e.Remove, n)
					}
				}
				m, err := cur.Apply(e)
				if err != nil {
					return "error: " + err.Error()
				}
				return dump(m)
			case "search":
				k, l := argKey(t, d, "key"), argLSN(t, d, "lsn")
				r, ok := cur.Load().Search(k, l)
				if !ok {
					return "none"
				}
				return fmt.Sprintf("%s floor=%d", format(r.Layer), r.Floor)
			case "exists":
				keys, lsns := argKeys(t, d, "keys"), argLSNs(t, d, "lsns")
				return strconv.FormatBool(cur.Load().ImageLayerExists(keys, lsns))
			case "coverage":
				var b strings.Builder
				for _, c := range cur.Load().ImageCoverage(argKeys(t, d, "keys"), argLSN(t, d, "lsn")) {
					img := "none"
					if c.HasImage {
						img = format(c.Image)
					}
					fmt.Fprintf(&b, "%s-%s: %s\n", fmtKey(c.Keys.Start), fmtKey(c.Keys.End), img)
				}
				return b.String()
			case "count-deltas":
				return strconv.Itoa(cur.Load().CountDeltas(argKeys(t, d, "keys"), argLSNs(t, d, "lsns")))
			case "l0":
				var b strings.Builder
				for _, n := range cur.Load().L0() {
					fmt.Fprintln(&b, format(n))
				}
				return b.String()
			default:
				t.Fatalf("unknown command %q", d.Cmd)
				return ""
			}
		})
	})
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func dump(m *Map) string {
	var b strings.Builder
	for _, n := range m.Layers() {
		fmt.Fprintln(&b, format(n))
	}
	return b.String()
}

func parseKey(s string) (key.Key, error) {
	if s == "max" {
		return key.Max, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return key.Key{}, fmt.Errorf("bad key %q", s)
	}
	return key.Key{Field6: uint32(n)}, nil
}

func fmtKey(k key.Key) string {
	if k == key.Max {
		return "max"
	}
	return strconv.FormatUint(uint64(k.Field6), 10)
}

func parseKeys(s string) (key.Range, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return key.Range{}, fmt.Errorf("bad key range %q", s)
	}
	ka, err1 := parseKey(a)
	kb, err2 := parseKey(b)
	if err1 != nil || err2 != nil {
		return key.Range{}, fmt.Errorf("bad key range %q", s)
	}
	return key.Range{Start: ka, End: kb}, nil
}

func parseLSNs(s string) (layer.LSNRange, error) {
	a, b, ok := strings.Cut(s, "-")
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return layer.LSNRange{}, fmt.Errorf("bad LSN range %q", s)
	}
	return layer.LSNRange{Start: lsn.LSN(x), End: lsn.LSN(y)}, nil
}

func parseLayer(line string) (layer.Name, error) {
	f := strings.Fields(line)
	if len(f) != 3 {
		return layer.Name{}, fmt.Errorf("bad layer %q", line)
	}
	keys, err := parseKeys(f[1])
	if err != nil {
		return layer.Name{}, err
	}
	switch f[0] {
	case "delta":
		lsns, err := parseLSNs(f[2])
		return layer.Name{Kind: layer.KindDelta, Keys: keys, LSNs: lsns}, err
	case "image":
		l, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return layer.Name{}, fmt.Errorf("bad LSN %q", f[2])
		}
		return layer.Name{Kind: layer.KindImage, Keys: keys, LSNs: layer.LSNRange{Start: lsn.LSN(l), End: lsn.LSN(l) + 1}}, nil
	}
	return layer.Name{}, fmt.Errorf("bad layer kind %q", f[0])
}

func format(n layer.Name) string {
	keys := fmtKey(n.Keys.Start) + "-" + fmtKey(n.Keys.End)
	if isImage(n) {
		return fmt.Sprintf("image %s %d", keys, n.LSNs.Start)
	}
	return fmt.Sprintf("delta %s %d-%d", keys, n.LSNs.Start, n.LSNs.End)
}

func arg(t *testing.T, d *datadriven.TestData, name string) string {
	t.Helper()
	var s string
	d.ScanArgs(t, name, &s)
	return s
}

func argKey(t *testing.T, d *datadriven.TestData, name string) key.Key {
	k, err := parseKey(arg(t, d, name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func argLSN(t *testing.T, d *datadriven.TestData, name string) lsn.LSN {
	v, err := strconv.ParseUint(arg(t, d, name), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return lsn.LSN(v)
}

func argKeys(t *testing.T, d *datadriven.TestData, name string) key.Range {
	r, err := parseKeys(arg(t, d, name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func argLSNs(t *testing.T, d *datadriven.TestData, name string) layer.LSNRange {
	r, err := parseLSNs(arg(t, d, name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReadersSeeConsistentSnapshotsWhileWritersEdit(t *testing.T) {
	var cur Current
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			l0 := layer.Name{Kind: layer.KindDelta, Keys: key.All, LSNs: layer.LSNRange{Start: lsn.LSN(i*10 + 1), End: lsn.LSN(i*10 + 11)}}
			if _, err := cur.Apply(Edit{Add: []layer.Name{l0}}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		m := cur.Load()
		if n := m.Len(); n != len(m.L0()) {
			t.Fatalf("snapshot has %d layers but %d L0", n, len(m.L0()))
		}
	}
	wg.Wait()
	if got := cur.Load().Len(); got != 200 {
		t.Fatalf("got %d layers, want 200", got)
	}
}

func TestFailedEditLeavesTheMapUnchanged(t *testing.T) {
	var cur Current
	a := layer.Name{Kind: layer.KindDelta, Keys: key.All, LSNs: layer.LSNRange{Start: 1, End: 10}}
	if _, err := cur.Apply(Edit{Add: []layer.Name{a}}); err != nil {
		t.Fatal(err)
	}
	b := layer.Name{Kind: layer.KindDelta, Keys: key.All, LSNs: layer.LSNRange{Start: 10, End: 20}}
	if _, err := cur.Apply(Edit{Add: []layer.Name{b}, Remove: []layer.Name{b}}); err == nil {
		t.Fatal("removing an absent layer succeeded")
	}
	if m := cur.Load(); m.Len() != 1 || !m.Contains(a) {
		t.Fatalf("map changed after a failed edit: %v", m.Layers())
	}
}
