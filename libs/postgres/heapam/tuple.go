// Package heapam replays PostgreSQL 15 heap access method WAL records (rmgrs
// Heap and Heap2) onto 8 KiB pages, and updates visibility-map pages, with the
// byte layout PostgreSQL's heapam.c, pruneheap.c and visibilitymap.c produce.
//
// Entry points are called by the redo dispatcher, one block reference at a
// time: RedoHeap and RedoHeap2 apply record rec to pg, the page of block
// reference blk. The dispatcher has already handled full-page images with
// BKPIMAGE_APPLY, zeroed the page for WILL_INIT blocks, and skipped blocks
// whose page LSN is at or past rec.EndLSN (BLK_DONE). These functions set the
// page LSN themselves, exactly where PostgreSQL calls PageSetLSN. Visibility
// map bits that a record clears without registering the VM page are not
// touched here: ingest turns them into ClearVM calls on the VM page.
//
// Every offset and length read from the record is checked; malformed records
// and pages produce errors, never panics.
package heapam

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
)

// HeapTupleHeaderData layout (htup_details.h).
const (
	tXmin          = 0  // TransactionId
	tXmax          = 4  // TransactionId
	tCid           = 8  // CommandId, or t_xvac
	tCtid          = 12 // ItemPointerData
	tInfomask2     = 18
	tInfomask      = 20
	tHoff          = 22
	TupleHeaderLen = 23 // SizeofHeapTupleHeader

	// MaxHeapTupleSize is BLCKSZ - MAXALIGN(SizeOfPageHeaderData + sizeof(ItemIdData)).
	MaxHeapTupleSize = page.Size - 32
)

// t_infomask bits.
const (
	xmaxKeyshrLock  = 0x0010
	combocid        = 0x0020
	xmaxExclLock    = 0x0040
	xmaxLockOnly    = 0x0080
	xmaxCommitted   = 0x0400
	xmaxInvalid     = 0x0800
	xmaxIsMulti     = 0x1000
	movedOff        = 0x4000
	movedIn         = 0x8000
	heapMoved       = movedOff | movedIn
	lockMask        = xmaxExclLock | xmaxKeyshrLock // HEAP_LOCK_MASK (SHR = EXCL|KEYSHR)
	xmaxBits        = xmaxCommitted | xmaxInvalid | xmaxIsMulti | lockMask | xmaxLockOnly
	keysUpdated     = 0x2000 // t_infomask2
	hotUpdated      = 0x4000 // t_infomask2
	firstCommandID  = 0
	frozenXid       = 2
	invalidBlock    = 0xFFFFFFFF
	movedPartsOff   = 0xFFFD
	xlhlXmaxIsMulti = 0x01
	xlhlXmaxLockOnl = 0x02
	xlhlXmaxExclLck = 0x04
	xlhlXmaxKeyshr  = 0x08
	xlhlKeysUpdated = 0x10
)

// ErrBadRecord marks a record whose contents do not fit the page it is
// applied to (PostgreSQL would PANIC).
var ErrBadRecord = errors.New("bad heap record")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRecord, fmt.Sprintf(format, args...))
}

// tuple is a heap tuple header inside a page (at least TupleHeaderLen bytes).
type tuple []byte

func (t tuple) infomask() uint16      { return binary.LittleEndian.Uint16(t[tInfomask:]) }
func (t tuple) setInfomask(v uint16)  { binary.LittleEndian.PutUint16(t[tInfomask:], v) }
func (t tuple) infomask2() uint16     { return binary.LittleEndian.Uint16(t[tInfomask2:]) }
func (t tuple) setInfomask2(v uint16) { binary.LittleEndian.PutUint16(t[tInfomask2:], v) }
func (t tuple) hoff() int             { return int(t[tHoff]) }
func (t tuple) setXmin(x uint32)      { binary.LittleEndian.PutUint32(t[tXmin:], x) }
func (t tuple) setXmax(x uint32)      { binary.LittleEndian.PutUint32(t[tXmax:], x) }
func (t tuple) setField3(x uint32)    { binary.LittleEndian.PutUint32(t[tCid:], x) }
func (t tuple) setCtid(blk uint32, off uint16) {
	page.ItemPointer{Block: blk, Offset: off}.Put(t[tCtid:])
}

// setCid is HeapTupleHeaderSetCmin / SetCmax(cid, false): t_cid = cid and
// HEAP_COMBOCID cleared.
func (t tuple) setCid(cid uint32) {
	t.setField3(cid)
	t.setInfomask(t.infomask() &^ combocid)
}

// clearXmaxBits clears the xmax state the delete/update/lock records rewrite:
// HEAP_XMAX_BITS and HEAP_MOVED in t_infomask, HEAP_KEYS_UPDATED in t_infomask2.
func (t tuple) clearXmaxBits() {
	t.setInfomask(t.infomask() &^ (xmaxBits | heapMoved))
	t.setInfomask2(t.infomask2() &^ keysUpdated)
}

// fixInfobits is fix_infomask_from_infobits: xl_heap_* infobits to infomask bits.
func (t tuple) fixInfobits(infobits uint8) {
	im := t.infomask() &^ (xmaxIsMulti | xmaxLockOnly | xmaxKeyshrLock | xmaxExclLock)
	im2 := t.infomask2() &^ keysUpdated
	if infobits&xlhlXmaxIsMulti != 0 {
		im |= xmaxIsMulti
	}
	if infobits&xlhlXmaxLockOnl != 0 {
		im |= xmaxLockOnly
	}
	if infobits&xlhlXmaxExclLck != 0 {
		im |= xmaxExclLock
	}
	if infobits&xlhlXmaxKeyshr != 0 {
		im |= xmaxKeyshrLock
	}
	if infobits&xlhlKeysUpdated != 0 {
		im2 |= keysUpdated
	}
	t.setInfomask(im)
	t.setInfomask2(im2)
}

// xmaxIsLockedOnly is HEAP_XMAX_IS_LOCKED_ONLY.
func xmaxIsLockedOnly(infomask uint16) bool {
	return infomask&xmaxLockOnly != 0 || infomask&(xmaxIsMulti|lockMask) == xmaxExclLock
}

// normalTuple returns the tuple at off, which must be an LP_NORMAL line
// pointer within MaxOffset whose storage holds at least a tuple header.
func normalTuple(pg page.Page, off uint16) (tuple, error) {
	if off == 0 || off > pg.MaxOffset() || !pg.ItemID(off).IsNormal() {
		return nil, bad("invalid lp %d (max offset %d)", off, pg.MaxOffset())
	}
	it, err := pg.Item(off)
	if err != nil {
		return nil, err
	}
	if len(it) < TupleHeaderLen {
		return nil, bad("tuple at %d has %d bytes, shorter than its header", off, len(it))
	}
	return tuple(it), nil
}

// le reads little-endian fields from a record's data after a length check.
func u16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

func need(b []byte, n int, what string) error {
	if len(b) < n {
		return bad("%s has %d bytes, want at least %d", what, len(b), n)
	}
	return nil
}
