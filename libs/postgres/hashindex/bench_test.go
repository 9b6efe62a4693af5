package hashindex

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// BenchmarkRedo replays INSERT onto a bucket page and onto the metapage.
func BenchmarkRedo(b *testing.B) {
	var items [][]byte
	for i := 0; i < 200; i++ {
		items = append(items, htup(uint32(i), 1, uint32(i)))
	}
	bucket := bucketPage(b, 1, PageBucket, items...)
	meta := metaPage(b)
	r := hrec(Insert, le16(100), wal.BlockRef{ID: 0, Data: htup(9, 9, 99)}, wal.BlockRef{ID: 1})
	for _, bc := range []struct {
		name string
		base page.Page
		id   uint8
	}{{"INSERT/bucket", bucket, 0}, {"INSERT/meta", meta, 1}} {
		b.Run(bc.name, func(b *testing.B) {
			pg := make([]byte, page.Size)
			blk := r.Block(bc.id)
			b.ReportAllocs()
			for b.Loop() {
				copy(pg, bc.base)
				if err := Redo(pg, r, blk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
