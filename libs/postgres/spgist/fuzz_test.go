package spgist

import (
	"encoding/binary"
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

func le16(vs ...uint16) []byte {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint16(b[2*i:], v)
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

// leafTup builds a live leaf tuple with a 4-byte datum and next offset next.
func leafTup(next uint16, blk uint32, off uint16) []byte {
	t := make([]byte, 16)
	binary.LittleEndian.PutUint32(t, 16<<2)
	binary.LittleEndian.PutUint16(t[4:], next)
	page.ItemPointer{Block: blk, Offset: off}.Put(t[6:])
	return t
}

// innerTup builds a live inner tuple without prefix and with n nodes.
func innerTup(n int) []byte {
	t := make([]byte, innerHdrSize+8*n)
	binary.LittleEndian.PutUint32(t, uint32(n)<<3)
	binary.LittleEndian.PutUint16(t[4:], uint16(len(t)))
	for i := 0; i < n; i++ {
		node := t[innerHdrSize+8*i:]
		page.ItemPointer{Block: invalidBlock}.Put(node)
		binary.LittleEndian.PutUint16(node[6:], 8)
	}
	return t
}

func testPage(tb testing.TB, flags uint16, tups ...[]byte) []byte {
	tb.Helper()
	pg := make([]byte, page.Size)
	if err := InitPage(pg, flags); err != nil {
		tb.Fatal(err)
	}
	for i, tup := range tups {
		if err := addItemAt(page.Page(pg), tup, page.OffsetNumber(i+1)); err != nil {
			tb.Fatal(err)
		}
	}
	return pg
}

func record(info uint8, md []byte, blocks ...uint32) *wal.Record {
	rec := &wal.Record{RmID: wal.RmSPGist, Info: info, MainData: md}
	for i, b := range blocks {
		rec.Blocks = append(rec.Blocks, wal.BlockRef{ID: uint8(i), Blk: b})
	}
	return rec
}

// FuzzRedo feeds arbitrary main data and pages to Redo: it must return an
// error or succeed, never panic, and never change the page's length. Only
// the seeds run in CI; `go test -fuzz FuzzRedo ./spgist` explores.
func FuzzRedo(f *testing.F) {
	leaf := testPage(f, FlagLeaf, leafTup(0, 1, 1), leafTup(1, 1, 2), deadTuple(StatePlaceholder, invalidBlock, 0, 0))
	inner := testPage(f, 0, innerTup(4), innerTup(2))
	state := []byte{7, 0, 0, 0, 0, 0, 0, 0}
	seeds := []struct {
		info uint8
		id   uint8
		md   []byte
		pg   []byte
	}{
		{AddLeaf, 0, cat([]byte{0, 0}, le16(3, 2, 1, 1), leafTup(2, 9, 9)), leaf},
		{AddLeaf, 0, cat([]byte{1, 0}, le16(1, 0, 0, 0), leafTup(0, 9, 9)), nil},
		{AddLeaf, 1, cat([]byte{0, 0}, le16(4, 0, 1, 2), leafTup(0, 9, 9)), inner},
		{MoveLeafs, 0, cat(le16(2), []byte{0, 0, 0, 0}, le16(1, 0), le16(0), state, le16(1, 2), le16(1, 2, 3), leafTup(0, 1, 1), leafTup(1, 1, 2), leafTup(2, 1, 3)), leaf},
		{MoveLeafs, 1, cat(le16(2), []byte{1, 0, 0, 0}, le16(1, 0), le16(0), state, le16(1, 2), le16(1, 2, 3), leafTup(0, 1, 1), leafTup(1, 1, 2), leafTup(2, 1, 3)), nil},
		{MoveLeafs, 2, cat(le16(2), []byte{0, 0, 0, 0}, le16(1, 3), le16(0), state, le16(1, 2), le16(1, 2, 3), leafTup(0, 1, 1), leafTup(1, 1, 2), leafTup(2, 1, 3)), inner},
		{AddNode, 0, cat(le16(1, 0), []byte{0, 0xFF}, le16(0, 0), le16(0), state, innerTup(5)), inner},
		{AddNode, 0, cat(le16(1, 2), []byte{0, 0}, le16(2, 1), le16(0), state, innerTup(5)), inner},
		{AddNode, 1, cat(le16(1, 3), []byte{0, 1}, le16(1, 0), le16(0), state, innerTup(5)), inner},
		{SplitTuple, 0, cat(le16(1, 3), []byte{0, 1}, innerTup(1), innerTup(4)), inner},
		{SplitTuple, 1, cat(le16(1, 1), []byte{1, 0}, innerTup(1), innerTup(4)), nil},
		{PickSplit, 0, cat([]byte{0, 0}, le16(2, 2), []byte{0, 0}, le16(1), []byte{0, 0, 0, 0}, le16(1, 0, 0), state, le16(1, 2), le16(1, 2), []byte{0, 1}, innerTup(2), leafTup(0, 1, 1), leafTup(0, 1, 2)), leaf},
		{PickSplit, 1, cat([]byte{0, 0}, le16(2, 2), []byte{0, 1}, le16(1), []byte{0, 0, 0, 0}, le16(1, 0, 0), state, le16(1, 2), le16(1, 2), []byte{0, 1}, innerTup(2), leafTup(0, 1, 1), leafTup(0, 1, 2)), nil},
		{PickSplit, 2, cat([]byte{1, 0}, le16(0, 0), []byte{0, 0}, le16(1), []byte{1, 0, 1, 0}, le16(1, 0, 0), state, innerTup(2)), nil},
		{PickSplit, 3, cat([]byte{0, 0}, le16(0, 0), []byte{0, 0}, le16(3), []byte{0, 0, 0, 0}, le16(2, 1, 0), state, innerTup(2)), inner},
		{VacuumLeaf, 0, cat(le16(1, 1, 0, 1), state, le16(1), le16(3), le16(2, 0)), leaf},
		{VacuumLeaf, 0, cat(le16(0, 0, 1, 0), state, le16(1), le16(3)), leaf},
		{VacuumRoot, 0, cat(le16(2, 0), state, le16(1, 2)), leaf},
		{VacuumRedirect, 0, cat(le16(1, 1), []byte{0, 0, 0, 0}, le16(1)), testPage(f, 0, deadTuple(StateRedirect, 3, 4, 5))},
	}
	for _, s := range seeds {
		pg := s.pg
		if pg == nil {
			pg = make([]byte, page.Size)
		}
		f.Add(s.info, s.id, s.md, pg)
	}
	f.Fuzz(func(t *testing.T, info, id uint8, md, pgIn []byte) {
		pg := make([]byte, page.Size)
		copy(pg, pgIn)
		rec := record(info, md, 1, 2, 3, 4)
		blk := &rec.Blocks[id%4]
		_ = Redo(pg, rec, blk)
		if len(pg) != page.Size {
			t.Fatalf("page length changed to %d", len(pg))
		}
	})
}
