package heapam

import (
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Heap2 rmgr opcodes.
const (
	XLogHeap2Rewrite     = 0x00
	XLogHeap2Prune       = 0x10
	XLogHeap2Vacuum      = 0x20
	XLogHeap2FreezePage  = 0x30
	XLogHeap2Visible     = 0x40
	XLogHeap2MultiInsert = 0x50
	XLogHeap2LockUpdated = 0x60
	XLogHeap2NewCID      = 0x70
)

const (
	freezeXvac          = 0x02 // XLH_FREEZE_XVAC
	invalidXvac         = 0x04 // XLH_INVALID_XVAC
	freezeTupleSize     = 12   // sizeof(xl_heap_freeze_tuple)
	multiInsertTupleLen = 7    // SizeOfMultiInsertTuple
)

// Heap2Supported reports whether RedoHeap2 handles the Heap2 opcode of info.
// NEW_CID and REWRITE are supported as "no page effect".
func Heap2Supported(info uint8) bool { return true }

// RedoHeap2 applies a Heap2 rmgr record to the page of block reference blk.
func RedoHeap2(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	info := rec.Info & wal.RmgrInfoMask
	switch info & XLogHeapOpMask {
	case XLogHeap2Prune:
		return heap2Prune(pg, rec, blk)
	case XLogHeap2Vacuum:
		return heap2Vacuum(pg, rec, blk)
	case XLogHeap2FreezePage:
		return heap2Freeze(pg, rec, blk)
	case XLogHeap2Visible:
		return heap2Visible(pg, rec, blk)
	case XLogHeap2MultiInsert:
		return heap2MultiInsert(pg, rec, blk)
	case XLogHeap2LockUpdated:
		return heap2LockUpdated(pg, rec, blk)
	case XLogHeap2NewCID, XLogHeap2Rewrite:
		return nil
	}
	return bad("unknown heap2 opcode %#x", info)
}

// offsets decodes an array of OffsetNumbers, each within 1..max.
func offsets(b []byte, n int, max uint16, what string) ([]uint16, error) {
	if n < 0 || len(b) < 2*n {
		return nil, bad("%s: %d offsets in %d bytes", what, n, len(b))
	}
	out := make([]uint16, n)
	for i := range out {
		o := u16(b, 2*i)
		if o == 0 || o > max {
			return nil, bad("%s: offset %d outside 1..%d", what, o, max)
		}
		out[i] = o
	}
	return out, nil
}

func heap2Prune(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 8, "xl_heap_prune"); err != nil {
		return err
	}
	nredir, ndead := int(u16(md, 4)), int(u16(md, 6))
	if len(blk.Data)%2 != 0 {
		return bad("prune offsets of odd length %d", len(blk.Data))
	}
	all, err := offsets(blk.Data, len(blk.Data)/2, pg.MaxOffset(), "prune")
	if err != nil {
		return err
	}
	if 2*nredir+ndead > len(all) {
		return bad("prune: %d redirects and %d dead need more than %d offsets", nredir, ndead, len(all))
	}
	for i := 0; i < nredir; i++ {
		from, to := all[2*i], all[2*i+1]
		_ = pg.SetItemID(from, page.Redirect(int(to)))
	}
	for _, off := range all[2*nredir : 2*nredir+ndead] {
		_ = pg.SetItemID(off, page.Dead())
	}
	for _, off := range all[2*nredir+ndead:] {
		_ = pg.SetItemID(off, page.Unused())
	}
	if err := pg.RepairFragmentation(); err != nil {
		return err
	}
	pg.SetLSN(rec.EndLSN)
	return nil
}

func heap2Vacuum(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 2, "xl_heap_vacuum"); err != nil {
		return err
	}
	unused, err := offsets(blk.Data, int(u16(md, 0)), pg.MaxOffset(), "vacuum")
	if err != nil {
		return err
	}
	for _, off := range unused {
		_ = pg.SetItemID(off, page.Unused())
	}
	if err := pg.TruncateLinePointerArray(); err != nil {
		return err
	}
	pg.SetLSN(rec.EndLSN)
	return nil
}

func heap2Freeze(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 6, "xl_heap_freeze_page"); err != nil {
		return err
	}
	n := int(u16(md, 4))
	if len(blk.Data) < n*freezeTupleSize {
		return bad("freeze: %d plans in %d bytes", n, len(blk.Data))
	}
	for i := 0; i < n; i++ {
		f := blk.Data[i*freezeTupleSize:]
		xmax, off, im2, im, flags := u32(f, 0), u16(f, 4), u16(f, 6), u16(f, 8), f[10]
		if off == 0 || off > pg.MaxOffset() {
			return bad("freeze: offset %d beyond max offset %d", off, pg.MaxOffset())
		}
		it, err := pg.Item(off)
		if err != nil {
			return err
		}
		if len(it) < TupleHeaderLen {
			return bad("freeze: tuple at %d has %d bytes", off, len(it))
		}
		t := tuple(it)
		t.setXmax(xmax)
		if flags&freezeXvac != 0 {
			t.setField3(frozenXid)
		}
		if flags&invalidXvac != 0 {
			t.setField3(0)
		}
		t.setInfomask(im)
		t.setInfomask2(im2)
	}
	pg.SetLSN(rec.EndLSN)
	return nil
}

// heap2Visible sets PD_ALL_VISIBLE on the heap page (block 1) without
// touching its LSN (PostgreSQL only bumps it with checksums or wal_log_hints),
// and sets the VM bits on the VM page (block 0), bumping the VM page LSN only
// when the bits change.
func heap2Visible(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 5, "xl_heap_visible"); err != nil {
		return err
	}
	flags := md[4]
	if blk.ID == 1 {
		pg.SetFlag(page.AllVisible)
		return nil
	}
	if blk.ID != 0 {
		return bad("visible has no block %d", blk.ID)
	}
	heap := rec.Block(1)
	if heap == nil {
		return bad("visible record without heap block 1")
	}
	if flags&VMValidBits == 0 {
		return bad("visible record with flags %#x", flags)
	}
	if pg.IsNew() {
		if err := pg.Init(0); err != nil {
			return err
		}
	}
	changed, err := VMSet(pg, blk.Blk, heap.Blk, flags)
	if err != nil {
		return bad("%v", err)
	}
	if changed {
		pg.SetLSN(rec.EndLSN)
	}
	return nil
}

func heap2MultiInsert(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 4, "xl_heap_multi_insert"); err != nil {
		return err
	}
	flags, ntuples := md[0], int(u16(md, 2))
	isInit := rec.Info&XLogHeapInitPage != 0
	if !isInit {
		if err := need(md, 4+2*ntuples, "xl_heap_multi_insert offsets"); err != nil {
			return err
		}
	} else if err := pg.Init(0); err != nil {
		return err
	}
	data := blk.Data
	pos := 0
	for i := 0; i < ntuples; i++ {
		var off uint16
		if isInit {
			off = uint16(1 + i)
		} else {
			off = u16(md, 4+2*i)
		}
		if int(pg.MaxOffset())+1 < int(off) {
			return bad("multi insert at offset %d beyond max offset %d", off, pg.MaxOffset())
		}
		pos = page.ShortAlign(pos)
		if pos+multiInsertTupleLen > len(data) {
			return bad("multi insert tuple %d header beyond the %d data bytes", i, len(data))
		}
		h := data[pos:]
		dlen := int(u16(h, 0))
		pos += multiInsertTupleLen
		if pos+dlen > len(data) || TupleHeaderLen+dlen > MaxHeapTupleSize {
			return bad("multi insert tuple %d of %d bytes beyond the data", i, dlen)
		}
		th := newHeader(u16(h, 2), u16(h, 4), h[6])
		t := tuple(th[:])
		t.setXmin(rec.Xid)
		t.setCid(firstCommandID)
		t.setCtid(blk.Blk, off)
		body := data[pos : pos+dlen]
		pos += dlen
		if _, err := pg.AddItemParts(off, page.Overwrite|page.IsHeap, th[:], body); err != nil {
			return bad("failed to add tuple: %v", err)
		}
	}
	if pos != len(data) {
		return bad("total tuple length mismatch: used %d of %d bytes", pos, len(data))
	}
	pg.SetLSN(rec.EndLSN)
	if flags&insertAllVisibleCleared != 0 {
		pg.ClearFlag(page.AllVisible)
	}
	if flags&insertAllFrozenSet != 0 {
		pg.SetFlag(page.AllVisible)
	}
	return nil
}

func heap2LockUpdated(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if err := need(md, 8, "xl_heap_lock_updated"); err != nil {
		return err
	}
	xmax, offnum, infobits := u32(md, 0), u16(md, 4), md[6]
	t, err := normalTuple(pg, offnum)
	if err != nil {
		return err
	}
	t.clearXmaxBits()
	t.fixInfobits(infobits)
	t.setXmax(xmax)
	pg.SetLSN(rec.EndLSN)
	return nil
}
