package gin

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
)

// Posting lists (ginpostinglist.c). A GinPostingList segment is
//
//	0 first item (ItemPointerData, 6 bytes, stored as is)
//	6 nbytes u16
//	8 nbytes of varbyte-encoded deltas, then a zero pad byte if nbytes is odd
//
// Each item is the integer blk<<11 | off; each delta from the previous item
// is written in 7-bit groups, least significant first, with the high bit set
// on every byte but the last (at most 7 bytes, the 7th keeping all 8 bits).
// A segment's size is 8 + SHORTALIGN(nbytes).
const (
	postingHdrSize  = 8
	offsetBits      = 11 // MaxHeapTuplesPerPageBits
	maxBytesPerItem = 7
)

// itemKey orders item pointers as ginCompareItemPointers does.
func itemKey(ip page.ItemPointer) uint64 { return uint64(ip.Block)<<16 | uint64(ip.Offset) }

func itemToUint64(ip page.ItemPointer) uint64 {
	return uint64(ip.Block)<<offsetBits | uint64(ip.Offset)
}

func uint64ToItem(v uint64) page.ItemPointer {
	return page.ItemPointer{Block: uint32(v >> offsetBits), Offset: page.OffsetNumber(v & (1<<offsetBits - 1))}
}

// segmentSize returns SizeOfGinPostingList of the segment at the start of
// b, checking that it fits in b.
func segmentSize(b []byte) (int, error) {
	if len(b) < postingHdrSize {
		return 0, fmt.Errorf("posting list segment header needs %d bytes, have %d", postingHdrSize, len(b))
	}
	n := postingHdrSize + page.ShortAlign(int(binary.LittleEndian.Uint16(b[6:])))
	if n > len(b) {
		return 0, fmt.Errorf("posting list segment of %d bytes runs past %d available", n, len(b))
	}
	return n, nil
}

// decodeSegments decodes every segment in b (ginPostingListDecodeAllSegments).
func decodeSegments(b []byte) ([]page.ItemPointer, error) {
	var out []page.ItemPointer
	for len(b) > 0 {
		n, err := segmentSize(b)
		if err != nil {
			return nil, err
		}
		first := page.GetItemPointer(b)
		out = append(out, first)
		val := itemToUint64(first)
		data := b[postingHdrSize : postingHdrSize+int(binary.LittleEndian.Uint16(b[6:]))]
		for len(data) > 0 {
			d, used, err := decodeVarbyte(data)
			if err != nil {
				return nil, err
			}
			data = data[used:]
			val += d
			out = append(out, uint64ToItem(val))
		}
		b = b[n:]
	}
	return out, nil
}

func decodeVarbyte(b []byte) (val uint64, n int, err error) {
	for i := 0; i < maxBytesPerItem; i++ {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("varbyte integer runs past the segment")
		}
		c := uint64(b[i])
		if i == maxBytesPerItem-1 {
			return val | c<<42, i + 1, nil
		}
		val |= (c & 0x7F) << (7 * i)
		if c&0x80 == 0 {
			return val, i + 1, nil
		}
	}
	return val, maxBytesPerItem, nil
}

func appendVarbyte(dst []byte, v uint64) []byte {
	for v > 0x7F {
		dst = append(dst, byte(v&0x7F)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// encodeSegment is ginCompressPostingList with room for every item: one
// segment holding items (which must be ascending), pad byte zeroed.
func encodeSegment(items []page.ItemPointer) ([]byte, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("cannot encode an empty posting list")
	}
	seg := make([]byte, postingHdrSize, postingHdrSize+len(items)*2)
	items[0].Put(seg)
	prev := itemToUint64(items[0])
	for _, it := range items[1:] {
		v := itemToUint64(it)
		if v <= prev {
			return nil, fmt.Errorf("posting list items not ascending (%d after %d)", v, prev)
		}
		seg = appendVarbyte(seg, v-prev)
		prev = v
	}
	nbytes := len(seg) - postingHdrSize
	if nbytes > 0xFFFF {
		return nil, fmt.Errorf("posting list of %d bytes too large", nbytes)
	}
	binary.LittleEndian.PutUint16(seg[6:], uint16(nbytes))
	if nbytes%2 == 1 {
		seg = append(seg, 0)
	}
	return seg, nil
}

// mergeItems is ginMergeItemPointers: a sorted union of a and b, equal items
// once.
func mergeItems(a, b []page.ItemPointer) []page.ItemPointer {
	out := make([]page.ItemPointer, 0, len(a)+len(b))
	switch {
	case len(a) == 0 || len(b) == 0 || itemKey(a[len(a)-1]) < itemKey(b[0]):
		return append(append(out, a...), b...)
	case itemKey(b[len(b)-1]) < itemKey(a[0]):
		return append(append(out, b...), a...)
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ka, kb := itemKey(a[i]), itemKey(b[j])
		switch {
		case ka > kb:
			out = append(out, b[j])
			j++
		case ka == kb:
			out = append(out, b[j])
			i++
			j++
		default:
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
