package redo

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// GiST (gistxlog.c). A GiST page's 16-byte special space
// (GISTPageOpaqueData) holds:
//
//	0 nsn (PageXLogRecPtr: high u32, low u32)   8 rightlink u32
//	12 flags u16                                14 gist_page_id u16 (0xFF81)
const (
	gistPageUpdate = 0x00
	gistDelete     = 0x10
	gistPageReuse  = 0x20
	gistPageSplit  = 0x30
	gistPageDelete = 0x60
	gistAssignLSN  = 0x70

	gistOpaqueSize = 16
	gistPageID     = 0xFF81
	gistRootBlkno  = 0

	gistFLeaf          = 1 << 0
	gistFDeleted       = 1 << 1
	gistFTuplesDeleted = 1 << 2
	gistFFollowRight   = 1 << 3
	gistFHasGarbage    = 1 << 4

	indexSizeMask = 0x1FFF // INDEX_SIZE_MASK of IndexTupleData.t_info
)

func gistStatus(op uint8) Status {
	switch op {
	case gistPageReuse, gistAssignLSN:
		return StatusNoPageEffect // no block references
	case gistPageUpdate, gistDelete, gistPageSplit, gistPageDelete:
		return StatusRedo
	}
	return StatusUnsupported
}

// gistOpaque returns the special space of a GiST page.
func gistOpaque(pg page.Page) ([]byte, error) {
	sp := pg.Special()
	if sp < page.HeaderSize || sp+gistOpaqueSize > page.Size {
		return nil, fmt.Errorf("gist: pd_special %d leaves no room for the opaque data", sp)
	}
	return pg[sp : sp+gistOpaqueSize], nil
}

func gistSetFlags(o []byte, set, clr uint16) {
	f := binary.LittleEndian.Uint16(o[12:])
	binary.LittleEndian.PutUint16(o[12:], f&^clr|set)
}

func gistSetNSN(o []byte, nsn lsn.LSN) {
	binary.LittleEndian.PutUint32(o[0:], uint32(nsn>>32))
	binary.LittleEndian.PutUint32(o[4:], uint32(nsn))
}

// gistInitPage is gistinitpage.
func gistInitPage(pg page.Page, flags uint16) error {
	if err := pg.Init(gistOpaqueSize); err != nil {
		return err
	}
	o := pg[page.Size-gistOpaqueSize:]
	binary.LittleEndian.PutUint32(o[8:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint16(o[12:], flags)
	binary.LittleEndian.PutUint16(o[14:], gistPageID)
	return nil
}

// nextIndexTuple splits the first IndexTuple off data.
func nextIndexTuple(data []byte) (tup, rest []byte, err error) {
	if len(data) < 8 {
		return nil, nil, fmt.Errorf("gist: truncated index tuple (%d bytes)", len(data))
	}
	n := int(binary.LittleEndian.Uint16(data[6:]) & indexSizeMask)
	if n < 8 || n > len(data) {
		return nil, nil, fmt.Errorf("gist: index tuple of %d bytes in %d", n, len(data))
	}
	return data[:n], data[n:], nil
}

// gistClearFollowRight is gistRedoClearFollowRight: the child whose split is
// now complete gets NSN = LSN = the record's end, and F_FOLLOW_RIGHT cleared.
// PostgreSQL does this on a restored image too.
func gistClearFollowRight(pg page.Page, rec *wal.Record) error {
	o, err := gistOpaque(pg)
	if err != nil {
		return err
	}
	gistSetNSN(o, rec.EndLSN)
	gistSetFlags(o, 0, gistFFollowRight)
	return nil
}

// gistAfterImage applies what gist_redo does to blocks even when their image
// was restored.
func gistAfterImage(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	op := rec.Info & wal.RmgrInfoMask
	if (op == gistPageUpdate && blk.ID == 1) || (op == gistPageSplit && blk.ID == 0) {
		if err := gistClearFollowRight(pg, rec); err != nil {
			return err
		}
		pg.SetLSN(rec.EndLSN)
	}
	return nil
}

func gistRedo(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	u16 := func(off int) uint16 { return binary.LittleEndian.Uint16(md[off:]) }
	switch rec.Info & wal.RmgrInfoMask {
	case gistPageUpdate:
		if len(md) < 4 {
			return fmt.Errorf("gist: page update main data of %d bytes", len(md))
		}
		switch blk.ID {
		case 0:
			return gistPageUpdateRedo(pg, blk.Data, int(u16(0)), int(u16(2)))
		case 1:
			return gistClearFollowRight(pg, rec)
		}
	case gistDelete:
		if len(md) < 6 || blk.ID != 0 {
			return fmt.Errorf("gist: delete record with %d main data bytes, block %d", len(md), blk.ID)
		}
		if len(md) > 6 {
			offs, err := offsetArray(md[6:], int(u16(4)))
			if err != nil {
				return err
			}
			if err := pg.IndexMultiDelete(offs); err != nil {
				return err
			}
		}
		o, err := gistOpaque(pg)
		if err != nil {
			return err
		}
		// 15.18's gistRedoDeleteRecord also sets F_TUPLES_DELETED; the 15.20
		// primary's images do not have it (see gistPageUpdateRedo).
		gistSetFlags(o, 0, gistFHasGarbage)
		return nil
	case gistPageSplit:
		if len(md) < 24 {
			return fmt.Errorf("gist: page split main data of %d bytes", len(md))
		}
		if blk.ID == 0 {
			return gistClearFollowRight(pg, rec)
		}
		return gistPageSplitRedo(pg, rec, blk)
	case gistPageDelete:
		if len(md) < 10 {
			return fmt.Errorf("gist: page delete main data of %d bytes", len(md))
		}
		switch blk.ID {
		case 0:
			o, err := gistOpaque(pg)
			if err != nil {
				return err
			}
			gistSetFlags(o, gistFDeleted, 0)
			pg.SetLower(page.HeaderSize + 8)
			copy(pg[page.HeaderSize:page.HeaderSize+8], md[0:8]) // deleteXid (FullTransactionId)
			return nil
		case 1:
			return pg.IndexTupleDelete(u16(8))
		}
	}
	return fmt.Errorf("gist: unexpected block %d", blk.ID)
}

func offsetArray(b []byte, n int) ([]page.OffsetNumber, error) {
	if len(b) < 2*n {
		return nil, fmt.Errorf("gist: %d offsets in %d bytes", n, len(b))
	}
	out := make([]page.OffsetNumber, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out, nil
}

// gistPageUpdateRedo is gistRedoPageUpdateRecord for block 0.
func gistPageUpdateRedo(pg page.Page, data []byte, ntodelete, ntoinsert int) error {
	if ntodelete == 1 && ntoinsert == 1 {
		if len(data) < 2 {
			return fmt.Errorf("gist: page update without an offset")
		}
		off := binary.LittleEndian.Uint16(data)
		tup, _, err := nextIndexTuple(data[2:])
		if err != nil {
			return err
		}
		return pg.IndexTupleOverwrite(off, tup)
	}
	if ntodelete > 0 {
		offs, err := offsetArray(data, ntodelete)
		if err != nil {
			return err
		}
		data = data[2*ntodelete:]
		if err := pg.IndexMultiDelete(offs); err != nil {
			return err
		}
		// PostgreSQL 15.18's gistRedoPageUpdateRecord also sets
		// F_TUPLES_DELETED on leaf pages here, but the 15.20 primary we verify
		// against does not set it when VACUUM logs this record, and its
		// wal_consistency_checking images do not have it: follow the images.
	}
	if len(data) == 0 {
		return nil
	}
	off := pg.MaxOffset() + 1
	if pg.IsEmpty() {
		off = page.FirstOffsetNumber
	}
	for len(data) > 0 {
		tup, rest, err := nextIndexTuple(data)
		if err != nil {
			return err
		}
		if _, err := pg.AddItem(tup, off, 0); err != nil {
			return fmt.Errorf("gist: failed to add item: %w", err)
		}
		data = rest
		off++
	}
	return nil
}

// gistPageSplitRedo rebuilds page i (block i+1) of a split.
func gistPageSplitRedo(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	origRlink := binary.LittleEndian.Uint32(md[0:])
	origNSN := lsn.LSN(binary.LittleEndian.Uint64(md[8:]))
	origLeaf := md[16] != 0
	npage := int(binary.LittleEndian.Uint16(md[18:]))
	markFollowRight := md[20] != 0
	i := int(blk.ID) - 1
	if i >= npage {
		return fmt.Errorf("gist: split block %d beyond %d pages", blk.ID, npage)
	}
	isRootSplit := false
	if first := rec.Block(1); first != nil && first.Blk == gistRootBlkno {
		isRootSplit = true
	}
	data := blk.Data
	if len(data) < 4 {
		return fmt.Errorf("gist: split page data of %d bytes", len(data))
	}
	num := int(int32(binary.LittleEndian.Uint32(data)))
	data = data[4:]
	var flags uint16
	if origLeaf && blk.Blk != gistRootBlkno {
		flags = gistFLeaf
	}
	if err := gistInitPage(pg, flags); err != nil {
		return err
	}
	off := page.FirstOffsetNumber
	for k := 0; k < num; k++ {
		tup, rest, err := nextIndexTuple(data)
		if err != nil {
			return err
		}
		if _, err := pg.AddItem(tup, off, 0); err != nil {
			return fmt.Errorf("gist: failed to add item %d of %d: %w", k, num, err)
		}
		data = rest
		off++
	}
	if len(data) != 0 {
		return fmt.Errorf("gist: %d bytes after the split page's tuples", len(data))
	}
	o := pg[page.Size-gistOpaqueSize:]
	if blk.Blk == gistRootBlkno {
		binary.LittleEndian.PutUint32(o[8:], 0xFFFFFFFF)
		gistSetNSN(o, origNSN)
		gistSetFlags(o, 0, gistFFollowRight)
		return nil
	}
	if i < npage-1 {
		next := rec.Block(blk.ID + 1)
		if next == nil {
			return fmt.Errorf("gist: split without block %d", blk.ID+1)
		}
		binary.LittleEndian.PutUint32(o[8:], next.Blk)
	} else {
		binary.LittleEndian.PutUint32(o[8:], origRlink)
	}
	gistSetNSN(o, origNSN)
	if i < npage-1 && !isRootSplit && markFollowRight {
		gistSetFlags(o, gistFFollowRight, 0)
	} else {
		gistSetFlags(o, 0, gistFFollowRight)
	}
	return nil
}
