package nbtree

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/wal"
)

// BenchmarkRedo replays the commonest Btree records onto a copy of a
// half-full leaf page; allocs/op shows which paths allocate.
func BenchmarkRedo(b *testing.B) {
	var items [][]byte
	for i := 0; i < 200; i++ {
		items = append(items, tup(tid{uint32(i / 50), uint16(i%50 + 1)}, uint64(i/4)))
	}
	leaf := btPage(b, 0, 0, 0, FlagLeaf, items...)
	for _, bc := range []struct {
		name string
		r    *wal.Record
	}{
		{"INSERT_LEAF", rec(InsertLeaf, le16(100), wal.BlockRef{ID: 0, Data: tup(tid{9, 9}, 25)})},
		{"VACUUM", rec(Vacuum, le16(3, 0), wal.BlockRef{ID: 0, Data: le16(10, 50, 150)})},
		{"DEDUP", rec(Dedup, le16(1), wal.BlockRef{ID: 0, Data: le16(1, 4)})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pg := make([]byte, blockSize)
			blk := bc.r.Block(0)
			b.ReportAllocs()
			for b.Loop() {
				copy(pg, leaf)
				if err := Redo(pg, bc.r, blk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
