package gin

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

func rec(op uint8, md []byte, nblocks int) *wal.Record {
	r := &wal.Record{RmID: wal.RmGin, Info: op, MainData: md}
	for i := 0; i < nblocks; i++ {
		r.Blocks = append(r.Blocks, wal.BlockRef{ID: uint8(i), Blk: uint32(i + 1)})
	}
	return r
}

func pitem(child uint32, key page.ItemPointer) []byte {
	b := make([]byte, postingItemSize)
	putBlockID(b, child)
	key.Put(b[4:])
	return b
}

func internalPage(t *testing.T, children ...uint32) page.Page {
	t.Helper()
	p := newPage(t, FlagData)
	for i, c := range children {
		copy(p[dataStart+i*postingItemSize:], pitem(c, page.ItemPointer{Block: c, Offset: 1}))
	}
	binary.LittleEndian.PutUint16(p[page.Size-4:], uint16(len(children)))
	p.SetLower(dataStart + len(children)*postingItemSize)
	return p
}

func children(p page.Page) []uint32 {
	n := int(binary.LittleEndian.Uint16(p[page.Size-4:]))
	var out []uint32
	for i := 0; i < n; i++ {
		out = append(out, blockID(p[dataStart+i*postingItemSize:]))
	}
	return out
}

func TestInternalDataInsertRelinksTheSplitChildAndAddsTheRightOne(t *testing.T) {
	p := internalPage(t, 10, 20, 30)
	// Child 20 (offset 2) split into 20 and 25: offset 2 now points to the
	// right half (25) and the new item for the left half goes in at 2.
	r := rec(Insert, cat(le16(insertIsData), le16(0, 20, 0, 25)), 2)
	r.Blocks[0].Data = cat(le16(2), pitem(20, page.ItemPointer{Block: 20, Offset: 9}))
	if err := Redo(p, r, &r.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	if got, want := children(p), []uint32{10, 20, 25, 30}; !slices.Equal(got, want) {
		t.Fatalf("children %v, want %v", got, want)
	}
	if p.Lower() != dataStart+4*postingItemSize {
		t.Fatalf("pd_lower %d", p.Lower())
	}
}

func TestDeletePageRemovesTheParentItemAndMarksTheChild(t *testing.T) {
	parent := internalPage(t, 10, 20, 30)
	md := cat(le16(2, 0), le32(30, 777))
	r := rec(DeletePage, md, 3)
	if err := Redo(parent, r, &r.Blocks[1]); err != nil {
		t.Fatal(err)
	}
	if got, want := children(parent), []uint32{10, 30}; !slices.Equal(got, want) {
		t.Fatalf("children %v, want %v", got, want)
	}
	child := newPage(t, FlagData|FlagLeaf|FlagCompressed)
	if err := Redo(child, r, &r.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	o, _ := opaque(child)
	if flags(o)&FlagDeleted == 0 || child.PruneXid() != 777 {
		t.Fatalf("deleted page flags %#x prune xid %d", flags(o), child.PruneXid())
	}
	left := newPage(t, FlagData|FlagLeaf|FlagCompressed)
	if err := Redo(left, r, &r.Blocks[2]); err != nil {
		t.Fatal(err)
	}
	if rl := binary.LittleEndian.Uint32(left[page.Size-8:]); rl != 30 {
		t.Fatalf("left sibling rightlink %d, want 30", rl)
	}
}

func TestUpdateMetaPageAppendsToTheTailAndCountsARow(t *testing.T) {
	meta := make([]byte, metaSize)
	binary.LittleEndian.PutUint32(meta, 5) // head
	md := cat(make([]byte, 16), meta, le32(invalidBlock, invalidBlock, 2), make([]byte, 4))
	r := rec(UpdateMetaPage, md, 2)
	r.Blocks[1].Data = cat(itup(16), itup(8))
	tail := newPage(t, FlagList)
	if _, err := tail.AddItem(itup(8), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := Redo(tail, r, &r.Blocks[1]); err != nil {
		t.Fatal(err)
	}
	if tail.MaxOffset() != 3 || binary.LittleEndian.Uint16(tail[page.Size-4:]) != 1 {
		t.Fatalf("tail has %d tuples, maxoff %d", tail.MaxOffset(), binary.LittleEndian.Uint16(tail[page.Size-4:]))
	}
	mp := make([]byte, page.Size)
	if err := Redo(mp, r, &r.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	if page.Page(mp).Lower() != page.HeaderSize+metaSize || binary.LittleEndian.Uint32(mp[page.HeaderSize:]) != 5 {
		t.Fatalf("metapage pd_lower %d head %d", page.Page(mp).Lower(), binary.LittleEndian.Uint32(mp[page.HeaderSize:]))
	}
}

func TestInsertListPageMarksTheTailFullRow(t *testing.T) {
	r := rec(InsertListPage, le32(invalidBlock, 2), 1)
	r.Blocks[0].Data = cat(itup(16), itup(8))
	pg := make([]byte, page.Size)
	if err := Redo(pg, r, &r.Blocks[0]); err != nil {
		t.Fatal(err)
	}
	o, _ := opaque(page.Page(pg))
	if flags(o) != FlagList|FlagListFullRow || binary.LittleEndian.Uint16(o[4:]) != 1 || page.Page(pg).MaxOffset() != 2 {
		t.Fatalf("flags %#x maxoff %d tuples %d", flags(o), binary.LittleEndian.Uint16(o[4:]), page.Page(pg).MaxOffset())
	}
}

func TestImageOnlyBlocksWithoutAnImageFail(t *testing.T) {
	for _, tc := range []struct {
		op  uint8
		blk int
	}{{Split, 0}, {Split, 1}, {Split, 2}, {VacuumPage, 0}} {
		r := rec(tc.op, make([]byte, 26), 4)
		if err := Redo(make([]byte, page.Size), r, &r.Blocks[tc.blk]); err == nil {
			t.Errorf("%s block %d without an image succeeded", wal.OpName(wal.RmGin, tc.op), tc.blk)
		}
	}
}

func TestRecompressDeletesInsertsAndReplacesSegments(t *testing.T) {
	p := newPage(t, FlagData|FlagLeaf|FlagCompressed)
	s0, _ := encodeSegment([]page.ItemPointer{tid(1, 1)})
	s1, _ := encodeSegment([]page.ItemPointer{tid(2, 1)})
	s2, _ := encodeSegment([]page.ItemPointer{tid(3, 1)})
	copy(p[dataStart:], cat(s0, s1, s2))
	p.SetLower(dataStart + 3*len(s0))
	n0, _ := encodeSegment([]page.ItemPointer{tid(1, 1), tid(1, 2)})
	n1, _ := encodeSegment([]page.ItemPointer{tid(2, 5)})
	// Replace segment 0, delete segment 1, insert a new one before segment 2.
	acts := cat(le16(3), []byte{0, segReplace}, n0, []byte{1, segDelete}, []byte{2, segInsert}, n1)
	if err := recompress(p, acts); err != nil {
		t.Fatal(err)
	}
	got, err := decodeSegments(p[dataStart:p.Lower()])
	if err != nil {
		t.Fatal(err)
	}
	want := []page.ItemPointer{tid(1, 1), tid(1, 2), tid(2, 5), tid(3, 1)}
	if !slices.Equal(got, want) {
		t.Fatalf("items %v, want %v", got, want)
	}
}
