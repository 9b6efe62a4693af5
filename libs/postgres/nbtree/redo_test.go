package nbtree

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stratadb/strata/libs/postgres/wal"
)

// Hand-built pages and records for each Btree record type.

type tid struct {
	blk uint32
	off uint16
}

// tup builds a plain leaf tuple: heap TID and an 8-byte key.
func tup(t tid, k uint64) []byte {
	b := make([]byte, 16)
	setTIDBlock(b, t.blk)
	put16(b, 4, t.off)
	put16(b, 6, 16)
	binary.LittleEndian.PutUint64(b[8:], k)
	return b
}

// posting builds a posting tuple for key k with the given TIDs.
func posting(tb testing.TB, k uint64, tids ...tid) []byte {
	tb.Helper()
	var h []byte
	for _, t := range tids {
		var b [6]byte
		setTIDBlock(b[:], t.blk)
		put16(b[:], 4, t.off)
		h = append(h, b[:]...)
	}
	p, err := buildPosting(tup(tids[0], k)[:16], h)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// tids decodes a tuple's heap TIDs.
func tids(tb testing.TB, t []byte) []tid {
	tb.Helper()
	if !isPosting(t) {
		return []tid{{tidBlock(t), u16(t, 4)}}
	}
	n, off, err := postingList(t)
	if err != nil {
		tb.Fatal(err)
	}
	var out []tid
	for i := 0; i < n; i++ {
		p := t[off+i*tidSize:]
		out = append(out, tid{tidBlock(p), u16(p, 4)})
	}
	return out
}

// btPage builds a btree page with the given opaque fields and items.
func btPage(tb testing.TB, prev, next, level uint32, flags uint16, items ...[]byte) []byte {
	tb.Helper()
	pg := make([]byte, blockSize)
	o := pageInitBT(pg)
	o.setPrev(prev)
	o.setNext(next)
	o.setLevel(level)
	o.setFlags(flags)
	for i, it := range items {
		if err := addItem(pg, it, i+1); err != nil {
			tb.Fatal(err)
		}
	}
	return pg
}

func keyOf(t []byte) uint64 { return binary.LittleEndian.Uint64(t[8:]) }

func keys(tb testing.TB, pg []byte) []uint64 {
	tb.Helper()
	var ks []uint64
	for off := 1; off <= maxOffset(pg); off++ {
		t, err := tupleAt(pg, off)
		if err != nil {
			tb.Fatal(err)
		}
		ks = append(ks, keyOf(t))
	}
	return ks
}

func rec(info uint8, md []byte, blocks ...wal.BlockRef) *wal.Record {
	return &wal.Record{RmID: wal.RmBtree, Info: info, MainData: md, Blocks: blocks}
}

func le16(vs ...uint16) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		put16(b, 2*i, v)
	}
	return b
}

func le32(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		put32(b, 4*i, v)
	}
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func redoBlock(tb testing.TB, pg []byte, r *wal.Record, id uint8) {
	tb.Helper()
	if err := Redo(pg, r, r.Block(id)); err != nil {
		tb.Fatalf("redo block %d: %v", id, err)
	}
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func metaData(root, level uint32) []byte {
	return cat(le32(4, root, level, root, level, 7), []byte{1, 0, 0, 0})
}

func TestInsertLeafAddsTheTupleAtItsOffset(t *testing.T) {
	pg := btPage(t, 0, 0, 0, FlagLeaf, tup(tid{1, 1}, 10), tup(tid{1, 2}, 30))
	r := rec(InsertLeaf, le16(2), wal.BlockRef{ID: 0, Data: tup(tid{1, 3}, 20)})
	redoBlock(t, pg, r, 0)
	if got := keys(t, pg); !equalU64(got, []uint64{10, 20, 30}) {
		t.Fatalf("keys %v", got)
	}
}

func TestInsertUpperClearsIncompleteSplitAndInsertMetaRestoresTheMetapage(t *testing.T) {
	child := btPage(t, 0, 5, 0, FlagLeaf|FlagIncompleteSplit)
	meta := make([]byte, blockSize)
	r := rec(InsertMeta, le16(1), wal.BlockRef{ID: 0, Data: tup(tid{2, 0}, 1)}, wal.BlockRef{ID: 1}, wal.BlockRef{ID: 2, Data: metaData(3, 1)})
	redoBlock(t, child, r, 1)
	if o, _ := btOpaque(child); o.flags() != FlagLeaf {
		t.Fatalf("child flags %#x", o.flags())
	}
	redoBlock(t, meta, r, 2)
	if u32(meta, 24) != btreeMagic || u32(meta, 28) != 4 || u32(meta, 32) != 3 || pgLower(meta) != 72 || meta[64] != 1 {
		t.Fatalf("metapage fields wrong")
	}
	if math.Float64frombits(binary.LittleEndian.Uint64(meta[56:])) != -1 {
		t.Fatalf("last_cleanup_num_heap_tuples not -1")
	}
	if o, _ := btOpaque(meta); o.flags() != FlagMeta {
		t.Fatalf("meta flags %#x", o.flags())
	}
}

func TestInsertPostSplitsThePostingListBeforeTheNewItem(t *testing.T) {
	pg := btPage(t, 0, 0, 0, FlagLeaf, posting(t, 5, tid{1, 1}, tid{1, 3}, tid{1, 5}))
	r := rec(InsertPost, le16(2), wal.BlockRef{ID: 0, Data: cat(le16(1), tup(tid{1, 2}, 5))})
	redoBlock(t, pg, r, 0)
	p, _ := tupleAt(pg, 1)
	n, _ := tupleAt(pg, 2)
	if got := tids(t, p); len(got) != 3 || got[1] != (tid{1, 2}) || got[2] != (tid{1, 3}) {
		t.Fatalf("posting list %v", got)
	}
	if got := tids(t, n); got[0] != (tid{1, 5}) {
		t.Fatalf("new item TID %v", got)
	}
}

func TestSplitRebuildsBothHalvesAndTheSiblingLink(t *testing.T) {
	// Original rightmost leaf 10,20,30,40; new item 25 goes left (SPLIT_L);
	// 30 and 40 move right; the left high key is 30.
	orig := btPage(t, 7, 9, 0, FlagLeaf, tup(tid{9, 9}, 99), tup(tid{1, 1}, 10), tup(tid{1, 2}, 20), tup(tid{1, 3}, 30), tup(tid{1, 4}, 40))
	right := btPage(t, 0, 0, 0, 0, tup(tid{9, 9}, 99), tup(tid{1, 3}, 30), tup(tid{1, 4}, 40))
	rightData := right[pgUpper(right):pgSpecial(right)]
	hikey := tup(tid{0, 0}, 30)
	md := cat(le32(0), le16(4, 4, 0))
	r := rec(SplitL, md,
		wal.BlockRef{ID: 0, Blk: 3, Data: cat(tup(tid{1, 9}, 25), hikey)},
		wal.BlockRef{ID: 1, Blk: 4, Data: rightData},
		wal.BlockRef{ID: 2, Blk: 9})
	redoBlock(t, orig, r, 0)
	if got := keys(t, orig); !equalU64(got, []uint64{30, 10, 20, 25}) {
		t.Fatalf("left keys %v", got)
	}
	if o, _ := btOpaque(orig); o.flags() != FlagLeaf|FlagIncompleteSplit || o.next() != 4 || o.prev() != 7 {
		t.Fatalf("left opaque flags %#x next %d prev %d", o.flags(), o.next(), o.prev())
	}
	rp := make([]byte, blockSize)
	redoBlock(t, rp, r, 1)
	if got := keys(t, rp); !equalU64(got, []uint64{99, 30, 40}) {
		t.Fatalf("right keys %v", got)
	}
	if o, _ := btOpaque(rp); o.prev() != 3 || o.next() != 9 || o.flags() != FlagLeaf {
		t.Fatalf("right opaque prev %d next %d flags %#x", o.prev(), o.next(), o.flags())
	}
	sib := btPage(t, 3, 0, 0, FlagLeaf)
	redoBlock(t, sib, r, 2)
	if o, _ := btOpaque(sib); o.prev() != 4 {
		t.Fatalf("sibling prev %d", o.prev())
	}
}

func TestDedupMergesEachIntervalIntoOnePostingList(t *testing.T) {
	pg := btPage(t, 0, 0, 0, FlagLeaf|FlagHasGarbage, tup(tid{1, 1}, 5), tup(tid{1, 2}, 5), tup(tid{1, 3}, 5), tup(tid{1, 4}, 6))
	r := rec(Dedup, le16(1), wal.BlockRef{ID: 0, Data: le16(1, 3)})
	redoBlock(t, pg, r, 0)
	if maxOffset(pg) != 2 {
		t.Fatalf("%d items, want 2", maxOffset(pg))
	}
	p, _ := tupleAt(pg, 1)
	if got := tids(t, p); len(got) != 3 || got[2] != (tid{1, 3}) {
		t.Fatalf("posting list %v", got)
	}
	if o, _ := btOpaque(pg); o.hasFlag(FlagHasGarbage) {
		t.Fatalf("BTP_HAS_GARBAGE not cleared")
	}
}

func TestVacuumAndDeleteShrinkPostingListsAndDeleteItems(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   uint8
		md   []byte
	}{
		{"vacuum", Vacuum, le16(1, 1)},
		{"delete", Delete, cat(le32(1234), le16(1, 1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := btPage(t, 0, 0, 0, FlagLeaf, tup(tid{1, 1}, 4), posting(t, 5, tid{1, 2}, tid{1, 3}, tid{1, 4}), tup(tid{1, 5}, 6))
			data := cat(le16(1), le16(2), le16(1), le16(1))
			redoBlock(t, pg, rec(tc.op, tc.md, wal.BlockRef{ID: 0, Data: data}), 0)
			if got := keys(t, pg); !equalU64(got, []uint64{5, 6}) {
				t.Fatalf("keys %v", got)
			}
			p, _ := tupleAt(pg, 1)
			if got := tids(t, p); len(got) != 2 || got[1] != (tid{1, 4}) {
				t.Fatalf("posting list %v", got)
			}
		})
	}
}

func TestPageDeletionRecordsRewriteTargetLeafParentAndSiblings(t *testing.T) {
	parent := btPage(t, 0, 0, 1, 0, tup(tid{10, 0}, 1), tup(tid{11, 0}, 2), tup(tid{12, 0}, 3))
	hd := rec(MarkPageHalfDead, cat(le16(1, 0), le32(10, 0, 11, 10)), wal.BlockRef{ID: 0, Blk: 10}, wal.BlockRef{ID: 1, Blk: 2})
	redoBlock(t, parent, hd, 1)
	if maxOffset(parent) != 2 {
		t.Fatalf("parent has %d items", maxOffset(parent))
	}
	if d, _ := tupleAt(parent, 1); tidBlock(d) != 11 {
		t.Fatalf("downlink %d, want 11", tidBlock(d))
	}
	leaf := make([]byte, blockSize)
	redoBlock(t, leaf, hd, 0)
	if o, _ := btOpaque(leaf); o.flags() != FlagHalfDead|FlagLeaf || o.next() != 11 {
		t.Fatalf("half-dead leaf flags %#x next %d", o.flags(), o.next())
	}

	md := make([]byte, 36)
	copy(md, le32(5, 6, 1))
	binary.LittleEndian.PutUint64(md[16:], 0x1_0000_0042)
	copy(md[24:], le32(20, 21, 22))
	ul := rec(UnlinkPageMeta, md, wal.BlockRef{ID: 0, Blk: 10}, wal.BlockRef{ID: 1, Blk: 5}, wal.BlockRef{ID: 2, Blk: 6},
		wal.BlockRef{ID: 3, Blk: 30}, wal.BlockRef{ID: 4, Blk: 0, Data: metaData(6, 1)})
	target := make([]byte, blockSize)
	redoBlock(t, target, ul, 0)
	if o, _ := btOpaque(target); o.flags() != FlagDeleted|FlagHasFullXid || pgLower(target) != 32 || binary.LittleEndian.Uint64(target[24:]) != 0x1_0000_0042 {
		t.Fatalf("deleted page flags %#x lower %d", o.flags(), pgLower(target))
	}
	left, rightp := btPage(t, 0, 10, 1, 0), btPage(t, 10, 0, 1, 0)
	redoBlock(t, left, ul, 1)
	redoBlock(t, rightp, ul, 2)
	if lo, _ := btOpaque(left); lo.next() != 6 {
		t.Fatalf("left next %d", lo.next())
	}
	if ro, _ := btOpaque(rightp); ro.prev() != 5 {
		t.Fatalf("right prev %d", ro.prev())
	}
	redoBlock(t, leaf, ul, 3)
	if h, _ := tupleAt(leaf, 1); tidBlock(h) != 22 {
		t.Fatalf("top parent %d", tidBlock(h))
	}
	meta := make([]byte, blockSize)
	redoBlock(t, meta, ul, 4)
	if u32(meta, 32) != 6 {
		t.Fatalf("meta root %d", u32(meta, 32))
	}
}

func TestNewRootBuildsTheRootFromItsTuples(t *testing.T) {
	src := btPage(t, 0, 0, 1, 0, tup(tid{3, 0}, 0), tup(tid{4, 0}, 50))
	r := rec(NewRoot, le32(8, 1), wal.BlockRef{ID: 0, Blk: 8, Data: src[pgUpper(src):pgSpecial(src)]},
		wal.BlockRef{ID: 1, Blk: 3}, wal.BlockRef{ID: 2, Data: metaData(8, 1)})
	root := make([]byte, blockSize)
	redoBlock(t, root, r, 0)
	if got := keys(t, root); !equalU64(got, []uint64{0, 50}) {
		t.Fatalf("root keys %v", got)
	}
	if o, _ := btOpaque(root); o.flags() != FlagRoot {
		t.Fatalf("root flags %#x", o.flags())
	}
}

func TestMalformedRecordsAreErrors(t *testing.T) {
	leaf := func() []byte { return btPage(t, 0, 0, 0, FlagLeaf, tup(tid{1, 1}, 1)) }
	for _, tc := range []struct {
		name string
		r    *wal.Record
	}{
		{"insert without main data", rec(InsertLeaf, nil, wal.BlockRef{ID: 0, Data: tup(tid{1, 1}, 1)})},
		{"insert beyond the last offset", rec(InsertLeaf, le16(9), wal.BlockRef{ID: 0, Data: tup(tid{1, 1}, 1)})},
		{"posting split of a plain tuple", rec(InsertPost, le16(2), wal.BlockRef{ID: 0, Data: cat(le16(1), tup(tid{1, 1}, 1))})},
		{"dedup intervals truncated", rec(Dedup, le16(4), wal.BlockRef{ID: 0, Data: le16(1)})},
		{"vacuum offsets out of range", rec(Vacuum, le16(3, 0), wal.BlockRef{ID: 0, Data: le16(5, 6, 7)})},
		{"vacuum update of a plain tuple", rec(Vacuum, le16(0, 1), wal.BlockRef{ID: 0, Data: le16(1, 1, 0)})},
		{"split with a zero-size tuple", rec(SplitR, cat(le32(0), le16(2, 2, 0)), wal.BlockRef{ID: 0}, wal.BlockRef{ID: 1, Data: make([]byte, 16)})},
		{"unknown opcode", rec(0xF0, nil, wal.BlockRef{ID: 0})},
		{"unexpected block", rec(Vacuum, le16(0, 0), wal.BlockRef{ID: 3})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			for i := range r.Blocks {
				if err := Redo(leaf(), r, &r.Blocks[i]); err != nil {
					return
				}
			}
			t.Fatalf("no error")
		})
	}
}

func TestSplitRightReplacesAPostingListThatStaysOnTheLeft(t *testing.T) {
	// Rightmost leaf: 10, posting(20: (1,1),(1,3),(1,5)), 30. The new item
	// 20@(1,2) splits the posting list; it goes right (as 20@(1,5)), the
	// posting list keeps (1,1),(1,2),(1,3) on the left.
	orig := btPage(t, 0, 0, 0, FlagLeaf, tup(tid{1, 9}, 10), posting(t, 20, tid{1, 1}, tid{1, 3}, tid{1, 5}), tup(tid{2, 1}, 30))
	md := cat(le32(0), le16(3, 3, 1))
	r := rec(SplitR, md, wal.BlockRef{ID: 0, Blk: 3, Data: cat(tup(tid{1, 2}, 20), tup(tid{0, 0}, 20))}, wal.BlockRef{ID: 1, Blk: 4})
	redoBlock(t, orig, r, 0)
	if got := keys(t, orig); !equalU64(got, []uint64{20, 10, 20}) {
		t.Fatalf("left keys %v", got)
	}
	p, _ := tupleAt(orig, 3)
	if got := tids(t, p); len(got) != 3 || got[1] != (tid{1, 2}) || got[2] != (tid{1, 3}) {
		t.Fatalf("left posting list %v", got)
	}
}
