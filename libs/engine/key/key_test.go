package key

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestTextFormRoundTrips(t *testing.T) {
	k := RelBlock(RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384, Fork: ForkVM}, 42)
	s := k.String()
	if s != "00"+"0000067F"+"00000005"+"00004000"+"02"+"0000002A" {
		t.Fatalf("String() = %s", s)
	}
	got, err := Parse(s)
	if err != nil || got != k {
		t.Fatalf("Parse(%s) = %v, %v", s, got, err)
	}
	if Max.String() != "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF" {
		t.Fatalf("Max = %s", Max)
	}
}

func TestParseRejectsBadText(t *testing.T) {
	for _, s := range []string{"", "00", Max.String() + "0", "G00000000000000000000000000000000000", "../000000000000000000000000000000000"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded", s)
		}
	}
	if _, err := FromBinary(make([]byte, 17)); err == nil {
		t.Error("FromBinary of 17 bytes succeeded")
	}
}

func TestBinaryOrderEqualsKeyOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rk := func() Key {
		return Key{uint8(r.IntN(4)), r.Uint32N(3), r.Uint32N(3), r.Uint32N(3), uint8(r.IntN(3)), r.Uint32()}
	}
	for i := 0; i < 10000; i++ {
		a, b := rk(), rk()
		ab, bb := a.Bytes(), b.Bytes()
		if got, want := bytes.Compare(ab[:], bb[:]), a.Compare(b); got != want {
			t.Fatalf("Compare(%v, %v) = %d, bytes.Compare = %d", a, b, want, got)
		}
	}
}

func TestAddCarriesIntoEarlierFields(t *testing.T) {
	k := Key{Field4: 7, Field5: 0xFF, Field6: 0xFFFFFFFF}
	if got, want := k.Next(), (Key{Field4: 8}); got != want {
		t.Fatalf("Next = %v, want %v", got, want)
	}
	if got := Max.Next(); got != Min {
		t.Fatalf("Max.Next() = %v, want Min", got)
	}
	if got, want := (Key{Field6: 10}).Add(5), (Key{Field6: 15}); got != want {
		t.Fatalf("Add = %v", got)
	}
}

func TestSizeEntrySortsRightAfterLastBlock(t *testing.T) {
	rel := RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384, Fork: ForkMain}
	r := RelForkRange(rel)
	for _, k := range []Key{RelBlock(rel, 0), RelBlock(rel, 1<<31), RelSize(rel)} {
		if !r.Contains(k) {
			t.Errorf("fork range does not contain %v", k)
		}
	}
	other := rel
	other.Fork = ForkFSM
	if r.Contains(RelBlock(other, 0)) {
		t.Error("fork range contains another fork")
	}
	if !DatabaseRange(1663, 5).Contains(RelSize(rel)) || DatabaseRange(1663, 5).Contains(RelBlock(RelTag{1663, 6, 1, 0}, 0)) {
		t.Error("database range is wrong")
	}
	seg := SLRUSegmentRange(SLRUClog, 3)
	if !seg.Contains(SLRUBlock(SLRUClog, 3, 31)) || !seg.Contains(SLRUSegSize(SLRUClog, 3)) || seg.Contains(SLRUBlock(SLRUClog, 4, 0)) {
		t.Error("SLRU segment range is wrong")
	}
}

func TestPredicatesAndReverseMappings(t *testing.T) {
	rel := RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384, Fork: ForkVM}
	if k := RelBlock(rel, 3); !k.IsRelBlock() || k.IsRelSize() {
		t.Error("rel block predicates")
	}
	if got, ok := RelSize(rel).RelTag(); !ok || got != rel {
		t.Errorf("RelTag() = %v %v", got, ok)
	}
	if _, ok := RelDir(1663, 5).RelTag(); ok {
		t.Error("RelDir has a RelTag")
	}
	kind, seg, blk, ok := SLRUBlock(SLRUMultiXactOffsets, 2, 9).SLRUPage()
	if !ok || kind != SLRUMultiXactOffsets || seg != 2 || blk != 9 {
		t.Error("SLRUPage")
	}
	if rel.String() != "1663/5/16384_vm" {
		t.Errorf("RelTag.String() = %s", rel)
	}
}
