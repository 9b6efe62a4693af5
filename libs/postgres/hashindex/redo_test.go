package hashindex

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Hand-built pages and records for each Hash record type.

// htup builds a hash index tuple: heap TID and the 4-byte hash code.
func htup(blk uint32, off uint16, hash uint32) []byte {
	b := make([]byte, 16)
	put16(b, 0, uint16(blk>>16))
	put16(b, 2, uint16(blk))
	put16(b, 4, off)
	put16(b, 6, 16)
	put32(b, 8, hash)
	return b
}

func bucketPage(tb testing.TB, bucket uint32, flag uint16, items ...[]byte) page.Page {
	tb.Helper()
	pg := page.Page(make([]byte, page.Size))
	if err := initBuf(pg, bucket, bucket, flag); err != nil {
		tb.Fatal(err)
	}
	for _, it := range items {
		if _, err := pg.AddItem(it, 0, 0); err != nil {
			tb.Fatal(err)
		}
	}
	return pg
}

func metaPage(tb testing.TB) page.Page {
	tb.Helper()
	pg := page.Page(make([]byte, page.Size))
	md := make([]byte, 14)
	binary.LittleEndian.PutUint64(md, math.Float64bits(0))
	put32(md, 8, 450)
	put16(md, 12, 307)
	redoOK(tb, pg, hrec(InitMetaPage, md, wal.BlockRef{ID: 0}), 0)
	return pg
}

func hrec(info uint8, md []byte, blocks ...wal.BlockRef) *wal.Record {
	return &wal.Record{RmID: wal.RmHash, Info: info, MainData: md, Blocks: blocks}
}

func redoOK(tb testing.TB, pg []byte, r *wal.Record, id uint8) {
	tb.Helper()
	if err := Redo(pg, r, r.Block(id)); err != nil {
		tb.Fatalf("redo block %d: %v", id, err)
	}
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

func hashes(tb testing.TB, pg page.Page) []uint32 {
	tb.Helper()
	var hs []uint32
	for off := page.OffsetNumber(1); off <= pg.MaxOffset(); off++ {
		it, err := pg.Item(off)
		if err != nil {
			tb.Fatal(err)
		}
		hs = append(hs, u32(it, 8))
	}
	return hs
}

func flagOf(pg page.Page) uint16 { return u16(pg, pg.Special()+12) }

func ntuples(pg page.Page) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(pg[mdNTuples:]))
}

func TestInitMetaPageLaysOutTheMetapageLikeHashInit(t *testing.T) {
	pg := metaPage(t)
	checks := []struct {
		name      string
		got, want uint32
	}{
		{"magic", u32(pg, mdMagic), hashMagic},
		{"version", u32(pg, mdVersion), hashVersion},
		{"ffactor", uint32(u16(pg, mdFFactor)), 307},
		{"bsize", uint32(u16(pg, mdBSize)), 8152},
		{"bmsize", uint32(u16(pg, mdBMSize)), 4096},
		{"bmshift", uint32(u16(pg, mdBMShift)), 15},
		{"maxbucket", u32(pg, mdMaxBucket), 1},
		{"highmask", u32(pg, mdHighMask), 3},
		{"lowmask", u32(pg, mdLowMask), 1},
		{"ovflpoint", u32(pg, mdOvflPoint), 1},
		{"spares[1]", u32(pg, mdSpares+4), 1},
		{"procid", u32(pg, mdProcID), 450},
		{"pd_lower", uint32(pg.Lower()), 4568},
		{"flag", uint32(flagOf(pg)), uint32(PageMeta)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestSpareIndexAndTotalBucketsFollowTheSplitpointPhases(t *testing.T) {
	for _, tc := range []struct{ buckets, phase, total uint32 }{
		{2, 1, 2}, {3, 2, 4}, {512, 9, 512}, {513, 10, 640}, {1024, 13, 1024}, {1025, 14, 1280},
	} {
		if got := spareIndex(tc.buckets); got != tc.phase {
			t.Errorf("spareIndex(%d) = %d, want %d", tc.buckets, got, tc.phase)
		}
		if got := totalBuckets(tc.phase); got != tc.total {
			t.Errorf("totalBuckets(%d) = %d, want %d", tc.phase, got, tc.total)
		}
	}
}

func TestBitmapInsertAndVacuumRecordsUpdateTheMetapage(t *testing.T) {
	meta := metaPage(t)
	bm := page.Page(make([]byte, page.Size))
	r := hrec(InitBitmapPage, le16(4096), wal.BlockRef{ID: 0, Blk: 3}, wal.BlockRef{ID: 1})
	redoOK(t, bm, r, 0)
	redoOK(t, meta, r, 1)
	if bm.Lower() != 24+4096 || bm[24] != 0xFF || bm[24+4095] != 0xFF || flagOf(bm) != PageBitmap {
		t.Fatalf("bitmap page lower %d flag %#x", bm.Lower(), flagOf(bm))
	}
	if u32(meta, mdNMaps) != 1 || u32(meta, mdMapp) != 3 {
		t.Fatalf("nmaps %d mapp[0] %d", u32(meta, mdNMaps), u32(meta, mdMapp))
	}

	bucket := bucketPage(t, 1, PageBucket, htup(1, 1, 10))
	ins := hrec(Insert, le16(1), wal.BlockRef{ID: 0, Data: htup(1, 2, 5)}, wal.BlockRef{ID: 1})
	redoOK(t, bucket, ins, 0)
	redoOK(t, meta, ins, 1)
	if hs := hashes(t, bucket); len(hs) != 2 || hs[0] != 5 || ntuples(meta) != 1 {
		t.Fatalf("hashes %v ntuples %v", hs, ntuples(meta))
	}

	md := cat(le32(99), le32(2), le16(1, 2))
	vac := hrec(VacuumOnePage, md, wal.BlockRef{ID: 0}, wal.BlockRef{ID: 1})
	put16(bucket, bucket.Special()+12, PageBucket|PageHasDeadTuples)
	redoOK(t, bucket, vac, 0)
	redoOK(t, meta, vac, 1)
	if bucket.MaxOffset() != 0 || flagOf(bucket) != PageBucket || ntuples(meta) != -1 {
		t.Fatalf("items %d flag %#x ntuples %v", bucket.MaxOffset(), flagOf(bucket), ntuples(meta))
	}

	upd := make([]byte, 8)
	binary.LittleEndian.PutUint64(upd, math.Float64bits(42))
	redoOK(t, meta, hrec(UpdateMetaPage, upd, wal.BlockRef{ID: 0}), 0)
	if ntuples(meta) != 42 {
		t.Fatalf("ntuples %v", ntuples(meta))
	}
}

func TestAddOverflowPageLinksInitialisesAndAllocates(t *testing.T) {
	meta := metaPage(t)
	left := bucketPage(t, 1, PageBucket)
	bm := page.Page(make([]byte, page.Size))
	if err := initBitmapPage(bm, 16); err != nil {
		t.Fatal(err)
	}
	clear(bm[24:40])
	r := hrec(AddOvflPage, cat(le16(16), []byte{0}),
		wal.BlockRef{ID: 0, Blk: 7, Data: le32(1)}, wal.BlockRef{ID: 1, Blk: 2},
		wal.BlockRef{ID: 2, Data: le32(33)}, wal.BlockRef{ID: 4, Data: le32(34)})
	ovfl := page.Page(make([]byte, page.Size))
	for id, pg := range map[uint8]page.Page{0: ovfl, 1: left, 2: bm, 4: meta} {
		redoOK(t, pg, r, id)
	}
	if flagOf(ovfl) != PageOverflow || u32(ovfl, ovfl.Special()) != 2 || u32(ovfl, ovfl.Special()+8) != 1 {
		t.Fatalf("overflow page opaque wrong")
	}
	if u32(left, left.Special()+4) != 7 {
		t.Fatalf("left next %d", u32(left, left.Special()+4))
	}
	if u32(bm, 24+4) != 2 {
		t.Fatalf("bitmap word %#x", u32(bm, 28))
	}
	if u32(meta, mdFirstFree) != 34 || u32(meta, mdSpares+4) != 2 {
		t.Fatalf("firstfree %d spares[1] %d", u32(meta, mdFirstFree), u32(meta, mdSpares+4))
	}
}

func TestSplitRecordsSetBucketFlagsAndMetapageMasks(t *testing.T) {
	meta := metaPage(t)
	old := bucketPage(t, 1, PageBucket, htup(1, 1, 3))
	md := cat(le32(2), le16(PageBucket|BucketBeingSplit, PageBucket|BucketBeingPopulated), []byte{splitMetaUpdateMasks | splitMetaUpdateSplitpoint})
	r := hrec(SplitAllocatePage, md, wal.BlockRef{ID: 0}, wal.BlockRef{ID: 1, Blk: 5}, wal.BlockRef{ID: 2, Data: le32(3, 7, 2, 4)})
	nw := page.Page(make([]byte, page.Size))
	redoOK(t, old, r, 0)
	redoOK(t, nw, r, 1)
	redoOK(t, meta, r, 2)
	if flagOf(old) != PageBucket|BucketBeingSplit || u32(old, old.Special()) != 2 {
		t.Fatalf("old bucket flag %#x prev %d", flagOf(old), u32(old, old.Special()))
	}
	if flagOf(nw) != PageBucket|BucketBeingPopulated || u32(nw, nw.Special()+8) != 2 {
		t.Fatalf("new bucket flag %#x", flagOf(nw))
	}
	if u32(meta, mdMaxBucket) != 2 || u32(meta, mdLowMask) != 3 || u32(meta, mdHighMask) != 7 || u32(meta, mdOvflPoint) != 2 || u32(meta, mdSpares+8) != 4 {
		t.Fatalf("metapage after split allocate wrong")
	}
	done := hrec(SplitComplete, le16(PageBucket|BucketNeedsSplitClean, PageBucket), wal.BlockRef{ID: 0}, wal.BlockRef{ID: 1})
	redoOK(t, old, done, 0)
	redoOK(t, nw, done, 1)
	if flagOf(old) != PageBucket|BucketNeedsSplitClean || flagOf(nw) != PageBucket {
		t.Fatalf("flags after split complete %#x %#x", flagOf(old), flagOf(nw))
	}
	redoOK(t, old, hrec(SplitCleanup, nil, wal.BlockRef{ID: 0}), 0)
	if flagOf(old) != PageBucket {
		t.Fatalf("flag after split cleanup %#x", flagOf(old))
	}
	if err := Redo(nw, hrec(SplitPage, nil, wal.BlockRef{ID: 0}), &wal.BlockRef{ID: 0}); err == nil {
		t.Fatalf("SPLIT_PAGE without an image replayed")
	}
}

func TestMoveSqueezeAndDeleteMoveTuplesAndFreeOverflowPages(t *testing.T) {
	write := bucketPage(t, 1, PageBucket, htup(1, 1, 1))
	from := bucketPage(t, 1, PageOverflow, htup(2, 1, 2), htup(2, 2, 3), htup(2, 3, 4))
	mv := hrec(MovePageContents, cat(le16(2), []byte{1}),
		wal.BlockRef{ID: 1, Data: cat(le16(2, 3), htup(2, 1, 2), htup(2, 2, 3))}, wal.BlockRef{ID: 2, Data: le16(1, 2)})
	redoOK(t, write, mv, 1)
	redoOK(t, from, mv, 2)
	if hs := hashes(t, write); len(hs) != 3 || hs[2] != 3 {
		t.Fatalf("write page hashes %v", hs)
	}
	if hs := hashes(t, from); len(hs) != 1 || hs[0] != 4 {
		t.Fatalf("emptied page hashes %v", hs)
	}

	md := cat(le32(1, 9), le16(1), []byte{1, 1})
	bm := page.Page(make([]byte, page.Size))
	if err := initBitmapPage(bm, 16); err != nil {
		t.Fatal(err)
	}
	sq := hrec(SqueezePage, md, wal.BlockRef{ID: 1, Data: cat(le16(4), htup(2, 3, 4))}, wal.BlockRef{ID: 2},
		wal.BlockRef{ID: 4}, wal.BlockRef{ID: 5, Data: le32(0)}, wal.BlockRef{ID: 6, Data: le32(0)})
	next := bucketPage(t, 1, PageOverflow)
	meta := metaPage(t)
	for id, pg := range map[uint8]page.Page{1: write, 2: from, 4: next, 5: bm, 6: meta} {
		redoOK(t, pg, sq, id)
	}
	if write.MaxOffset() != 4 || u32(write, write.Special()+4) != 9 {
		t.Fatalf("write page items %d next %d", write.MaxOffset(), u32(write, write.Special()+4))
	}
	if flagOf(from) != PageUnused || from.MaxOffset() != 0 {
		t.Fatalf("freed page flag %#x", flagOf(from))
	}
	if u32(next, next.Special()) != 1 || bm[24] != 0xFE {
		t.Fatalf("next prev %d bitmap %#x", u32(next, next.Special()), bm[24])
	}

	put16(write, write.Special()+12, PageBucket|PageHasDeadTuples)
	del := hrec(Delete, []byte{1, 1}, wal.BlockRef{ID: 1, Data: le16(1, 4)})
	redoOK(t, write, del, 1)
	if hs := hashes(t, write); len(hs) != 2 || flagOf(write) != PageBucket {
		t.Fatalf("after delete hashes %v flag %#x", hs, flagOf(write))
	}
}

func TestMalformedHashRecordsAreErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *wal.Record
	}{
		{"insert without main data", hrec(Insert, nil, wal.BlockRef{ID: 0, Data: htup(1, 1, 1)})},
		{"insert beyond the last offset", hrec(Insert, le16(7), wal.BlockRef{ID: 0, Data: htup(1, 1, 1)})},
		{"delete of odd-length offsets", hrec(Delete, []byte{0, 0}, wal.BlockRef{ID: 1, Data: []byte{1}})},
		{"vacuum count beyond its offsets", hrec(VacuumOnePage, cat(le32(1, 50), le16(1)), wal.BlockRef{ID: 0})},
		{"bitmap bit beyond the page", hrec(AddOvflPage, []byte{0, 0, 1}, wal.BlockRef{ID: 0, Data: le32(1)}, wal.BlockRef{ID: 1}, wal.BlockRef{ID: 2, Data: le32(1 << 20)})},
		{"splitpoint out of range", hrec(SplitAllocatePage, cat(le32(2), le16(0, 0), []byte{2}), wal.BlockRef{ID: 2, Data: le32(500, 1)})},
		{"move with more tuples than offsets", hrec(MovePageContents, []byte{1, 0, 0}, wal.BlockRef{ID: 1, Data: cat(le16(1), htup(1, 1, 1), htup(1, 2, 2))})},
		{"bitmap larger than a page", hrec(InitBitmapPage, le16(9000), wal.BlockRef{ID: 0})},
		{"unknown opcode", hrec(0xF0, nil, wal.BlockRef{ID: 0})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r
			for i := range r.Blocks {
				var pg page.Page
				if r.Blocks[i].ID == 2 && tc.r.Info == SplitAllocatePage {
					pg = metaPage(t)
				} else {
					pg = bucketPage(t, 1, PageBucket, htup(1, 1, 1))
				}
				if err := Redo(pg, r, &r.Blocks[i]); err != nil {
					return
				}
			}
			t.Fatalf("no error")
		})
	}
}

func TestRedoStampsTheEndLSNExceptOnTheLockedPrimaryBucketPage(t *testing.T) {
	r := hrec(Delete, []byte{0, 0}, wal.BlockRef{ID: 0}, wal.BlockRef{ID: 1, Data: le16(1)})
	r.EndLSN = 0x1_0000_5000
	bucket := bucketPage(t, 1, PageBucket, htup(1, 1, 1))
	bucket.SetLSN(0x100)
	over := bucketPage(t, 1, PageOverflow, htup(1, 2, 2))
	redoOK(t, bucket, r, 0)
	redoOK(t, over, r, 1)
	if bucket.LSN() != 0x100 {
		t.Errorf("primary bucket page LSN %s, want unchanged", bucket.LSN())
	}
	if over.LSN() != r.EndLSN {
		t.Errorf("cleaned page LSN %s, want %s", over.LSN(), r.EndLSN)
	}
}

func TestAddOverflowPageWithANewBitmapPageRecordsItInTheMetapage(t *testing.T) {
	meta := metaPage(t)
	r := hrec(AddOvflPage, cat(le16(4096), []byte{0}), wal.BlockRef{ID: 0, Blk: 7, Data: le32(1)}, wal.BlockRef{ID: 1, Blk: 2},
		wal.BlockRef{ID: 3, Blk: 8}, wal.BlockRef{ID: 4, Data: le32(40)})
	nb := page.Page(make([]byte, page.Size))
	redoOK(t, nb, r, 3)
	redoOK(t, meta, r, 4)
	if nb.Lower() != 24+4096 || flagOf(nb) != PageBitmap {
		t.Fatalf("new bitmap page lower %d flag %#x", nb.Lower(), flagOf(nb))
	}
	if u32(meta, mdNMaps) != 1 || u32(meta, mdMapp) != 8 || u32(meta, mdSpares+4) != 3 || u32(meta, mdFirstFree) != 40 {
		t.Fatalf("nmaps %d mapp[0] %d spares[1] %d", u32(meta, mdNMaps), u32(meta, mdMapp), u32(meta, mdSpares+4))
	}
}
