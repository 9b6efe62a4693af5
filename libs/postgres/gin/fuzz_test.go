package gin

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

func le32(vs ...uint32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], v)
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

// itup builds an index tuple of n bytes (n >= 8, MAXALIGNed by the caller).
func itup(n int) []byte {
	t := make([]byte, n)
	binary.LittleEndian.PutUint16(t[6:], uint16(n))
	return t
}

func newPage(tb testing.TB, f uint16) page.Page {
	tb.Helper()
	pg := make([]byte, page.Size)
	if err := InitPage(pg, f); err != nil {
		tb.Fatal(err)
	}
	return page.Page(pg)
}

// FuzzRedo feeds arbitrary main data, block data and pages to Redo: it must
// return an error or succeed, never panic, and never change the page's
// length. Only the seeds run in CI; `go test -fuzz FuzzRedo ./gin` explores.
func FuzzRedo(f *testing.F) {
	entry := newPage(f, FlagLeaf)
	for i := 0; i < 3; i++ {
		if _, err := entry.AddItem(itup(16), 0, 0); err != nil {
			f.Fatal(err)
		}
	}
	leaf := newPage(f, FlagData|FlagLeaf|FlagCompressed)
	seg, _ := encodeSegment([]page.ItemPointer{{Block: 1, Offset: 1}, {Block: 1, Offset: 4}, {Block: 7, Offset: 2}})
	copy(leaf[dataStart:], seg)
	leaf.SetLower(dataStart + len(seg))
	internal := newPage(f, FlagData)
	binary.LittleEndian.PutUint16(internal[page.Size-4:], 2)
	internal.SetLower(dataStart + 2*postingItemSize)
	meta := make([]byte, metaSize)
	ip := make([]byte, 6)
	page.ItemPointer{Block: 1, Offset: 2}.Put(ip)
	seeds := []struct {
		info     uint8
		id       uint8
		md, data []byte
		pg       []byte
	}{
		{CreatePTree, 0, cat(le32(uint32(len(seg))), seg), nil, nil},
		{Insert, 0, le16(insertIsLeaf), cat(le16(2), []byte{0, 0}, itup(16)), entry},
		{Insert, 0, le16(insertIsLeaf), cat(le16(2), []byte{1, 0}, itup(24)), entry},
		{Insert, 0, cat(le16(0), le16(0, 3, 0, 4)), cat(le16(1), []byte{0, 0}, itup(16)), entry},
		{Insert, 1, cat(le16(0), le16(0, 3, 0, 4)), nil, entry},
		{Insert, 0, le16(insertIsLeaf | insertIsData), cat(le16(1), []byte{0, segAddItems}, le16(1), ip), leaf},
		{Insert, 0, le16(insertIsLeaf | insertIsData), cat(le16(3), []byte{0, segReplace}, seg, []byte{1, segInsert}, seg, []byte{1, segDelete}), leaf},
		{Insert, 0, cat(le16(insertIsData), le16(0, 3, 0, 4)), cat(le16(2), make([]byte, 10)), internal},
		{Split, 3, cat(make([]byte, 24), le16(0)), nil, internal},
		{VacuumDataLeafPage, 0, nil, cat(le16(1), []byte{0, segDelete}), leaf},
		{DeletePage, 0, cat(le16(1, 0), le32(9, 100)), nil, internal},
		{DeletePage, 1, cat(le16(2, 0), le32(9, 100)), nil, internal},
		{DeletePage, 2, cat(le16(1, 0), le32(9, 100)), nil, internal},
		{UpdateMetaPage, 0, cat(make([]byte, 16), meta, le32(5, 6, 2), make([]byte, 4)), nil, nil},
		{UpdateMetaPage, 1, cat(make([]byte, 16), meta, le32(5, 6, 2), make([]byte, 4)), cat(itup(16), itup(8)), newPage(f, FlagList)},
		{UpdateMetaPage, 1, cat(make([]byte, 16), meta, le32(5, 6, 0), make([]byte, 4)), nil, newPage(f, FlagList)},
		{InsertListPage, 0, le32(invalidBlock, 2), cat(itup(16), itup(8)), nil},
		{DeleteListPage, 0, cat(meta, le32(2)), nil, nil},
		{DeleteListPage, 2, cat(meta, le32(2)), nil, nil},
	}
	for _, s := range seeds {
		pg := s.pg
		if pg == nil {
			pg = make([]byte, page.Size)
		}
		f.Add(s.info, s.id, s.md, s.data, pg)
	}
	f.Fuzz(func(t *testing.T, info, id uint8, md, data, pgIn []byte) {
		pg := make([]byte, page.Size)
		copy(pg, pgIn)
		rec := &wal.Record{RmID: wal.RmGin, Info: info, MainData: md}
		for i := 0; i < 4; i++ {
			rec.Blocks = append(rec.Blocks, wal.BlockRef{ID: uint8(i), Blk: uint32(i + 1)})
		}
		blk := &rec.Blocks[id%4]
		blk.Data = data
		_ = Redo(pg, rec, blk)
		if len(pg) != page.Size {
			t.Fatalf("page length changed to %d", len(pg))
		}
	})
}
