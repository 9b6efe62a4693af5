package gin

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
)

// Segment actions of a data-leaf recompression (ginxlogSegmentAction.type).
const (
	segDelete   = 1
	segInsert   = 2
	segReplace  = 3
	segAddItems = 4
)

// recompress is ginRedoRecompress: apply the segment actions in data
// (ginxlogRecompressDataLeaf: nactions u16, then per action segno u8, type
// u8 and its payload) to the posting-list segments of data leaf page p.
//
//	DELETE    -                                   drop segment segno
//	INSERT    GinPostingList                      new segment before segno
//	REPLACE   GinPostingList                      segment segno replaced
//	ADDITEMS  nitems u16, nitems ItemPointerData  segment segno decoded, merged
//	                                              with the items, re-encoded
//
// Segments not named by an action are kept as they are. The result is
// written from the start of the posting list and pd_lower set after it.
func recompress(p page.Page, data []byte) error {
	if len(data) < 2 {
		return fmt.Errorf("recompress data has %d bytes", len(data))
	}
	if err := ensureCompressed(p); err != nil {
		return err
	}
	lower := p.Lower()
	if lower < dataStart || lower > p.Special() || p.Special() > page.Size {
		return fmt.Errorf("data leaf page pd_lower %d outside [%d, special %d]", lower, dataStart, p.Special())
	}
	// The old segments are read from a copy; the new ones are built in out.
	old := append([]byte(nil), p[dataStart:lower]...)
	out := make([]byte, 0, len(old)+len(data))
	nactions := int(binary.LittleEndian.Uint16(data))
	wb := data[2:]
	segno := 0
	pos := 0 // offset of segment segno in old
	for a := 0; a < nactions; a++ {
		if len(wb) < 2 {
			return fmt.Errorf("action %d: truncated header", a)
		}
		aSegno, action := int(wb[0]), wb[1]
		wb = wb[2:]
		var newseg []byte
		var items []page.ItemPointer
		switch action {
		case segInsert, segReplace:
			n, err := segmentSize(wb)
			if err != nil {
				return fmt.Errorf("action %d: %w", a, err)
			}
			newseg, wb = wb[:n], wb[n:]
		case segAddItems:
			if len(wb) < 2 {
				return fmt.Errorf("action %d: truncated item count", a)
			}
			n := int(binary.LittleEndian.Uint16(wb))
			wb = wb[2:]
			if len(wb) < n*page.ItemPointerSize {
				return fmt.Errorf("action %d: %d items run past the record", a, n)
			}
			items = make([]page.ItemPointer, n)
			for i := range items {
				items[i] = page.GetItemPointer(wb[i*page.ItemPointerSize:])
			}
			wb = wb[n*page.ItemPointerSize:]
		case segDelete:
		default:
			return fmt.Errorf("unexpected GIN leaf action %d", action)
		}
		if aSegno < segno {
			return fmt.Errorf("action %d: segment %d after segment %d", a, aSegno, segno)
		}
		// Keep the segments before the one this action concerns.
		for segno < aSegno {
			n, err := segmentSize(old[pos:])
			if err != nil {
				return fmt.Errorf("action %d: skip to segment %d: %w", a, aSegno, err)
			}
			out = append(out, old[pos:pos+n]...)
			pos += n
			segno++
		}
		if action == segAddItems {
			n, err := segmentSize(old[pos:])
			if err != nil {
				return fmt.Errorf("action %d: segment %d: %w", a, segno, err)
			}
			oldItems, err := decodeSegments(old[pos : pos+n])
			if err != nil {
				return fmt.Errorf("action %d: decode segment %d: %w", a, segno, err)
			}
			if newseg, err = encodeSegment(mergeItems(items, oldItems)); err != nil {
				return fmt.Errorf("action %d: %w", a, err)
			}
			action = segReplace
		}
		segsize := 0
		if pos < len(old) {
			n, err := segmentSize(old[pos:])
			if err != nil {
				return fmt.Errorf("action %d: segment %d: %w", a, segno, err)
			}
			segsize = n
		} else if action != segInsert {
			return fmt.Errorf("action %d: %d past the last segment", a, action)
		}
		switch action {
		case segDelete:
			pos += segsize
			segno++
		case segInsert:
			out = append(out, newseg...)
		case segReplace:
			out = append(out, newseg...)
			pos += segsize
			segno++
		}
	}
	out = append(out, old[pos:]...)
	if dataStart+len(out) > p.Special() {
		return fmt.Errorf("recompressed posting list of %d bytes overflows the page", len(out))
	}
	copy(p[dataStart:], out)
	p.SetLower(dataStart + len(out))
	return nil
}

// ensureCompressed converts a pre-9.4 data leaf page (an array of maxoff
// ItemPointerData) into one compressed segment, as ginRedoRecompress does.
func ensureCompressed(p page.Page) error {
	o, err := opaque(p)
	if err != nil {
		return err
	}
	if flags(o)&FlagCompressed != 0 {
		return nil
	}
	n := int(binary.LittleEndian.Uint16(o[4:]))
	total := 0
	if n > 0 {
		if dataStart+n*page.ItemPointerSize > p.Special() {
			return fmt.Errorf("uncompressed leaf with %d items overflows the page", n)
		}
		items := make([]page.ItemPointer, n)
		for i := range items {
			items[i] = page.GetItemPointer(p[dataStart+i*page.ItemPointerSize:])
		}
		seg, err := encodeSegment(items)
		if err != nil {
			return err
		}
		if dataStart+len(seg) > p.Special() {
			return fmt.Errorf("compressed posting list overflows the page")
		}
		copy(p[dataStart:], seg)
		total = len(seg)
	}
	p.SetLower(dataStart + total)
	setFlags(o, flags(o)|FlagCompressed)
	binary.LittleEndian.PutUint16(o[4:], 0)
	return nil
}
