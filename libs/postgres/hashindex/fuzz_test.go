package hashindex

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// FuzzRedo feeds arbitrary records and pages to Redo: it must return an
// error or succeed, never panic, and never change the page's length.
// Only the seeds run in CI; `go test -fuzz FuzzRedo ./hashindex` explores.
func FuzzRedo(f *testing.F) {
	bucket := bucketPage(f, 1, PageBucket, htup(1, 1, 1), htup(1, 2, 2), htup(1, 3, 3))
	meta := metaPage(f)
	bm := page.Page(make([]byte, page.Size))
	if err := initBitmapPage(bm, 64); err != nil {
		f.Fatal(err)
	}
	seeds := []struct {
		info    uint8
		id      uint8
		md, dat []byte
		pg      []byte
	}{
		{InitMetaPage, 0, cat(make([]byte, 8), le32(450), le16(307)), nil, nil},
		{InitBitmapPage, 0, le16(4096), nil, nil},
		{InitBitmapPage, 1, le16(4096), nil, meta},
		{Insert, 0, le16(2), htup(2, 2, 9), bucket},
		{Insert, 1, le16(2), nil, meta},
		{AddOvflPage, 0, cat(le16(64), []byte{0}), le32(1), nil},
		{AddOvflPage, 2, cat(le16(64), []byte{0}), le32(5), bm},
		{AddOvflPage, 4, cat(le16(64), []byte{0}), le32(5), meta},
		{SplitAllocatePage, 0, cat(le32(2), le16(0x22, 0x12), []byte{3}), nil, bucket},
		{SplitAllocatePage, 2, cat(le32(2), le16(0x22, 0x12), []byte{3}), le32(3, 7, 2, 4), meta},
		{SplitComplete, 1, le16(0x42, 2), nil, bucket},
		{MovePageContents, 1, cat(le16(1), []byte{0}), cat(le16(2), htup(3, 3, 3)), bucket},
		{MovePageContents, 2, cat(le16(1), []byte{0}), le16(1, 2, 3), bucket},
		{SqueezePage, 1, cat(le32(1, 9), le16(1), []byte{0, 1}), cat(le16(4), htup(3, 3, 3)), bucket},
		{SqueezePage, 5, cat(le32(1, 9), le16(1), []byte{0, 1}), le32(3), bm},
		{Delete, 1, []byte{1, 0}, le16(1, 3), bucket},
		{SplitCleanup, 0, nil, nil, bucket},
		{UpdateMetaPage, 0, make([]byte, 8), nil, meta},
		{VacuumOnePage, 0, cat(le32(5, 2), le16(1, 2)), nil, bucket},
	}
	for _, s := range seeds {
		pg := s.pg
		if pg == nil {
			pg = make([]byte, page.Size)
		}
		f.Add(s.info, s.id, s.md, s.dat, pg)
	}
	f.Fuzz(func(t *testing.T, info, id uint8, md, data, pgIn []byte) {
		pg := make([]byte, page.Size)
		copy(pg, pgIn)
		r := &wal.Record{RmID: wal.RmHash, Info: info, MainData: md}
		for i := uint8(0); i < 7; i++ {
			b := wal.BlockRef{ID: i, Blk: uint32(i) + 3}
			if i == id%7 {
				b.Data = data
			}
			r.Blocks = append(r.Blocks, b)
		}
		_ = Redo(pg, r, r.Block(id%7))
		if len(pg) != page.Size {
			t.Fatalf("page length changed to %d", len(pg))
		}
	})
}
