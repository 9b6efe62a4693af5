package spgist

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
)

// BenchmarkAddLeaf: one ADD_LEAF appending a chained tuple to a leaf page
// holding 100 tuples.
func BenchmarkAddLeaf(b *testing.B) {
	tups := make([][]byte, 100)
	for i := range tups {
		tups[i] = leafTup(0, 1, uint16(i+1))
	}
	base := testPage(b, FlagLeaf, tups...)
	rec := record(AddLeaf, cat([]byte{0, 0}, le16(101, 1, 0, 0), leafTup(0, 9, 9)), 7)
	pg := make([]byte, page.Size)
	b.ReportAllocs()
	for b.Loop() {
		copy(pg, base)
		if err := Redo(pg, rec, &rec.Blocks[0]); err != nil {
			b.Fatal(err)
		}
	}
}
