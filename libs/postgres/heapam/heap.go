package heapam

import (
	"encoding/binary"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Heap rmgr opcodes (xl_info & XLOG_HEAP_OPMASK) and the init flag.
const (
	XLogHeapInsert    = 0x00
	XLogHeapDelete    = 0x10
	XLogHeapUpdate    = 0x20
	XLogHeapTruncate  = 0x30
	XLogHeapHotUpdate = 0x40
	XLogHeapConfirm   = 0x50
	XLogHeapLock      = 0x60
	XLogHeapInplace   = 0x70
	XLogHeapOpMask    = 0x70
	XLogHeapInitPage  = 0x80
)

// xl_heap_* flag bits.
const (
	insertAllVisibleCleared    = 1 << 0
	insertAllFrozenSet         = 1 << 5
	updateOldAllVisibleCleared = 1 << 0
	updateNewAllVisibleCleared = 1 << 1
	updatePrefixFromOld        = 1 << 5
	updateSuffixFromOld        = 1 << 6
	deleteAllVisibleCleared    = 1 << 0
	deleteIsSuper              = 1 << 3
	deleteIsPartitionMove      = 1 << 4
	heapHeaderLen              = 5 // SizeOfHeapHeader: infomask2 u16, infomask u16, hoff u8
)

// HeapSupported reports whether RedoHeap handles the Heap opcode of info.
// TRUNCATE is supported as "no page effect" (it has no block references).
func HeapSupported(info uint8) bool { return true }

// RedoHeap applies a Heap rmgr record to the page of block reference blk.
func RedoHeap(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	info := rec.Info & wal.RmgrInfoMask
	switch info & XLogHeapOpMask {
	case XLogHeapInsert:
		return heapInsert(pg, rec, blk)
	case XLogHeapDelete:
		return heapDelete(pg, rec, blk)
	case XLogHeapUpdate:
		return heapUpdate(pg, rec, blk, false)
	case XLogHeapHotUpdate:
		return heapUpdate(pg, rec, blk, true)
	case XLogHeapTruncate:
		return nil // logical decoding only; smgr records do the work
	case XLogHeapConfirm:
		return heapConfirm(pg, rec, blk)
	case XLogHeapLock:
		return heapLock(pg, rec, blk)
	case XLogHeapInplace:
		return heapInplace(pg, rec, blk)
	}
	return bad("unknown heap opcode %#x", info)
}

// tupleHeader is a heap tuple header being built: zeroed, then infomask2,
// infomask and hoff from the record. The body is added after it by
// page.AddItemParts, without assembling the tuple in a scratch buffer.
type tupleHeader [TupleHeaderLen]byte

func newHeader(infomask2, infomask uint16, hoff uint8) tupleHeader {
	var h tupleHeader
	t := tuple(h[:])
	t.setInfomask2(infomask2)
	t.setInfomask(infomask)
	t[tHoff] = hoff
	return h
}

func heapInsert(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 3, "xl_heap_insert"); err != nil {
		return err
	}
	offnum, flags := u16(md, 0), md[2]
	if rec.Info&XLogHeapInitPage != 0 {
		if err := pg.Init(0); err != nil {
			return err
		}
	}
	if int(pg.MaxOffset())+1 < int(offnum) {
		return bad("insert at offset %d beyond max offset %d", offnum, pg.MaxOffset())
	}
	data := blk.Data
	if len(data) <= heapHeaderLen || len(data)-heapHeaderLen+TupleHeaderLen > MaxHeapTupleSize {
		return bad("insert tuple data of %d bytes", len(data))
	}
	h := newHeader(u16(data, 0), u16(data, 2), data[4])
	t := tuple(h[:])
	t.setXmin(rec.Xid)
	t.setCid(firstCommandID)
	t.setCtid(blk.Blk, offnum)
	if _, err := pg.AddItemParts(offnum, page.Overwrite|page.IsHeap, h[:], data[heapHeaderLen:]); err != nil {
		return bad("failed to add tuple: %v", err)
	}
	pg.SetLSN(rec.EndLSN)
	if flags&insertAllVisibleCleared != 0 {
		pg.ClearFlag(page.AllVisible)
	}
	return nil
}

func heapDelete(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 8, "xl_heap_delete"); err != nil {
		return err
	}
	xmax, offnum, infobits, flags := u32(md, 0), u16(md, 4), md[6], md[7]
	t, err := normalTuple(pg, offnum)
	if err != nil {
		return err
	}
	t.clearXmaxBits()
	t.setInfomask2(t.infomask2() &^ hotUpdated)
	t.fixInfobits(infobits)
	if flags&deleteIsSuper == 0 {
		t.setXmax(xmax)
	} else {
		t.setXmin(0)
	}
	t.setCid(firstCommandID)
	pg.SetPrunable(rec.Xid)
	if flags&deleteAllVisibleCleared != 0 {
		pg.ClearFlag(page.AllVisible)
	}
	if flags&deleteIsPartitionMove != 0 {
		t.setCtid(invalidBlock, movedPartsOff)
	} else {
		t.setCtid(blk.Blk, offnum)
	}
	pg.SetLSN(rec.EndLSN)
	return nil
}

// xl_heap_update: old_xmax u32, old_offnum u16, old_infobits u8, flags u8,
// new_xmax u32, new_offnum u16.
type xlHeapUpdate struct {
	oldXmax     uint32
	oldOff      uint16
	oldInfobits uint8
	flags       uint8
	newXmax     uint32
	newOff      uint16
}

func heapUpdate(pg page.Page, rec *wal.Record, blk *wal.BlockRef, hot bool) error {
	md := rec.MainData
	if err := need(md, 14, "xl_heap_update"); err != nil {
		return err
	}
	x := xlHeapUpdate{u32(md, 0), u16(md, 4), md[6], md[7], u32(md, 8), u16(md, 12)}
	newBlk := rec.Block(0)
	if newBlk == nil {
		return bad("update without block 0")
	}
	otherOld := rec.Block(1) != nil
	switch {
	case blk.ID == 1:
		_, err := updateOld(pg, rec, x, newBlk.Blk, hot)
		return err
	case blk.ID != 0:
		return bad("update has no block %d", blk.ID)
	case otherOld:
		if rec.Info&XLogHeapInitPage != 0 {
			if err := pg.Init(0); err != nil {
				return err
			}
		}
		return updateNew(pg, rec, blk, x, nil)
	}
	old, err := updateOld(pg, rec, x, blk.Blk, hot)
	if err != nil {
		return err
	}
	return updateNew(pg, rec, blk, x, old)
}

// updateOld marks the old tuple version updated and returns it.
func updateOld(pg page.Page, rec *wal.Record, x xlHeapUpdate, newBlk uint32, hot bool) (tuple, error) {
	t, err := normalTuple(pg, x.oldOff)
	if err != nil {
		return nil, err
	}
	t.clearXmaxBits()
	if hot {
		t.setInfomask2(t.infomask2() | hotUpdated)
	} else {
		t.setInfomask2(t.infomask2() &^ hotUpdated)
	}
	t.fixInfobits(x.oldInfobits)
	t.setXmax(x.oldXmax)
	t.setCid(firstCommandID)
	t.setCtid(newBlk, x.newOff)
	pg.SetPrunable(rec.Xid)
	if x.flags&updateOldAllVisibleCleared != 0 {
		pg.ClearFlag(page.AllVisible)
	}
	pg.SetLSN(rec.EndLSN)
	return t, nil
}

// updateNew rebuilds the new tuple version from the record (plus a prefix
// and suffix shared with old, when on the same page) and adds it.
func updateNew(pg page.Page, rec *wal.Record, blk *wal.BlockRef, x xlHeapUpdate, old tuple) error {
	if int(pg.MaxOffset())+1 < int(x.newOff) {
		return bad("update to offset %d beyond max offset %d", x.newOff, pg.MaxOffset())
	}
	data := blk.Data
	var prefix, suffix int
	if x.flags&updatePrefixFromOld != 0 {
		if err := need(data, 2, "update prefix length"); err != nil {
			return err
		}
		prefix = int(binary.LittleEndian.Uint16(data))
		data = data[2:]
	}
	if x.flags&updateSuffixFromOld != 0 {
		if err := need(data, 2, "update suffix length"); err != nil {
			return err
		}
		suffix = int(binary.LittleEndian.Uint16(data))
		data = data[2:]
	}
	if err := need(data, heapHeaderLen, "update xl_heap_header"); err != nil {
		return err
	}
	im2, im, hoff := u16(data, 0), u16(data, 2), data[4]
	data = data[heapHeaderLen:]
	tuplen := len(data)
	if TupleHeaderLen+tuplen+prefix+suffix > MaxHeapTupleSize {
		return bad("new tuple of %d bytes", TupleHeaderLen+tuplen+prefix+suffix)
	}
	var oldPrefix, oldSuffix []byte
	if prefix > 0 || suffix > 0 {
		if old == nil {
			return bad("prefix/suffix compression across pages")
		}
		oh := old.hoff()
		if oh+prefix > len(old) || suffix > len(old) {
			return bad("prefix %d / suffix %d exceed the old tuple of %d bytes", prefix, suffix, len(old))
		}
		oldPrefix = old[oh : oh+prefix]
		oldSuffix = old[len(old)-suffix:]
	}
	bitmapLen := 0
	if prefix > 0 {
		bitmapLen = int(hoff) - TupleHeaderLen
		if bitmapLen < 0 || bitmapLen > len(data) {
			return bad("t_hoff %d does not fit the %d record bytes", hoff, len(data))
		}
	}
	h := newHeader(im2, im, hoff)
	t := tuple(h[:])
	t.setXmin(rec.Xid)
	t.setCid(firstCommandID)
	t.setXmax(x.newXmax)
	t.setCtid(blk.Blk, x.newOff)
	// bitmap [+ padding], prefix from the old tuple, new data, suffix from the old tuple
	if _, err := pg.AddItemParts(x.newOff, page.Overwrite|page.IsHeap, h[:], data[:bitmapLen], oldPrefix, data[bitmapLen:], oldSuffix); err != nil {
		return bad("failed to add tuple: %v", err)
	}
	if x.flags&updateNewAllVisibleCleared != 0 {
		pg.ClearFlag(page.AllVisible)
	}
	pg.SetLSN(rec.EndLSN)
	return nil
}

func heapConfirm(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 2, "xl_heap_confirm"); err != nil {
		return err
	}
	offnum := u16(md, 0)
	t, err := normalTuple(pg, offnum)
	if err != nil {
		return err
	}
	t.setCtid(blk.Blk, offnum)
	pg.SetLSN(rec.EndLSN)
	return nil
}

func heapLock(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 8, "xl_heap_lock"); err != nil {
		return err
	}
	xid, offnum, infobits := u32(md, 0), u16(md, 4), md[6]
	t, err := normalTuple(pg, offnum)
	if err != nil {
		return err
	}
	t.clearXmaxBits()
	t.fixInfobits(infobits)
	if xmaxIsLockedOnly(t.infomask()) {
		t.setInfomask2(t.infomask2() &^ hotUpdated)
		t.setCtid(blk.Blk, offnum)
	}
	t.setXmax(xid)
	t.setCid(firstCommandID)
	pg.SetLSN(rec.EndLSN)
	return nil
}

func heapInplace(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 2, "xl_heap_inplace"); err != nil {
		return err
	}
	offnum := u16(md, 0)
	t, err := normalTuple(pg, offnum)
	if err != nil {
		return err
	}
	oh := t.hoff()
	if oh > len(t) || len(t)-oh != len(blk.Data) {
		return bad("wrong tuple length: %d bytes after t_hoff %d, record has %d", len(t)-min(oh, len(t)), oh, len(blk.Data))
	}
	copy(t[oh:], blk.Data)
	pg.SetLSN(rec.EndLSN)
	return nil
}
