package redo

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// BRIN (brin_xlog.c, brin_pageops.c, brin_revmap.c). Every BRIN page has an
// 8-byte special space whose last uint16 is the page type and the one before
// it the flags. The metapage holds BrinMetaPageData after the header; revmap
// pages hold an array of ItemPointerData (one per range) after the header.
const (
	brinCreateIndex    = 0x00
	brinInsert         = 0x10
	brinUpdate         = 0x20
	brinSamepageUpdate = 0x30
	brinRevmapExtend   = 0x40
	brinDesummarize    = 0x50
	brinOpMask         = 0x70
	brinInitPage       = 0x80

	brinSpecialSize  = 8
	brinTypeMeta     = 0xF091
	brinTypeRevmap   = 0xF092
	brinTypeRegular  = 0xF093
	brinMetaMagic    = 0xA8109CFA
	brinMetaDataSize = 16
	// brinRevmapMaxItems is REVMAP_PAGE_MAXITEMS.
	brinRevmapMaxItems = (page.Size - page.HeaderSize - brinSpecialSize) / page.ItemPointerSize
)

func brinStatus(op uint8) Status {
	switch op & brinOpMask {
	case brinCreateIndex, brinInsert, brinUpdate, brinSamepageUpdate, brinRevmapExtend, brinDesummarize:
		return StatusRedo
	}
	return StatusUnsupported
}

// brinPageInit is brin_page_init.
func brinPageInit(pg page.Page, typ uint16) error {
	if err := pg.Init(brinSpecialSize); err != nil {
		return err
	}
	binary.LittleEndian.PutUint16(pg[page.Size-2:], typ)
	return nil
}

// brinSetRevmap is brinSetHeapBlockItemptr.
func brinSetRevmap(pg page.Page, pagesPerRange, heapBlk uint32, tid page.ItemPointer) error {
	if pagesPerRange == 0 {
		return fmt.Errorf("brin: pagesPerRange 0")
	}
	idx := int((heapBlk / pagesPerRange) % brinRevmapMaxItems)
	tid.Put(pg[page.HeaderSize+idx*page.ItemPointerSize:])
	return nil
}

func brinRedo(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	need := func(n int) error {
		if len(md) < n {
			return fmt.Errorf("brin: main data has %d bytes, want %d", len(md), n)
		}
		return nil
	}
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(md[off:]) }
	u16 := func(off int) uint16 { return binary.LittleEndian.Uint16(md[off:]) }
	switch op := rec.Info & wal.RmgrInfoMask; op & brinOpMask {
	case brinCreateIndex:
		if err := need(6); err != nil {
			return err
		}
		if err := brinPageInit(pg, brinTypeMeta); err != nil {
			return err
		}
		m := pg[page.HeaderSize:]
		binary.LittleEndian.PutUint32(m[0:], brinMetaMagic)
		binary.LittleEndian.PutUint32(m[4:], uint32(u16(4)))
		binary.LittleEndian.PutUint32(m[8:], u32(0))
		binary.LittleEndian.PutUint32(m[12:], 0)
		pg.SetLower(page.HeaderSize + brinMetaDataSize)
		return nil
	case brinInsert, brinUpdate:
		base := 0
		if op&brinOpMask == brinUpdate {
			base = 4
		}
		if err := need(base + 10); err != nil {
			return err
		}
		heapBlk, ppr, offnum := u32(base), u32(base+4), u16(base+8)
		switch blk.ID {
		case 0:
			if op&brinInitPage != 0 {
				if err := brinPageInit(pg, brinTypeRegular); err != nil {
					return err
				}
			}
			if int(pg.MaxOffset())+1 < int(offnum) {
				return fmt.Errorf("brin: invalid max offset number")
			}
			if _, err := pg.AddItem(blk.Data, offnum, page.Overwrite); err != nil {
				return fmt.Errorf("brin: failed to add tuple: %w", err)
			}
			return nil
		case 1:
			reg := rec.Block(0)
			if reg == nil {
				return fmt.Errorf("brin: insert without block 0")
			}
			return brinSetRevmap(pg, ppr, heapBlk, page.ItemPointer{Block: reg.Blk, Offset: offnum})
		case 2:
			if op&brinOpMask != brinUpdate {
				break
			}
			return pg.IndexTupleDeleteNoCompact(u16(0))
		}
	case brinSamepageUpdate:
		if err := need(2); err != nil {
			return err
		}
		if blk.ID == 0 {
			return pg.IndexTupleOverwrite(u16(0), blk.Data)
		}
	case brinRevmapExtend:
		if err := need(4); err != nil {
			return err
		}
		switch blk.ID {
		case 0:
			binary.LittleEndian.PutUint32(pg[page.HeaderSize+12:], u32(0))
			pg.SetLower(page.HeaderSize + brinMetaDataSize)
			return nil
		case 1:
			return brinPageInit(pg, brinTypeRevmap)
		}
	case brinDesummarize:
		if err := need(10); err != nil {
			return err
		}
		switch blk.ID {
		case 0:
			return brinSetRevmap(pg, u32(0), u32(4), page.ItemPointer{Block: 0xFFFFFFFF, Offset: 0})
		case 1:
			return pg.IndexTupleDeleteNoCompact(u16(8))
		}
	}
	return fmt.Errorf("brin: unexpected block %d", blk.ID)
}
