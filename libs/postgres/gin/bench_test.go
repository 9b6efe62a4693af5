package gin

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
)

// BenchmarkRecompressAddItems: one data-leaf INSERT that adds an item to the
// first of 16 full-ish segments (decode, merge, re-encode, rewrite the tail).
func BenchmarkRecompressAddItems(b *testing.B) {
	base := newPage(b, FlagData|FlagLeaf|FlagCompressed)
	off := dataStart
	for s := 0; s < 16; s++ {
		items := make([]page.ItemPointer, 200)
		for i := range items {
			items[i] = page.ItemPointer{Block: uint32(s*1000 + i), Offset: 2}
		}
		seg, err := encodeSegment(items)
		if err != nil {
			b.Fatal(err)
		}
		off += copy(base[off:], seg)
	}
	base.SetLower(off)
	ip := make([]byte, 6)
	page.ItemPointer{Block: 5, Offset: 7}.Put(ip)
	acts := cat(le16(1), []byte{0, segAddItems}, le16(1), ip)
	pg := make([]byte, page.Size)
	b.ReportAllocs()
	b.SetBytes(page.Size)
	for b.Loop() {
		copy(pg, base)
		if err := recompress(pg, acts); err != nil {
			b.Fatal(err)
		}
	}
}
