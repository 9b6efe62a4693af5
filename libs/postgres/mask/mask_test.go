package mask

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// newPage returns an empty page with a special space of specialSize bytes.
func newPage(specialSize int) []byte {
	p := make([]byte, PageSize)
	put16(p, 12, pageHeaderSize)
	put16(p, 14, uint16(PageSize-specialSize))
	put16(p, 16, uint16(PageSize-specialSize))
	put16(p, 18, PageSize|4)
	return p
}

// addItem appends an item with the given bytes (like PageAddItem, MAXALIGNed).
func addItem(p []byte, item []byte, flags uint32) int {
	up := upper(p) - (len(item)+7)/8*8
	copy(p[up:], item)
	off := maxOffset(p) + 1
	setItemID(p, off, uint32(up)|flags<<15|uint32(len(item))<<17)
	put16(p, 12, uint16(lower(p)+itemIDSize))
	put16(p, 14, uint16(up))
	return off
}

// heapTuple returns a 27-byte tuple: 23-byte header + hoff + 3 data bytes.
func heapTuple(infomask uint16, data byte) []byte {
	t := make([]byte, 27)
	binary.LittleEndian.PutUint32(t[0:], 100) // xmin
	binary.LittleEndian.PutUint32(t[8:], 5)   // cid
	binary.LittleEndian.PutUint16(t[16:], 1)  // ctid posid
	binary.LittleEndian.PutUint16(t[20:], infomask)
	t[22] = 24
	t[24], t[25], t[26] = data, data, data
	return t
}

func masked(t *testing.T, f Func, p []byte) []byte {
	t.Helper()
	c := append([]byte(nil), p...)
	if err := f(c, 3); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMasksIgnoreWhatPostgresLetsDiffer(t *testing.T) {
	cases := []struct {
		name  string
		f     Func
		build func() []byte
		alter func(p []byte)
		equal bool
	}{
		{"heap: LSN, checksum, prune xid and page hint flags", Heap, heapPage, func(p []byte) {
			p[0], p[8], p[20] = 9, 9, 9
			put16(p, 10, pdPageFull|pdAllVisible|pdHasFreeLines)
		}, true},
		{"heap: bytes in the hole", Heap, heapPage, func(p []byte) { p[lower(p)+5] = 0xEE }, true},
		{"heap: tuple hint bits and command id", Heap, heapPage, func(p []byte) {
			it := lpOff(itemID(p, 1))
			put16(p, it+htInfomask, u16(p, it+htInfomask)|heapXminCommitted|heapXmaxInvalid)
			p[it+htCid] = 77
		}, true},
		{"heap: padding after a tuple", Heap, heapPage, func(p []byte) { p[lpOff(itemID(p, 1))+27] = 1 }, true},
		{"heap: a speculative token in ctid", Heap, func() []byte {
			p := heapPage()
			put16(p, lpOff(itemID(p, 1))+htCtidBlkHi+2, 3) // ctid (3,1): masking uses block 3
			return p
		}, func(p []byte) {
			it := lpOff(itemID(p, 1))
			put16(p, it+htCtidPos, specTokenOffsetNumber)
			put16(p, it+htCtidBlkHi+2, 1234)
		}, true},
		{"heap: tuple data", Heap, heapPage, func(p []byte) { p[lpOff(itemID(p, 1))+25] = 0 }, false},
		{"heap: line pointer flags", Heap, heapPage, func(p []byte) { setItemID(p, 1, itemID(p, 1)|3<<15) }, false},
		{"heap: frozen tuple keeps xmin hint bits", Heap, func() []byte {
			p := newPage(0)
			addItem(p, heapTuple(heapXminFrozen, 1), lpNormal)
			return p
		}, func(p []byte) {
			it := lpOff(itemID(p, 1))
			put16(p, it+htInfomask, u16(p, it+htInfomask)&^heapXminInvalid)
		}, false},
		{"btree leaf: LP_DEAD, garbage flag and cycle id", Btree, func() []byte { return btreePage(btpLeaf) }, func(p []byte) {
			setItemID(p, 1, itemID(p, 1)|3<<15)
			s := special(p)
			put16(p, s+btFlags, u16(p, s+btFlags)|btpHasGarbge|btpSplitEnd)
			put16(p, s+btCycleID, 42)
		}, true},
		{"btree internal: line pointer flags", Btree, func() []byte { return btreePage(0) }, func(p []byte) {
			setItemID(p, 1, itemID(p, 1)|3<<15)
		}, false},
		{"btree: sibling link", Btree, func() []byte { return btreePage(btpLeaf) }, func(p []byte) { p[special(p)+4] = 1 }, false},
		{"hash: everything on an unused page", Hash, func() []byte { return newPage(16) }, func(p []byte) {
			p[100], p[8191] = 1, 1
			put16(p, 12, 40)
		}, true},
		{"hash bucket page: dead-tuples flag and LP_DEAD", Hash, func() []byte {
			p := newPage(16)
			put16(p, special(p)+hashFlag, lhBucketPage)
			addItem(p, []byte{1, 2, 3, 4, 5, 6, 7, 8}, lpNormal)
			return p
		}, func(p []byte) {
			put16(p, special(p)+hashFlag, lhBucketPage|lhPageHasDeadTuples)
			setItemID(p, 1, itemID(p, 1)|3<<15)
		}, true},
		{"gin: content of a deleted page", Gin, func() []byte {
			p := newPage(8)
			put16(p, special(p)+6, ginDeleted)
			return p
		}, func(p []byte) { p[3000] = 5 }, true},
		{"gin metapage without pd_lower: content counts", Gin, func() []byte { return newPage(8) }, func(p []byte) { p[3000] = 5 }, false},
		{"gist: NSN, follow-right and garbage flags", Gist, func() []byte {
			p := newPage(16)
			put16(p, special(p)+gistFlags, gistLeaf)
			return p
		}, func(p []byte) {
			s := special(p)
			p[s+2] = 9
			put16(p, s+gistFlags, gistLeaf|gistFollowRt|gistHasGarbage)
		}, true},
		{"brin regular page: evacuate flag and hole", BRIN, func() []byte {
			p := newPage(8)
			put16(p, special(p)+6, brinTypeRegular)
			return p
		}, func(p []byte) {
			put16(p, special(p)+4, brinEvacuatePage)
			p[500] = 1
		}, true},
		{"seq: page hint flags are not masked", Seq, func() []byte { return newPage(8) }, func(p []byte) { put16(p, 10, pdAllVisible) }, false},
		{"spgist: unused space", SPGist, func() []byte { return newPage(8) }, func(p []byte) { p[4000] = 1 }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.build()
			b := append([]byte(nil), a...)
			tc.alter(b)
			if bytes.Equal(a, b) {
				t.Fatal("alter changed nothing")
			}
			if got := bytes.Equal(masked(t, tc.f, a), masked(t, tc.f, b)); got != tc.equal {
				t.Errorf("masked pages equal = %v, want %v", got, tc.equal)
			}
		})
	}
}

func heapPage() []byte {
	p := newPage(0)
	addItem(p, heapTuple(0, 1), lpNormal)
	addItem(p, heapTuple(0, 2), lpNormal)
	return p
}

func btreePage(flags uint16) []byte {
	p := newPage(16)
	put16(p, special(p)+btFlags, flags)
	addItem(p, []byte{0, 0, 0, 0, 1, 0, 16, 0, 42, 0, 0, 0, 0, 0, 0, 0}, lpNormal)
	return p
}

func TestMasksRejectInconsistentPagesWithoutPanicking(t *testing.T) {
	bad := newPage(0)
	put16(bad, 12, 9000) // pd_lower beyond the page
	for name, f := range map[string]Func{"heap": Heap, "btree": Btree, "hash": Hash, "gist": Gist, "seq": Seq, "generic": Generic} {
		if err := f(append([]byte(nil), bad...), 0); err == nil {
			t.Errorf("%s accepted pd_lower 9000", name)
		}
	}
	if err := Heap(make([]byte, 100), 0); err == nil {
		t.Error("short page accepted")
	}
	garbage := bytes.Repeat([]byte{0xFF}, PageSize)
	for _, f := range []Func{Heap, Btree, Hash, Gin, Gist, SPGist, BRIN, Seq, Generic} {
		_ = f(append([]byte(nil), garbage...), 0)
	}
}

func TestForRmgrPicksPostgresMasks(t *testing.T) {
	if ForRmgr(10) == nil || ForRmgr(9) == nil || ForRmgr(11) == nil || ForRmgr(17) == nil {
		t.Error("missing mask for Heap/Heap2/Btree/BRIN")
	}
	if ForRmgr(0) != nil || ForRmgr(1) != nil {
		t.Error("XLOG and Transaction have no mask in PostgreSQL")
	}
}

func FuzzMasks(f *testing.F) {
	f.Add(heapPage(), uint8(10))
	f.Add(btreePage(btpLeaf), uint8(11))
	f.Fuzz(func(t *testing.T, page []byte, rmid uint8) {
		fn := ForRmgr(rmid)
		if fn == nil {
			return
		}
		p := make([]byte, PageSize)
		copy(p, page)
		_ = fn(p, 1)
	})
}
