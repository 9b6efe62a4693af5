package redo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Heap opcodes used below.
const (
	opInsert    = 0x00
	opDelete    = 0x10
	opUpdate    = 0x20
	opHotUpdate = 0x40
	opConfirm   = 0x50
	opLock      = 0x60
	opInplace   = 0x70
	opInit      = 0x80
	op2Prune    = 0x10
	op2Vacuum   = 0x20
	op2Freeze   = 0x30
	op2Visible  = 0x40
	op2Multi    = 0x50
	op2LockUpd  = 0x60
)

// tupleData is xl_heap_header (infomask2, infomask, hoff=24) + body.
func tupleData(body string) []byte {
	b := le16(2, 0x0802) // natts 2; HEAP_XMAX_INVALID | HEAP_HASVARWIDTH
	b = append(b, 24)
	return append(b, append([]byte{0}, body...)...) // one padding byte up to t_hoff 24
}

func insertRec(xid uint32, off uint16, init bool, body string) trec {
	info := uint8(opInsert)
	if init {
		info |= opInit
	}
	return trec{rmid: wal.RmHeap, info: info, xid: xid, main: append(le16(off), 0),
		blocks: []tblock{{id: 0, rel: testRel, blk: 7, willInit: init, data: tupleData(body)}}}
}

func apply(tb testing.TB, pg []byte, r trec, end lsn.LSN, ids ...uint8) {
	tb.Helper()
	rec := r.decode(tb, end)
	if len(ids) == 0 {
		ids = []uint8{0}
	}
	for _, id := range ids {
		if err := ApplyBlock(pg, rec, id); err != nil {
			tb.Fatalf("ApplyBlock %s block %d: %v", rec.TypeName(), id, err)
		}
	}
}

func tupleAt(tb testing.TB, pg []byte, off uint16) []byte {
	tb.Helper()
	it, err := page.Page(pg).Item(off)
	if err != nil {
		tb.Fatalf("item %d: %v", off, err)
	}
	return it
}

func u32at(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func u16at(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }

func TestHeapInsertInitBuildsPostgresTuple(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "hello"), 0x1000)
	p := page.Page(pg)
	if p.LSN() != 0x1000 || p.Lower() != 28 || p.Special() != page.Size {
		t.Fatalf("lsn %v lower %d special %d", p.LSN(), p.Lower(), p.Special())
	}
	// tuple: 23-byte header, 1 byte pad, "hello" = 29 bytes, MAXALIGN 32.
	if id := p.ItemID(1); id.Off() != page.Size-32 || id.Len() != 29 || !id.IsNormal() {
		t.Fatalf("lp1 off %d len %d", id.Off(), id.Len())
	}
	tup := tupleAt(t, pg, 1)
	want := make([]byte, 29)
	binary.LittleEndian.PutUint32(want[0:], 700)         // xmin
	page.ItemPointer{Block: 7, Offset: 1}.Put(want[12:]) // ctid
	binary.LittleEndian.PutUint16(want[18:], 2)          // infomask2
	binary.LittleEndian.PutUint16(want[20:], 0x0802)     // infomask
	want[22] = 24                                        // t_hoff
	copy(want[24:], "hello")
	if !bytes.Equal(tup, want) {
		t.Fatalf("tuple\n got % x\nwant % x", tup, want)
	}
}

func TestHeapInsertAppendsAndClearsAllVisible(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "a"), 0x1000)
	page.Page(pg).SetFlag(page.AllVisible)
	r := insertRec(701, 2, false, "bb")
	r.main[2] = 1 // XLH_INSERT_ALL_VISIBLE_CLEARED
	apply(t, pg, r, 0x2000)
	p := page.Page(pg)
	if p.MaxOffset() != 2 || p.HasFlag(page.AllVisible) || p.LSN() != 0x2000 {
		t.Fatalf("max %d flags %x lsn %v", p.MaxOffset(), p.Flags(), p.LSN())
	}
	if got := u32at(tupleAt(t, pg, 2), 0); got != 701 {
		t.Fatalf("xmin %d", got)
	}
}

func TestBlockAlreadyPastRecordIsSkipped(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "a"), 0x3000)
	before := append([]byte(nil), pg...)
	apply(t, pg, insertRec(701, 2, false, "b"), 0x2000)
	if !bytes.Equal(pg, before) {
		t.Fatal("a record older than the page LSN changed the page")
	}
}

func TestHeapDeleteSetsXmaxAndPrunable(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "abc"), 0x1000)
	page.Page(pg).SetFlag(page.AllVisible)
	main := append(le32(800), le16(1)...)
	main = append(main, 0x08|0x10 /* KEYSHR | KEYS_UPDATED infobits */, 1 /* all visible cleared */)
	apply(t, pg, trec{rmid: wal.RmHeap, info: opDelete, xid: 800, main: main,
		blocks: []tblock{{id: 0, rel: testRel, blk: 7}}}, 0x2000)
	tup := tupleAt(t, pg, 1)
	p := page.Page(pg)
	if u32at(tup, 4) != 800 || u32at(tup, 8) != 0 || p.PruneXid() != 800 || p.HasFlag(page.AllVisible) {
		t.Fatalf("xmax %d cid %d prune %d flags %x", u32at(tup, 4), u32at(tup, 8), p.PruneXid(), p.Flags())
	}
	// infomask: XMAX_INVALID cleared, KEYSHR set; infomask2: KEYS_UPDATED set.
	if im := u16at(tup, 20); im != 0x0002|0x0010 {
		t.Fatalf("infomask %#x", im)
	}
	if im2 := u16at(tup, 18); im2 != 2|0x2000 {
		t.Fatalf("infomask2 %#x", im2)
	}
	if ip := page.GetItemPointer(tup[12:]); ip.Block != 7 || ip.Offset != 1 {
		t.Fatalf("ctid %+v", ip)
	}
}

func TestHeapDeleteOfMissingTupleFails(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "abc"), 0x1000)
	main := append(append(le32(800), le16(5)...), 0, 0)
	rec := trec{rmid: wal.RmHeap, info: opDelete, xid: 800, main: main,
		blocks: []tblock{{id: 0, rel: testRel, blk: 7}}}.decode(t, 0x2000)
	if err := ApplyBlock(pg, rec, 0); err == nil {
		t.Fatal("delete of offset 5 on a one-tuple page succeeded")
	}
}

func updateMain(oldXmax uint32, oldOff uint16, flags uint8, newXmax uint32, newOff uint16) []byte {
	m := append(le32(oldXmax), le16(oldOff)...)
	m = append(m, 0, flags)
	m = append(m, le32(newXmax)...)
	return append(m, le16(newOff)...)
}

func TestHotUpdateRebuildsTupleFromPrefixAndSuffix(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "AAAAxyzBBBB"), 0x1000)
	// new tuple = prefix "AAAA" + "123" + suffix "BBBB"; record carries the padding byte and "123".
	data := append(le16(4, 4), le16(2|0x8000, 0x2802)...)
	data = append(data, 24, 0)
	data = append(data, "123"...)
	r := trec{rmid: wal.RmHeap, info: opHotUpdate, xid: 900,
		main:   updateMain(900, 1, 0x20|0x40, 0, 2),
		blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: data}}}
	apply(t, pg, r, 0x2000)
	old, nw := tupleAt(t, pg, 1), tupleAt(t, pg, 2)
	if u16at(old, 18)&0x4000 == 0 || u32at(old, 4) != 900 {
		t.Fatalf("old tuple not HOT-updated: infomask2 %#x xmax %d", u16at(old, 18), u32at(old, 4))
	}
	if ip := page.GetItemPointer(old[12:]); ip.Offset != 2 || ip.Block != 7 {
		t.Fatalf("old ctid %+v", ip)
	}
	if got := string(nw[24:]); got != "AAAA123BBBB" {
		t.Fatalf("new tuple body %q", got)
	}
	if u32at(nw, 0) != 900 || u16at(nw, 18) != 2|0x8000 || page.Page(pg).PruneXid() != 900 {
		t.Fatalf("new xmin %d infomask2 %#x", u32at(nw, 0), u16at(nw, 18))
	}
}

func TestUpdateAcrossPagesTouchesEachPageOnce(t *testing.T) {
	oldPg := make([]byte, page.Size)
	apply(t, oldPg, insertRec(700, 1, true, "old"), 0x1000)
	newPg := make([]byte, page.Size)
	r := trec{rmid: wal.RmHeap, info: opUpdate | opInit, xid: 901,
		main: updateMain(901, 1, 0, 0, 1),
		blocks: []tblock{
			{id: 0, rel: testRel, blk: 9, willInit: true, data: tupleData("new")},
			{id: 1, rel: testRel, blk: 7},
		}}
	rec := r.decode(t, 0x2000)
	if err := ApplyBlock(oldPg, rec, 1); err != nil {
		t.Fatal(err)
	}
	if err := ApplyBlock(newPg, rec, 0); err != nil {
		t.Fatal(err)
	}
	if ip := page.GetItemPointer(tupleAt(t, oldPg, 1)[12:]); ip.Block != 9 || ip.Offset != 1 {
		t.Fatalf("old ctid %+v", ip)
	}
	if page.Page(oldPg).MaxOffset() != 1 || string(tupleAt(t, newPg, 1)[24:]) != "new" {
		t.Fatal("new tuple went to the wrong page")
	}
}

func TestLockConfirmInplaceAndLockUpdated(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "abcd"), 0x1000)
	blk0 := []tblock{{id: 0, rel: testRel, blk: 7}}
	lock := append(append(le32(950), le16(1)...), 0x02|0x04, 0) // LOCK_ONLY | EXCL_LOCK
	apply(t, pg, trec{rmid: wal.RmHeap, info: opLock, xid: 950, main: lock, blocks: blk0}, 0x2000)
	tup := tupleAt(t, pg, 1)
	if u32at(tup, 4) != 950 || u16at(tup, 20)&(0x0080|0x0040) != 0x00C0 {
		t.Fatalf("lock: xmax %d infomask %#x", u32at(tup, 4), u16at(tup, 20))
	}
	apply(t, pg, trec{rmid: wal.RmHeap2, info: op2LockUpd, xid: 951, main: append(append(le32(951), le16(1)...), 0x01, 0), blocks: blk0}, 0x3000)
	if tup := tupleAt(t, pg, 1); u32at(tup, 4) != 951 || u16at(tup, 20)&0x1000 == 0 {
		t.Fatalf("lock updated: xmax %d infomask %#x", u32at(tup, 4), u16at(tup, 20))
	}
	copy(tupleAt(t, pg, 1)[12:], []byte{9, 9, 9, 9, 9, 9}) // speculative token
	apply(t, pg, trec{rmid: wal.RmHeap, info: opConfirm, main: le16(1), blocks: blk0}, 0x4000)
	if ip := page.GetItemPointer(tupleAt(t, pg, 1)[12:]); ip.Block != 7 || ip.Offset != 1 {
		t.Fatalf("confirm ctid %+v", ip)
	}
	inplace := []tblock{{id: 0, rel: testRel, blk: 7, data: []byte("WXYZ")}}
	apply(t, pg, trec{rmid: wal.RmHeap, info: opInplace, main: le16(1), blocks: inplace}, 0x5000)
	if got := string(tupleAt(t, pg, 1)[24:]); got != "WXYZ" {
		t.Fatalf("inplace body %q", got)
	}
	bad := []tblock{{id: 0, rel: testRel, blk: 7, data: []byte("short")}}
	rec := trec{rmid: wal.RmHeap, info: opInplace, main: le16(1), blocks: bad}.decode(t, 0x6000)
	if err := ApplyBlock(pg, rec, 0); err == nil {
		t.Fatal("inplace with a wrong length succeeded")
	}
}

func TestPruneRedirectsKillsAndCompacts(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "one"), 0x1000)
	for i, s := range []string{"two", "three", "four"} {
		apply(t, pg, insertRec(701, uint16(i+2), false, s), lsn.LSN(0x1100+i*0x100))
	}
	// redirect 1->3, 2 dead, 4 unused: only tuple 3 keeps storage.
	data := le16(1, 3, 2, 4)
	main := append(le32(0), le16(1, 1)...)
	apply(t, pg, trec{rmid: wal.RmHeap2, info: op2Prune, main: main,
		blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: data}}}, 0x2000)
	p := page.Page(pg)
	if id := p.ItemID(1); !id.IsRedirected() || id.Off() != 3 {
		t.Fatalf("lp1 %#x", uint32(id))
	}
	if !p.ItemID(2).IsDead() || p.MaxOffset() != 3 || p.HasFlag(page.HasFreeLines) {
		t.Fatalf("lp2 %#x max %d flags %x", uint32(p.ItemID(2)), p.MaxOffset(), p.Flags())
	}
	if id := p.ItemID(3); id.Off() != page.Size-32 || string(tupleAt(t, pg, 3)[24:]) != "three" {
		t.Fatalf("lp3 at %d", id.Off())
	}
	if p.Upper() != page.Size-32 {
		t.Fatalf("upper %d", p.Upper())
	}
}

func TestVacuumUnusesDeadLinePointers(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "one"), 0x1000)
	apply(t, pg, insertRec(700, 2, false, "two"), 0x1100)
	apply(t, pg, insertRec(700, 3, false, "three"), 0x1200)
	p := page.Page(pg)
	_ = p.SetItemID(1, page.Dead())
	_ = p.SetItemID(3, page.Dead())
	apply(t, pg, trec{rmid: wal.RmHeap2, info: op2Vacuum, main: le16(2),
		blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: le16(1, 3)}}}, 0x2000)
	if p.MaxOffset() != 2 || p.ItemID(1).IsUsed() || !p.HasFlag(page.HasFreeLines) {
		t.Fatalf("max %d lp1 %#x flags %x", p.MaxOffset(), uint32(p.ItemID(1)), p.Flags())
	}
}

func TestFreezeAppliesPlans(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "one"), 0x1000)
	plan := make([]byte, 12)
	binary.LittleEndian.PutUint32(plan[0:], 0)
	binary.LittleEndian.PutUint16(plan[4:], 1)
	binary.LittleEndian.PutUint16(plan[6:], 2)
	binary.LittleEndian.PutUint16(plan[8:], 0x0B02) // XMIN_FROZEN | XMAX_INVALID | HASVARWIDTH
	apply(t, pg, trec{rmid: wal.RmHeap2, info: op2Freeze, main: append(le32(800), le16(1)...),
		blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: plan}}}, 0x2000)
	if im := u16at(tupleAt(t, pg, 1), 20); im != 0x0B02 {
		t.Fatalf("infomask %#x", im)
	}
}

func TestVisibleSetsHeapFlagAndVMBits(t *testing.T) {
	heapPg := make([]byte, page.Size)
	apply(t, heapPg, insertRec(700, 1, true, "one"), 0x1000)
	vmPg := make([]byte, page.Size) // new VM page: initialized by redo
	vmRel := testRel
	vmRel.Fork = 2
	r := trec{rmid: wal.RmHeap2, info: op2Visible, main: append(le32(700), 0x03),
		blocks: []tblock{{id: 0, rel: vmRel, blk: 0}, {id: 1, rel: testRel, blk: 5}}}
	rec := r.decode(t, 0x2000)
	if err := ApplyBlock(vmPg, rec, 0); err != nil {
		t.Fatal(err)
	}
	if err := ApplyBlock(heapPg, rec, 1); err != nil {
		t.Fatal(err)
	}
	if !page.Page(heapPg).HasFlag(page.AllVisible) || page.Page(heapPg).LSN() != 0x1000 {
		t.Fatal("heap page: PD_ALL_VISIBLE not set, or LSN moved")
	}
	vm := page.Page(vmPg)
	if vm.Lower() != 24 || vm[24+1] != 0x03<<2 || vm.LSN() != 0x2000 {
		t.Fatalf("vm lower %d byte %#x lsn %v", vm.Lower(), vm[25], vm.LSN())
	}
	// Setting bits that are already set keeps the VM page LSN.
	rec2 := r.decode(t, 0x3000)
	if err := ApplyBlock(vmPg, rec2, 0); err != nil || vm.LSN() != 0x2000 {
		t.Fatalf("unchanged VM page got LSN %v (%v)", vm.LSN(), err)
	}
}

func TestMultiInsertInitAndAppend(t *testing.T) {
	tuple := func(body string) []byte {
		b := le16(uint16(len(body)+1), 2, 0x0802)
		b = append(b, 24, 0)
		return append(b, body...)
	}
	// Tuples are SHORTALIGNed: 7-byte header + 1 + len(body).
	data := tuple("ab")                  // 10 bytes
	data = append(data, tuple("cde")...) // starts at 10 (aligned)
	pg := make([]byte, page.Size)
	apply(t, pg, trec{rmid: wal.RmHeap2, info: op2Multi | opInit, xid: 600, main: append([]byte{0, 0}, le16(2)...),
		blocks: []tblock{{id: 0, rel: testRel, blk: 3, willInit: true, data: data}}}, 0x1000)
	if page.Page(pg).MaxOffset() != 2 || string(tupleAt(t, pg, 2)[24:]) != "cde" {
		t.Fatal("multi insert +init")
	}
	more := append([]byte{0, 0}, le16(1)...)
	more = append(more, le16(3)...)
	apply(t, pg, trec{rmid: wal.RmHeap2, info: op2Multi, xid: 601, main: more,
		blocks: []tblock{{id: 0, rel: testRel, blk: 3, data: tuple("f")}}}, 0x2000)
	if tup := tupleAt(t, pg, 3); string(tup[24:]) != "f" || u32at(tup, 0) != 601 {
		t.Fatal("multi insert append")
	}
	odd := append(tuple("f"), 0)
	rec := trec{rmid: wal.RmHeap2, info: op2Multi, xid: 601, main: append(append([]byte{0, 0}, le16(1)...), le16(4)...),
		blocks: []tblock{{id: 0, rel: testRel, blk: 3, data: odd}}}.decode(t, 0x3000)
	if err := ApplyBlock(pg, rec, 0); err == nil {
		t.Fatal("trailing bytes after the last tuple accepted")
	}
}

func TestSequenceLogRebuildsPage(t *testing.T) {
	pg := make([]byte, page.Size)
	for i := range pg {
		pg[i] = 0xAA
	}
	main := make([]byte, 12)
	main = append(main, []byte("sequence tuple")...)
	apply(t, pg, trec{rmid: wal.RmSeq, info: 0, main: main,
		blocks: []tblock{{id: 0, rel: testRel, blk: 0, willInit: true}}}, 0x1000)
	p := page.Page(pg)
	if p.Special() != page.Size-8 || u32at(pg, page.Size-8) != 0x1717 || p.LSN() != 0x1000 {
		t.Fatalf("special %d magic %#x", p.Special(), u32at(pg, page.Size-8))
	}
	if string(tupleAt(t, pg, 1)) != "sequence tuple" || p.MaxOffset() != 1 {
		t.Fatal("sequence tuple")
	}
}

func TestFullPageImagesAreRestored(t *testing.T) {
	img := make([]byte, page.Size)
	_ = page.Page(img).Init(0)
	img[100] = 42
	pg := make([]byte, page.Size)
	apply(t, pg, trec{rmid: wal.RmXLOG, info: 0xB0,
		blocks: []tblock{{id: 0, rel: testRel, blk: 1, image: img, apply: true}}}, 0x5000)
	if pg[100] != 42 || page.Page(pg).LSN() != 0x5000 {
		t.Fatalf("restored page lsn %v", page.Page(pg).LSN())
	}
	zero := make([]byte, page.Size)
	apply(t, pg, trec{rmid: wal.RmXLOG, info: 0xB0,
		blocks: []tblock{{id: 0, rel: testRel, blk: 1, image: zero, apply: true}}}, 0x6000)
	if page.Page(pg).LSN() != 0 {
		t.Fatal("a new (all-zero) image must not get an LSN")
	}
	rec := trec{rmid: wal.RmXLOG, info: 0xB0,
		blocks: []tblock{{id: 0, rel: testRel, blk: 1, image: img}}}.decode(t, 0x7000)
	if err := ApplyBlock(pg, rec, 0); err == nil {
		t.Fatal("FPI without APPLY accepted")
	}
}

func TestVerifyOnlyImageIsIgnored(t *testing.T) {
	pg := make([]byte, page.Size)
	apply(t, pg, insertRec(700, 1, true, "a"), 0x1000)
	r := insertRec(701, 2, false, "b")
	r.blocks[0].image = make([]byte, page.Size) // verify-only: APPLY clear
	apply(t, pg, r, 0x2000)
	if page.Page(pg).MaxOffset() != 2 {
		t.Fatal("delta not applied under a verify-only image")
	}
}

func TestUnsupportedRecordsFailClearly(t *testing.T) {
	pg := make([]byte, page.Size)
	// Every built-in PG15 record type is handled: a custom rmgr stands in.
	const custom = 200
	rec := trec{rmid: custom, info: 0x20, blocks: []tblock{{id: 0, rel: testRel, blk: 1, data: []byte{1}}}}.decode(t, 0x1000)
	err := ApplyBlock(pg, rec, 0)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("custom rmgr record: %v", err)
	}
	if want := "unsupported record " + wal.TypeName(custom, 0x20) + " at 0/FC0"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	if err := ApplyBlock(pg, rec, 3); !errors.Is(err, ErrNoBlock) {
		t.Fatalf("missing block: %v", err)
	}
	img := make([]byte, page.Size)
	img[0] = 1
	withImage := trec{rmid: custom, info: 0x20, blocks: []tblock{{id: 0, rel: testRel, blk: 1, image: img, apply: true}}}.decode(t, 0x2000)
	if err := ApplyBlock(pg, withImage, 0); err != nil {
		t.Fatalf("an image to apply must be restored for any rmgr: %v", err)
	}
}

func TestGenericDeltaFragments(t *testing.T) {
	pg := make([]byte, page.Size)
	_ = page.Page(pg).Init(64) // special space [8128, 8192)
	pg[100] = 0xEE             // in the hole: zeroed by redo
	delta := append(le16(8130, 2), 'h', 'i')
	delta = append(delta, le16(8150, 3)...)
	delta = append(delta, "xyz"...)
	apply(t, pg, trec{rmid: wal.RmGeneric, blocks: []tblock{{id: 0, rel: testRel, blk: 1, data: delta}}}, 0x1000)
	if string(pg[8130:8132]) != "hi" || string(pg[8150:8153]) != "xyz" || pg[100] != 0 || page.Page(pg).LSN() != 0x1000 {
		t.Fatalf("fragments not applied: % x", pg[8128:8134])
	}
	bad := trec{rmid: wal.RmGeneric, blocks: []tblock{{id: 0, rel: testRel, blk: 1, data: append(le16(8190, 4), "abcd"...)}}}.decode(t, 0x2000)
	if err := ApplyBlock(pg, bad, 0); err == nil {
		t.Fatal("fragment past the page end accepted")
	}
}
