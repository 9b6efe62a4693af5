package layer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// TestNames runs testdata/names: "parse" parses each input line and prints
// the name's fields or the error; round-tripping through String is checked.
func TestNames(t *testing.T) {
	datadriven.RunTest(t, "testdata/names", func(t *testing.T, d *datadriven.TestData) string {
		switch d.Cmd {
		case "parse":
			var out strings.Builder
			for _, line := range strings.Split(d.Input, "\n") {
				fmt.Fprintf(&out, "%s\n", describeName(t, line))
			}
			return out.String()
		}
		d.Fatalf(t, "unknown command %q", d.Cmd)
		return ""
	})
}

func describeName(t *testing.T, s string) string {
	n, err := ParseName(s)
	if err != nil {
		if !errors.Is(err, ErrBadName) {
			t.Fatalf("ParseName(%q) error %v does not wrap ErrBadName", s, err)
		}
		_, why, _ := strings.Cut(err.Error(), ": \""+s+"\": ")
		return "error: " + why
	}
	if n.String() != s {
		t.Fatalf("ParseName(%q).String() = %q", s, n.String())
	}
	if err := n.Validate(); err != nil {
		t.Fatalf("parsed name %q does not validate: %v", s, err)
	}
	l0 := ""
	if n.IsL0() {
		l0 = " L0"
	}
	return fmt.Sprintf("%s%s keys=%s lsns=%s", n.Kind, l0, n.Keys, n.LSNs)
}

func TestNameCompareOrdersByKeysThenLSNs(t *testing.T) {
	a := DeltaName(key.All, LSNRange{10, 20})
	b := DeltaName(key.All, LSNRange{20, 30})
	c := ImageName(key.Range{Start: key.Key{Field6: 1}, End: key.Max}, 5)
	if a.Compare(b) >= 0 || b.Compare(c) >= 0 || a.Compare(c) >= 0 || c.Compare(a) <= 0 || a.Compare(a) != 0 {
		t.Fatal("names are not ordered by key start, key end, LSN start")
	}
}

func TestTempNamesAreNotLayerNames(t *testing.T) {
	for _, base := range []string{"delta__" + lsn.LSN(1).Hex(), ImageName(key.All, 5).String()} {
		tmp := tempName(base)
		if !IsTempName(tmp) {
			t.Errorf("IsTempName(%q) = false", tmp)
		}
		if _, err := ParseName(tmp); err == nil {
			t.Errorf("ParseName accepted temp name %q", tmp)
		}
	}
	if IsTempName(DeltaName(key.All, LSNRange{1, 2}).String()) {
		t.Error("a layer name is a temp name")
	}
}

func FuzzParseName(f *testing.F) {
	f.Add(DeltaName(key.All, LSNRange{0x1696070, 0x16960E9}).String())
	f.Add(ImageName(key.All, 0x16960E8).String())
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			return
		}
		if n.String() != s || n.Validate() != nil {
			t.Fatalf("ParseName(%q) = %v, which prints as %q", s, n, n.String())
		}
	})
}
