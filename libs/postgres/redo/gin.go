package redo

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// GIN (ginxlog.c): the fast-update pending list (metapage updates, list
// pages), posting-tree creation and page deletion are replayed in Go;
// entry/posting-tree inserts, splits and vacuum are not yet (they need the
// posting-list codec and ginRedoRecompress).
//
// A GIN page's 8-byte special space (GinPageOpaqueData) holds rightlink
// u32, maxoff u16, flags u16. The metapage holds GinMetaPageData (56 bytes)
// after the page header.
const (
	ginCreatePTree      = 0x10
	ginDeletePage       = 0x50
	postingItemSize     = 10 // PostingItem: BlockIdData + ItemPointerData
	ginUpdateMetaPage   = 0x60
	ginInsertListPage   = 0x70
	ginDeleteListPage   = 0x80
	ginOpaqueSize       = 8
	ginMetaDataSize     = 56
	ginFData            = 1 << 0
	ginFLeaf            = 1 << 1
	ginFDeleted         = 1 << 2
	ginFMeta            = 1 << 3
	ginFList            = 1 << 4
	ginFListFullRow     = 1 << 5
	ginFCompressed      = 1 << 7
	ginPostingListStart = page.HeaderSize + 8 // + MAXALIGN(sizeof(ItemPointerData))
)

func ginStatus(op uint8) Status {
	switch op {
	case ginCreatePTree, ginDeletePage, ginUpdateMetaPage, ginInsertListPage, ginDeleteListPage:
		return StatusRedo
	}
	return StatusUnsupported
}

// ginInitPage is GinInitPage: an empty page with the GIN opaque data.
func ginInitPage(pg page.Page, flags uint16) error {
	if err := pg.Init(ginOpaqueSize); err != nil {
		return err
	}
	o := pg[page.Size-ginOpaqueSize:]
	binary.LittleEndian.PutUint32(o[0:], 0xFFFFFFFF)
	binary.LittleEndian.PutUint16(o[6:], flags)
	return nil
}

// ginInitMeta is GinInitMetabuffer followed by copying the logged metadata.
func ginInitMeta(pg page.Page, meta []byte) error {
	if err := ginInitPage(pg, ginFMeta); err != nil {
		return err
	}
	copy(pg[page.HeaderSize:page.HeaderSize+ginMetaDataSize], meta)
	pg.SetLower(page.HeaderSize + ginMetaDataSize)
	return nil
}

// ginAddTuples appends n IndexTuples from data at off, off+1, ...
func ginAddTuples(pg page.Page, data []byte, n int, off page.OffsetNumber) error {
	for i := 0; i < n; i++ {
		tup, rest, err := nextIndexTuple(data)
		if err != nil {
			return err
		}
		if _, err := pg.AddItem(tup, off, 0); err != nil {
			return fmt.Errorf("gin: failed to add item to index page: %w", err)
		}
		data = rest
		off++
	}
	if len(data) != 0 {
		return fmt.Errorf("gin: %d bytes after %d tuples", len(data), n)
	}
	return nil
}

func ginRedo(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	i32 := func(off int) int { return int(int32(binary.LittleEndian.Uint32(md[off:]))) }
	switch rec.Info & wal.RmgrInfoMask {
	case ginCreatePTree:
		if len(md) < 4 || blk.ID != 0 {
			return fmt.Errorf("gin: create posting tree record with %d bytes, block %d", len(md), blk.ID)
		}
		size := int(binary.LittleEndian.Uint32(md))
		if size > len(md)-4 || ginPostingListStart+size > page.Size-ginOpaqueSize {
			return fmt.Errorf("gin: posting list of %d bytes", size)
		}
		if err := ginInitPage(pg, ginFData|ginFLeaf|ginFCompressed); err != nil {
			return err
		}
		copy(pg[ginPostingListStart:], md[4:4+size])
		pg.SetLower(ginPostingListStart + size)
		return nil
	case ginDeletePage:
		if len(md) < 12 {
			return fmt.Errorf("gin: delete page record of %d bytes", len(md))
		}
		sp := pg.Special()
		if sp < page.HeaderSize || sp+ginOpaqueSize > page.Size {
			return fmt.Errorf("gin: pd_special %d", sp)
		}
		o := pg[sp:]
		switch blk.ID {
		case 0: // the deleted page
			binary.LittleEndian.PutUint16(o[6:], binary.LittleEndian.Uint16(o[6:])|ginFDeleted)
			pg.SetPruneXid(binary.LittleEndian.Uint32(md[8:]))
			return nil
		case 1: // the parent: GinPageDeletePostingItem
			off := int(binary.LittleEndian.Uint16(md[0:]))
			maxoff := int(binary.LittleEndian.Uint16(o[4:]))
			if off < 1 || off > maxoff || ginPostingListStart+maxoff*postingItemSize > sp {
				return fmt.Errorf("gin: posting item %d of %d", off, maxoff)
			}
			at := ginPostingListStart + (off-1)*postingItemSize
			copy(pg[at:], pg[at+postingItemSize:ginPostingListStart+maxoff*postingItemSize])
			maxoff--
			binary.LittleEndian.PutUint16(o[4:], uint16(maxoff))
			pg.SetLower(ginPostingListStart + maxoff*postingItemSize)
			return nil
		case 2: // the left sibling
			binary.LittleEndian.PutUint32(o[0:], binary.LittleEndian.Uint32(md[4:]))
			return nil
		}
	case ginUpdateMetaPage:
		if len(md) < 84 {
			return fmt.Errorf("gin: update meta record of %d bytes", len(md))
		}
		prevTail, newRightlink, ntuples := binary.LittleEndian.Uint32(md[72:]), binary.LittleEndian.Uint32(md[76:]), i32(80)
		switch blk.ID {
		case 0:
			return ginInitMeta(pg, md[16:16+ginMetaDataSize])
		case 1:
			sp := pg.Special()
			if sp < page.HeaderSize || sp+ginOpaqueSize > page.Size {
				return fmt.Errorf("gin: pd_special %d", sp)
			}
			o := pg[sp:]
			if ntuples > 0 {
				off := pg.MaxOffset() + 1
				if pg.IsEmpty() {
					off = page.FirstOffsetNumber
				}
				if err := ginAddTuples(pg, blk.Data, ntuples, off); err != nil {
					return err
				}
				binary.LittleEndian.PutUint16(o[4:], binary.LittleEndian.Uint16(o[4:])+1)
				return nil
			}
			if prevTail != 0xFFFFFFFF {
				binary.LittleEndian.PutUint32(o[0:], newRightlink)
				return nil
			}
		}
	case ginInsertListPage:
		if len(md) < 8 || blk.ID != 0 {
			return fmt.Errorf("gin: insert list page record with %d bytes, block %d", len(md), blk.ID)
		}
		rightlink := binary.LittleEndian.Uint32(md)
		if err := ginInitPage(pg, ginFList); err != nil {
			return err
		}
		o := pg[page.Size-ginOpaqueSize:]
		binary.LittleEndian.PutUint32(o[0:], rightlink)
		if rightlink == 0xFFFFFFFF {
			binary.LittleEndian.PutUint16(o[6:], ginFList|ginFListFullRow)
			binary.LittleEndian.PutUint16(o[4:], 1)
		}
		return ginAddTuples(pg, blk.Data, i32(4), page.FirstOffsetNumber)
	case ginDeleteListPage:
		if len(md) < ginMetaDataSize+4 {
			return fmt.Errorf("gin: delete list pages record of %d bytes", len(md))
		}
		if blk.ID == 0 {
			return ginInitMeta(pg, md[:ginMetaDataSize])
		}
		if int(blk.ID) <= i32(ginMetaDataSize) {
			return ginInitPage(pg, ginFDeleted)
		}
	}
	return fmt.Errorf("gin: unexpected block %d", blk.ID)
}
