package redo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/heapam"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/slru"
)

func pgRecord(r trec, end lsn.LSN) Record {
	return Record{LSN: end, Data: EncodePostgres(nil, end, r.raw())}
}

func TestEncodingWorkedExample(t *testing.T) {
	got := EncodeClogSetAborted(nil, []uint32{5, 6})
	want := []byte{0x05, 2, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("% x", got)
	}
}

func TestEncodingRoundTrips(t *testing.T) {
	members := []Member{{Xid: 10, Status: 1}, {Xid: 11, Status: 5}}
	for _, tc := range []struct {
		name  string
		data  []byte
		check func(Op) bool
	}{
		{"postgres", EncodePostgres(nil, 0x1234, []byte("raw")), func(o Op) bool { return o.EndLSN == 0x1234 && string(o.Raw) == "raw" }},
		{"clear vm", EncodeClearVisibilityMap(nil, 7, NoBlock, 3), func(o Op) bool { return o.NewHeapBlk == 7 && o.OldHeapBlk == NoBlock && o.Flags == 3 }},
		{"truncate vm", EncodeTruncateVisibilityMap(nil, 99, 4), func(o Op) bool { return o.TruncByte == 99 && o.TruncOffs == 4 }},
		{"clog committed", EncodeClogSetCommitted(nil, []uint32{3, 4}, -5), func(o Op) bool { return o.Timestamp == -5 && o.NumXids() == 2 && o.Xid(1) == 4 }},
		{"clog aborted", EncodeClogSetAborted(nil, nil), func(o Op) bool { return o.NumXids() == 0 }},
		{"multixact offset", EncodeMultiXactOffsetCreate(nil, [2]uint32{8, 9}), func(o Op) bool { return o.Mid == 8 && o.Moff == 9 }},
		{"multixact members", EncodeMultiXactMembersCreate(nil, 20, members), func(o Op) bool { return o.Moff == 20 && o.NumMembers() == 2 && o.Member(1) == members[1] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := DecodeOp(tc.data)
			if err != nil || !tc.check(o) {
				t.Fatalf("decoded %+v, %v", o, err)
			}
			for n := 1; n < len(tc.data) && tc.data[0] != TagPostgres; n++ {
				if _, err := DecodeOp(tc.data[:n]); err == nil {
					t.Fatalf("truncation to %d bytes decoded", n)
				}
			}
			_ = o.String()
		})
	}
	if _, err := DecodeOp([]byte{0x42}); err == nil {
		t.Fatal("unknown tag decoded")
	}
}

func TestApplyRebuildsHeapPageFromRecords(t *testing.T) {
	k := key.RelBlock(testRel, 7)
	recs := []Record{
		pgRecord(insertRec(700, 1, true, "one"), 0x1000),
		pgRecord(insertRec(701, 2, false, "two"), 0x2000),
	}
	got, err := Apply(k, nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, page.Size)
	apply(t, want, insertRec(700, 1, true, "one"), 0x1000)
	apply(t, want, insertRec(701, 2, false, "two"), 0x2000)
	if !bytes.Equal(got, want) {
		t.Fatal("Apply differs from ApplyBlock")
	}
	// Reusing the output buffer, and base aliasing it.
	var a Applier
	dst := make([]byte, page.Size)
	out, err := a.ApplyInto(dst, k, nil, recs[:1])
	if err != nil || &out[0] != &dst[0] {
		t.Fatalf("ApplyInto did not reuse dst: %v", err)
	}
	out, err = a.ApplyInto(out, k, out, recs[1:])
	if err != nil || !bytes.Equal(out, want) {
		t.Fatalf("base aliasing dst: %v", err)
	}
}

func TestApplyRefusesWhatDoesNotFitTheKey(t *testing.T) {
	k := key.RelBlock(testRel, 7)
	other := key.RelBlock(testRel, 8)
	r := pgRecord(insertRec(700, 1, true, "one"), 0x1000)
	if _, err := Apply(other, nil, []Record{r}); !errors.Is(err, ErrNoBlock) {
		t.Fatalf("record for another block: %v", err)
	}
	base := make([]byte, page.Size)
	_ = page.Page(base).Init(0)
	if _, err := Apply(k, nil, []Record{pgRecord(insertRec(701, 1, false, "x"), 0x2000)}); err == nil {
		t.Fatal("a record needing a base applied without one")
	}
	if _, err := Apply(k, base[:100], []Record{r}); err == nil {
		t.Fatal("short base accepted")
	}
	if _, err := Apply(k, base, []Record{{LSN: 1, Data: EncodeClogSetAborted(nil, []uint32{1})}}); err == nil {
		t.Fatal("clog record applied to a relation page")
	}
	if _, err := Apply(key.SLRUBlock(key.SLRUClog, 0, 0), base, []Record{r}); err == nil {
		t.Fatal("postgres record applied to an SLRU page")
	}
	if _, err := Apply(k, nil, []Record{{LSN: 1, Data: EncodeClearVisibilityMap(nil, 1, NoBlock, 3)}}); err == nil {
		t.Fatal("neon record applied without a base")
	}
}

func TestApplyVisibilityMapRecords(t *testing.T) {
	vmRel := testRel
	vmRel.Fork = key.ForkVM
	vm := make([]byte, page.Size)
	_ = page.Page(vm).Init(0)
	for i := 24; i < page.Size; i++ {
		vm[i] = 0xFF
	}
	page.Page(vm).SetLSN(0x500)
	k := key.RelBlock(vmRel, 1)
	hb := uint32(heapam.HeapBlocksPerVMPage + 5) // byte 1, shift 2 on vm block 1
	out, err := Apply(k, vm, []Record{{LSN: 0x600, Data: EncodeClearVisibilityMap(nil, hb, NoBlock, heapam.VMValidBits)}})
	if err != nil {
		t.Fatal(err)
	}
	if out[25] != 0xFF&^(3<<2) || page.Page(out).LSN() != 0x500 {
		t.Fatalf("byte %#x lsn %v (clearing must not move the LSN)", out[25], page.Page(out).LSN())
	}
	if _, err := Apply(k, vm, []Record{{LSN: 0x600, Data: EncodeClearVisibilityMap(nil, 5, NoBlock, 3)}}); err == nil {
		t.Fatal("heap block of another VM page accepted")
	}
	vmBlk, tb, to := heapam.VMTruncatePoint(hb)
	if vmBlk != 1 {
		t.Fatalf("truncate point on vm block %d", vmBlk)
	}
	out, err = Apply(k, vm, []Record{{LSN: 0x700, Data: EncodeTruncateVisibilityMap(nil, tb, to)}})
	if err != nil {
		t.Fatal(err)
	}
	if out[24] != 0xFF || out[25] != 0x03 || out[26] != 0 || out[page.Size-1] != 0 {
		t.Fatalf("truncated bytes % x", out[24:28])
	}
	heapK := key.RelBlock(testRel, 1)
	if _, err := Apply(heapK, vm, []Record{{LSN: 0x600, Data: EncodeClearVisibilityMap(nil, hb, NoBlock, 3)}}); err == nil {
		t.Fatal("VM record applied to a main-fork page")
	}
}

func TestApplySLRURecords(t *testing.T) {
	zero := make([]byte, page.Size)
	clogKey := key.SLRUBlock(key.SLRUClog, 0, 1) // page 1: xids 32768..65535
	out, err := Apply(clogKey, zero, []Record{
		{LSN: 1, Data: EncodeClogSetCommitted(nil, []uint32{32768, 32770}, 0)},
		{LSN: 2, Data: EncodeClogSetAborted(nil, []uint32{32769})},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != 0x01|0x02<<2|0x01<<4 {
		t.Fatalf("clog byte %08b", out[0])
	}
	if _, err := Apply(clogKey, zero, []Record{{LSN: 1, Data: EncodeClogSetCommitted(nil, []uint32{5}, 0)}}); err == nil {
		t.Fatal("xid of another page accepted")
	}
	offKey := key.SLRUBlock(key.SLRUMultiXactOffsets, 0, 0)
	out, err = Apply(offKey, zero, []Record{{LSN: 1, Data: EncodeMultiXactOffsetCreate(nil, [2]uint32{3, 77})}})
	if err != nil || binary.LittleEndian.Uint32(out[12:]) != 77 {
		t.Fatalf("offset: %v", err)
	}
	memKey := key.SLRUBlock(key.SLRUMultiXactMembers, 0, 0)
	out, err = Apply(memKey, zero, []Record{{LSN: 1, Data: EncodeMultiXactMembersCreate(nil, 3, []Member{{100, 1}, {101, 4}})}})
	if err != nil {
		t.Fatal(err)
	}
	if x, st, _ := slru.MultiXactMember(out, 0, 4); x != 101 || st != 4 {
		t.Fatalf("member 4 = %d/%d", x, st)
	}
	if _, err := Apply(memKey, zero, []Record{{LSN: 1, Data: EncodeMultiXactOffsetCreate(nil, [2]uint32{3, 77})}}); err == nil {
		t.Fatal("offsets record applied to a members page")
	}
}
