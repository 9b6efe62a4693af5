package redo

import (
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/gin"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// fuzzBase is a heap page with a few tuples, a plausible base for deltas.
func fuzzBase(tb testing.TB) []byte {
	pg := make([]byte, page.Size)
	apply(tb, pg, insertRec(700, 1, true, "first tuple"), 0x100)
	apply(tb, pg, insertRec(701, 2, false, "second"), 0x200)
	apply(tb, pg, insertRec(702, 3, false, "third tuple here"), 0x300)
	return pg
}

// seedRecords are raw records of most heap types, as fuzz seeds.
func seedRecords() [][]byte {
	blk0 := []tblock{{id: 0, rel: testRel, blk: 7}}
	return [][]byte{
		insertRec(703, 4, false, "x").raw(),
		trec{rmid: wal.RmHeap, info: opDelete, xid: 9, main: append(append(le32(9), le16(2)...), 1, 0), blocks: blk0}.raw(),
		trec{rmid: wal.RmHeap, info: opHotUpdate, xid: 9, main: updateMain(9, 1, 0x60, 0, 4),
			blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: append(le16(2, 3), tupleData("zz")...)}}}.raw(),
		trec{rmid: wal.RmHeap2, info: op2Prune, main: append(le32(0), le16(1, 1)...), blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: le16(1, 3, 2, 3)}}}.raw(),
		trec{rmid: wal.RmHeap2, info: op2Vacuum, main: le16(1), blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: le16(2)}}}.raw(),
		trec{rmid: wal.RmHeap2, info: op2Multi, main: append([]byte{0, 0}, le16(1, 4)...), blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: append(le16(2, 2, 2), 24, 0, 'a')}}}.raw(),
		trec{rmid: wal.RmHeap2, info: op2Visible, main: append(le32(1), 3), blocks: []tblock{{id: 0, rel: testRel, blk: 0}, {id: 1, rel: testRel, blk: 7}}}.raw(),
		trec{rmid: wal.RmSeq, main: append(make([]byte, 12), "seq"...), blocks: []tblock{{id: 0, rel: testRel, blk: 7, willInit: true}}}.raw(),
		trec{rmid: wal.RmHeap, info: opInplace, main: le16(2), blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: []byte("SECOND")}}}.raw(),
		trec{rmid: wal.RmGeneric, blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: append(le16(8100, 2), 1, 2)}}}.raw(),
		trec{rmid: wal.RmGist, info: gistPageUpdate, main: le16(1, 1), blocks: []tblock{{id: 0, rel: testRel, blk: 7, data: append(le16(2), indexTuple(12)...)}}}.raw(),
		trec{rmid: wal.RmGist, info: gistPageSplit, main: make([]byte, 24), blocks: []tblock{{id: 0, rel: testRel, blk: 7}, {id: 1, rel: testRel, blk: 8, willInit: true, data: append(le32(1), indexTuple(16)...)}}}.raw(),
		trec{rmid: wal.RmBRIN, info: brinInsert | brinInitPage, main: append(append(le32(0), le32(1)...), le16(1)...), blocks: []tblock{{id: 0, rel: testRel, blk: 7, willInit: true, data: indexTuple(16)}, {id: 1, rel: testRel, blk: 1}}}.raw(),
		trec{rmid: wal.RmGin, info: gin.InsertListPage, main: append(le32(0xFFFFFFFF), le32(1)...), blocks: []tblock{{id: 0, rel: testRel, blk: 7, willInit: true, data: indexTuple(16)}}}.raw(),
	}
}

// FuzzApplyBlock feeds arbitrary record bytes (decodable or not) to
// ApplyBlock on every block of the record: errors are fine, panics and
// out-of-range writes (the page must stay page.Size bytes) are not.
func FuzzApplyBlock(f *testing.F) {
	for _, s := range seedRecords() {
		f.Add(s)
	}
	base := fuzzBase(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec, err := wal.Decode(raw, 0x1000, 0x2000)
		if err != nil {
			return
		}
		for i := range rec.Blocks {
			pg := append([]byte(nil), base...)
			_ = ApplyBlock(pg, rec, rec.Blocks[i].ID)
			if len(pg) != page.Size {
				t.Fatalf("page length %d", len(pg))
			}
		}
	})
}

// FuzzApplyRecords feeds arbitrary Strata record values (and a mutated
// base page) to Apply for a heap page, a VM page and SLRU pages.
func FuzzApplyRecords(f *testing.F) {
	for _, s := range seedRecords() {
		f.Add(EncodePostgres(nil, 0x2000, s), byte(0), uint16(0))
	}
	f.Add(EncodeClearVisibilityMap(nil, 3, NoBlock, 3), byte(1), uint16(30))
	f.Add(EncodeTruncateVisibilityMap(nil, 8000, 6), byte(1), uint16(14))
	f.Add(EncodeClogSetCommitted(nil, []uint32{1, 2, 3}, 1), byte(2), uint16(100))
	f.Add(EncodeMultiXactOffsetCreate(nil, [2]uint32{1, 2}), byte(3), uint16(0))
	f.Add(EncodeMultiXactMembersCreate(nil, 1, []Member{{1, 1}}), byte(4), uint16(8))
	base := fuzzBase(f)
	vmRel := testRel
	vmRel.Fork = key.ForkVM
	keys := []key.Key{
		key.RelBlock(testRel, 7), key.RelBlock(vmRel, 0), key.SLRUBlock(key.SLRUClog, 0, 0),
		key.SLRUBlock(key.SLRUMultiXactOffsets, 0, 0), key.SLRUBlock(key.SLRUMultiXactMembers, 0, 0),
	}
	f.Fuzz(func(t *testing.T, data []byte, which byte, scribble uint16) {
		pg := append([]byte(nil), base...)
		pg[int(scribble)%page.Size] ^= byte(scribble >> 8)
		var a Applier
		out, err := a.ApplyInto(nil, keys[int(which)%len(keys)], pg, []Record{{LSN: lsn.LSN(0x2000), Data: data}})
		if err == nil && len(out) != page.Size {
			t.Fatalf("output length %d", len(out))
		}
	})
}

// indexTuple is an IndexTupleData of n bytes (t_info holds the size).
func indexTuple(n int) []byte {
	b := make([]byte, n)
	b[6], b[7] = byte(n), byte(n>>8)
	return b
}
