package wal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

var testRel = key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}

func TestDecodeParsesEveryPart(t *testing.T) {
	img := bytes.Repeat([]byte{0xAB}, 8192-100)
	vm := testRel
	vm.Fork = key.ForkVM
	raw := buildRecord(777, 0x1000028, 0x80|InfoCheckConsistency, RmHeap, []testBlock{
		{id: 0, rel: testRel, blk: 7, willInit: true, data: []byte{1, 2, 3}},
		{id: 2, rel: testRel, sameRel: true, blk: 9, image: img, imageInfo: ImageHasHole | ImageApply, holeOff: 40},
		{id: 3, rel: vm, blk: 0, data: []byte{9}},
	}, []byte("main data"), 5, 123)
	r, err := Decode(raw, 0x1000100, 0x1000200)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCRC(raw, r.LSN); err != nil {
		t.Fatal(err)
	}
	if r.Xid != 777 || r.Prev != 0x1000028 || r.RmID != RmHeap || r.TotLen != uint32(len(raw)) || r.Origin != 5 || r.TopLevelXid != 123 {
		t.Fatalf("header fields wrong: %+v", r)
	}
	if got := r.TypeName(); got != "Heap/INSERT+INIT" {
		t.Errorf("TypeName = %q", got)
	}
	if string(r.MainData) != "main data" || len(r.Blocks) != 3 {
		t.Fatalf("main data %q, %d blocks", r.MainData, len(r.Blocks))
	}
	b0, b2, b3 := r.Block(0), r.Block(2), r.Block(3)
	if r.Block(1) != nil || b0 == nil || b2 == nil || b3 == nil {
		t.Fatal("Block lookup wrong")
	}
	if !b0.WillInit || !b0.HasData || b0.HasImage || !bytes.Equal(b0.Data, []byte{1, 2, 3}) || b0.Blk != 7 || b0.Rel != testRel {
		t.Errorf("block 0 wrong: %+v", b0)
	}
	if !b2.HasImage || !b2.ApplyImage || b2.HoleOffset != 40 || b2.HoleLength != 100 || b2.Rel != testRel || b2.Blk != 9 {
		t.Errorf("block 2 wrong: %+v", b2)
	}
	if b3.Rel != vm || b3.Rel.Fork != key.ForkVM {
		t.Errorf("block 3 rel = %v", b3.Rel)
	}
	page := make([]byte, 8192)
	if err := b2.RestoreImage(page); err != nil {
		t.Fatal(err)
	}
	for i, c := range page {
		want := byte(0xAB)
		if i >= 40 && i < 140 {
			want = 0
		}
		if c != want {
			t.Fatalf("restored byte %d = %x, want %x", i, c, want)
		}
	}
	c := r.Clone()
	raw[30] ^= 0xFF
	if c.Raw[30] == raw[30] || c.Block(0).Rel != testRel {
		t.Error("Clone aliases the original")
	}
}

func TestDecodeRejectsMalformedRecords(t *testing.T) {
	good := buildRecord(1, 0, 0, RmHeap, []testBlock{{id: 0, rel: testRel, blk: 1, data: []byte{1}}}, []byte{1, 2}, 0, 0)
	mut := func(f func([]byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		raw  []byte
	}{
		{"a record shorter than its header", good[:10]},
		{"a total length that disagrees with the bytes", mut(func(b []byte) []byte { b[0]++; return b })},
		{"a truncated record", mut(func(b []byte) []byte { b = b[:len(b)-1]; b[0]--; return b })},
		{"an invalid block id", mut(func(b []byte) []byte { b[24] = 100; return b })},
		{"HAS_DATA with zero length", mut(func(b []byte) []byte { b[26], b[27] = 0, 0; return b })},
		{"SAME_REL on the first block", mut(func(b []byte) []byte { b[25] |= BlockSameRel; return b })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.raw, 0x2000028, 0x2000060)
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("Decode error = %v, want *Error", err)
			}
			if we.LSN != lsn.LSN(0x2000028) {
				t.Errorf("error LSN = %s", we.LSN)
			}
		})
	}
}

func TestPGLZDecompressesBackReferences(t *testing.T) {
	// "11234" literally, then a 16-byte match at offset 4: "11234123412341234" + ...
	src := []byte{0x20, '1', '1', '2', '3', '4', 0x0d, 0x04}
	dst := make([]byte, 5+16)
	if err := pglzDecompress(src, dst); err != nil {
		t.Fatal(err)
	}
	if string(dst) != "112341234123412341234" {
		t.Errorf("got %q", dst)
	}
	if err := pglzDecompress([]byte{0x01, 0x0d, 0x09}, make([]byte, 16)); err == nil {
		t.Error("offset beyond output accepted")
	}
}
