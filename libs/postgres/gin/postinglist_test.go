package gin

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
)

func tid(blk uint32, off uint16) page.ItemPointer { return page.ItemPointer{Block: blk, Offset: off} }

func TestPostingListCodec(t *testing.T) {
	tests := []struct {
		name  string
		items []page.ItemPointer
		want  []byte // whole segment
	}{
		{"a single item is only the header", []page.ItemPointer{tid(1, 2)},
			[]byte{0, 0, 1, 0, 2, 0, 0, 0}},
		{"a small delta takes one byte and a zero pad", []page.ItemPointer{tid(0, 1), tid(0, 3)},
			[]byte{0, 0, 0, 0, 1, 0, 1, 0, 2, 0}},
		{"the next block is a two-byte delta", []page.ItemPointer{tid(0, 1), tid(1, 1)},
			[]byte{0, 0, 0, 0, 1, 0, 2, 0, 0x80, 0x10}},
		{"a far block needs several groups", []page.ItemPointer{tid(0, 1), tid(1<<20, 1)},
			// delta 1<<31: 7-bit groups 0, 0, 0, 0, 8; five bytes and a pad.
			[]byte{0, 0, 0, 0, 1, 0, 5, 0, 0x80, 0x80, 0x80, 0x80, 0x08, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seg, err := encodeSegment(tc.items)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(seg, tc.want) {
				t.Fatalf("encode = % x, want % x", seg, tc.want)
			}
			got, err := decodeSegments(seg)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.items) {
				t.Fatalf("decode = %v, want %v", got, tc.items)
			}
		})
	}
}

func TestMergeItemsKeepsOrderAndDropsDuplicates(t *testing.T) {
	a := []page.ItemPointer{tid(1, 1), tid(1, 3), tid(2, 1)}
	b := []page.ItemPointer{tid(1, 2), tid(1, 3), tid(3, 1)}
	want := []page.ItemPointer{tid(1, 1), tid(1, 2), tid(1, 3), tid(2, 1), tid(3, 1)}
	if got := mergeItems(a, b); !slices.Equal(got, want) {
		t.Fatalf("merge = %v, want %v", got, want)
	}
	if got := mergeItems(b[2:], a); !slices.Equal(got, append(slices.Clone(a), b[2])) {
		t.Fatalf("disjoint merge = %v", got)
	}
}

func TestRecompressAddsItemsToASegment(t *testing.T) {
	pg := make([]byte, page.Size)
	if err := InitPage(pg, FlagData|FlagLeaf|FlagCompressed); err != nil {
		t.Fatal(err)
	}
	p := page.Page(pg)
	seg0, _ := encodeSegment([]page.ItemPointer{tid(1, 1), tid(1, 5)})
	seg1, _ := encodeSegment([]page.ItemPointer{tid(9, 1)})
	copy(p[dataStart:], append(slices.Clone(seg0), seg1...))
	p.SetLower(dataStart + len(seg0) + len(seg1))
	// nactions 1: segment 0 ADDITEMS with one item (1,3).
	act := []byte{1, 0, 0, segAddItems, 1, 0}
	ip := make([]byte, 6)
	tid(1, 3).Put(ip)
	act = append(act, ip...)
	if err := recompress(p, act); err != nil {
		t.Fatal(err)
	}
	got, err := decodeSegments(p[dataStart:p.Lower()])
	if err != nil {
		t.Fatal(err)
	}
	want := []page.ItemPointer{tid(1, 1), tid(1, 3), tid(1, 5), tid(9, 1)}
	if !slices.Equal(got, want) {
		t.Fatalf("items after recompress = %v, want %v", got, want)
	}
}
