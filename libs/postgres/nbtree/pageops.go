package nbtree

// Thin helpers over libs/postgres/page with int offsets, plus the header
// accessors the redo routines use.

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
)

// Page header layout (PageHeaderData, 24 bytes).
const (
	blockSize      = 8192
	pageHeaderSize = 24
	offLower       = 12
	offUpper       = 14
	offSpecial     = 16
	offSizeVersion = 18
	itemIDSize     = 4
	pageSizeVer    = blockSize | 4 // PG_PAGE_LAYOUT_VERSION 4
)

func u16(b []byte, off int) uint16      { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32      { return binary.LittleEndian.Uint32(b[off:]) }
func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

func maxAlign(n int) int { return (n + 7) &^ 7 }

func pgLower(pg []byte) int   { return int(u16(pg, offLower)) }
func pgUpper(pg []byte) int   { return int(u16(pg, offUpper)) }
func pgSpecial(pg []byte) int { return int(u16(pg, offSpecial)) }

// pageInit is PageInit: zero the page and set up an empty page with a
// special space of specialSize (MAXALIGNed) bytes. The caller guarantees a
// full-size page and a small special size.
func pageInit(pg []byte, specialSize int) {
	clear(pg[:blockSize])
	specialSize = maxAlign(specialSize)
	put16(pg, offLower, pageHeaderSize)
	put16(pg, offUpper, uint16(blockSize-specialSize))
	put16(pg, offSpecial, uint16(blockSize-specialSize))
	put16(pg, offSizeVersion, pageSizeVer)
}

// checkPage validates the header pointers the way bufpage.c does before it
// touches a page.
func checkPage(pg []byte) error {
	if len(pg) != blockSize {
		return fmt.Errorf("page is %d bytes, want %d", len(pg), blockSize)
	}
	lo, up, sp := pgLower(pg), pgUpper(pg), pgSpecial(pg)
	if lo < pageHeaderSize || lo > up || up > sp || sp > blockSize || sp != maxAlign(sp) {
		return fmt.Errorf("corrupted page pointers: lower = %d, upper = %d, special = %d", lo, up, sp)
	}
	return nil
}

// maxOffset is PageGetMaxOffsetNumber.
func maxOffset(pg []byte) int {
	lo := pgLower(pg)
	if lo <= pageHeaderSize {
		return 0
	}
	return (lo - pageHeaderSize) / itemIDSize
}

func lpPos(off int) int { return pageHeaderSize + (off-1)*itemIDSize }

// itemID decodes line pointer off (1-based); the caller checks the range.
func itemID(pg []byte, off int) (lpOff, flags, lpLen int) {
	v := u32(pg, lpPos(off))
	return int(v & 0x7FFF), int(v>>15) & 3, int(v >> 17)
}

// getItem returns the bytes of the item at off (length lp_len), checking
// that the line pointer is in range and points inside the page.
func getItem(pg []byte, off int) ([]byte, error) {
	if off < 1 || off > maxOffset(pg) {
		return nil, fmt.Errorf("item offset %d out of range 1..%d", off, maxOffset(pg))
	}
	o, _, l := itemID(pg, off)
	if o < pageHeaderSize || o+l > blockSize {
		return nil, fmt.Errorf("corrupted line pointer %d: offset = %d, size = %d", off, o, l)
	}
	return pg[o : o+l : o+l], nil
}

// addItem is PageAddItem(page, item, len(item), off, false, false).
func addItem(pg []byte, item []byte, off int) error {
	if off < 0 || off > 0xFFFF {
		return fmt.Errorf("add item: offset %d out of range", off)
	}
	_, err := page.Page(pg).AddItem(item, page.OffsetNumber(off), 0)
	return err
}

// indexTupleDelete is PageIndexTupleDelete.
func indexTupleDelete(pg []byte, off int) error {
	if off < 0 || off > 0xFFFF {
		return fmt.Errorf("delete item: offset %d out of range", off)
	}
	return page.Page(pg).IndexTupleDelete(page.OffsetNumber(off))
}

// indexMultiDelete is PageIndexMultiDelete.
func indexMultiDelete(pg []byte, offs []uint16) error {
	return page.Page(pg).IndexMultiDelete(offs)
}

// indexTupleOverwrite is PageIndexTupleOverwrite.
func indexTupleOverwrite(pg []byte, off int, tup []byte) error {
	if off < 0 || off > 0xFFFF {
		return fmt.Errorf("overwrite item: offset %d out of range", off)
	}
	return page.Page(pg).IndexTupleOverwrite(page.OffsetNumber(off), tup)
}
