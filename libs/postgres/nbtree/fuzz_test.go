package nbtree

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/wal"
)

// FuzzRedo feeds arbitrary records and pages to Redo: it must return an
// error or succeed, never panic, and never change the page's length.
// Only the seeds run in CI; `go test -fuzz FuzzRedo ./nbtree` explores.
func FuzzRedo(f *testing.F) {
	leaf := btPage(f, 0, 0, 0, FlagLeaf, tup(tid{1, 1}, 5), tup(tid{1, 2}, 5), posting(f, 6, tid{1, 3}, tid{1, 4}, tid{2, 1}), tup(tid{2, 2}, 7))
	inner := btPage(f, 0, 9, 1, 0, tup(tid{3, 0}, 0), tup(tid{10, 0}, 1), tup(tid{11, 0}, 2))
	right := btPage(f, 0, 0, 0, 0, tup(tid{9, 9}, 99), tup(tid{1, 3}, 30))
	split := cat(le32(0), le16(3, 3, 0))
	seeds := []struct {
		info    uint8
		id      uint8
		md, dat []byte
		pg      []byte
	}{
		{InsertLeaf, 0, le16(2), tup(tid{1, 9}, 5), leaf},
		{InsertUpper, 1, le16(2), tup(tid{4, 0}, 3), inner},
		{InsertMeta, 2, le16(2), metaData(3, 1), nil},
		{InsertPost, 0, le16(4), cat(le16(1), tup(tid{1, 5}, 6)), leaf},
		{SplitL, 0, split, cat(tup(tid{1, 9}, 5), tup(tid{0, 0}, 6)), leaf},
		{SplitR, 1, split, right[pgUpper(right):pgSpecial(right)], nil},
		{SplitR, 3, cat(le32(1), le16(3, 3, 0)), nil, inner},
		{SplitR, 0, cat(le32(0), le16(3, 4, 1)), cat(tup(tid{1, 5}, 6), tup(tid{0, 0}, 6)), leaf},
		{Dedup, 0, le16(1), le16(1, 2), leaf},
		{Vacuum, 0, le16(1, 1), cat(le16(1), le16(3), le16(1), le16(0)), leaf},
		{Delete, 0, cat(le32(7), le16(2, 0)), le16(1, 2), leaf},
		{MarkPageHalfDead, 1, cat(le16(1, 0), le32(10, 0, 11, 10)), nil, inner},
		{MarkPageHalfDead, 0, cat(le16(1, 0), le32(10, 0, 11, 10)), nil, nil},
		{UnlinkPage, 0, make([]byte, 36), nil, nil},
		{UnlinkPageMeta, 3, make([]byte, 36), nil, nil},
		{NewRoot, 0, le32(8, 1), right[pgUpper(right):pgSpecial(right)], nil},
		{MetaCleanup, 0, nil, metaData(1, 0), nil},
	}
	for _, s := range seeds {
		pg := s.pg
		if pg == nil {
			pg = make([]byte, blockSize)
		}
		f.Add(s.info, s.id, s.md, s.dat, pg)
	}
	f.Fuzz(func(t *testing.T, info, id uint8, md, data, pgIn []byte) {
		pg := make([]byte, blockSize)
		copy(pg, pgIn)
		r := &wal.Record{RmID: wal.RmBtree, Info: info, MainData: md}
		for i := uint8(0); i < 5; i++ {
			b := wal.BlockRef{ID: i, Blk: uint32(i) + 3}
			if i == id%5 {
				b.Data = data
			}
			r.Blocks = append(r.Blocks, b)
		}
		_ = Redo(pg, r, r.Block(id%5))
		if len(pg) != blockSize {
			t.Fatalf("page length changed to %d", len(pg))
		}
	})
}
