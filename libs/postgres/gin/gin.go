// Package gin replays PostgreSQL 15 GIN WAL records (rmgr Gin, id 13) onto
// 8 KiB pages, producing the bytes ginxlog.c produces.
//
// Redo works one block reference at a time. Block roles per record type:
//
//	CREATE_PTREE          0 new posting-tree root (data leaf, re-initialised)
//	INSERT                0 page inserted into (entry tuple, data-leaf segment
//	                      actions, or internal posting item), 1 child whose
//	                      split this finishes (INCOMPLETE_SPLIT cleared)
//	SPLIT                 0 left, 1 right, 2 root: full-page images only;
//	                      3 child whose split this finishes
//	VACUUM_PAGE           0 full-page image only
//	VACUUM_DATA_LEAF_PAGE 0 data leaf (segment actions)
//	DELETE_PAGE           0 deleted page, 1 parent (posting item removed),
//	                      2 left sibling (rightlink)
//	UPDATE_META_PAGE      0 metapage (re-initialised from the record),
//	                      1 pending-list tail (tuples appended, or rightlink)
//	INSERT_LISTPAGE       0 new pending-list page (re-initialised)
//	DELETE_LISTPAGE       0 metapage, 1.. deleted list pages (re-initialised)
//
// Redo does not set the page LSN: the dispatcher stamps rec.EndLSN. Blocks
// that PostgreSQL only restores from images fail with an error when they
// come without one. Pages are []byte of exactly 8192 bytes; every offset,
// length and count from the record is checked, and a bad one is an error,
// never a panic.
//
// Page layout (GinPageOpaqueData, 8-byte special space): rightlink u32,
// maxoff u16, flags u16. Data pages keep a right-bound ItemPointer at 24 and
// their items from 32: PostingItems (child BlockIdData + key, 10 bytes) on
// internal pages, posting-list segments on compressed leaves, with pd_lower
// just past the data. The metapage holds GinMetaPageData (56 bytes) at 24.
package gin

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Record opcodes (xl_info & 0xF0), ginxlog.h.
const (
	CreatePTree        uint8 = 0x10
	Insert             uint8 = 0x20
	Split              uint8 = 0x30
	VacuumPage         uint8 = 0x40
	DeletePage         uint8 = 0x50
	UpdateMetaPage     uint8 = 0x60
	InsertListPage     uint8 = 0x70
	DeleteListPage     uint8 = 0x80
	VacuumDataLeafPage uint8 = 0x90
)

// Supported reports whether Redo handles records with xl_info info: every
// PG15 GIN record type.
func Supported(info uint8) bool {
	op := info & wal.RmgrInfoMask
	return op >= CreatePTree && op <= VacuumDataLeafPage && op&0x0F == 0
}

// Page flags (GinPageOpaqueData.flags).
const (
	FlagData            uint16 = 1 << 0
	FlagLeaf            uint16 = 1 << 1
	FlagDeleted         uint16 = 1 << 2
	FlagMeta            uint16 = 1 << 3
	FlagList            uint16 = 1 << 4
	FlagListFullRow     uint16 = 1 << 5
	FlagIncompleteSplit uint16 = 1 << 6
	FlagCompressed      uint16 = 1 << 7
)

// INSERT/SPLIT record flags.
const (
	insertIsData = 0x01
	insertIsLeaf = 0x02
)

const (
	specialSize     = 8
	dataStart       = 32 // GinDataPageGetData: contents + MAXALIGN(ItemPointerData)
	postingItemSize = 10
	metaSize        = 56 // sizeof(GinMetaPageData)
	invalidBlock    = 0xFFFFFFFF
	// maxDataSize is GinDataPageMaxDataSize.
	maxDataSize = page.Size - page.HeaderSize - 8 - specialSize
)

// Redo applies block reference blk of GIN record rec to pg (page.Size bytes),
// the page as it was before the record (zeroed for WILL_INIT).
func Redo(pg []byte, rec *wal.Record, blk *wal.BlockRef) error {
	if len(pg) != page.Size {
		return fmt.Errorf("gin: page has %d bytes, want %d", len(pg), page.Size)
	}
	p := page.Page(pg)
	var err error
	switch op := rec.Info & wal.RmgrInfoMask; op {
	case CreatePTree:
		err = redoCreatePTree(p, rec, blk)
	case Insert:
		err = redoInsert(p, rec, blk)
	case Split:
		if blk.ID != 3 {
			err = fmt.Errorf("split block without its full-page image")
		} else {
			err = redoSplitChild(p, rec)
		}
	case VacuumPage:
		err = fmt.Errorf("vacuum page record without its full-page image")
	case VacuumDataLeafPage:
		if blk.ID != 0 {
			err = fmt.Errorf("unexpected block reference")
		} else {
			err = recompress(p, blk.Data)
		}
	case DeletePage:
		err = redoDeletePage(p, rec, blk)
	case UpdateMetaPage:
		err = redoUpdateMetaPage(p, rec, blk)
	case InsertListPage:
		err = redoInsertListPage(p, rec, blk)
	case DeleteListPage:
		err = redoDeleteListPage(p, rec, blk)
	default:
		err = fmt.Errorf("unknown op code 0x%02X", op)
	}
	if err != nil {
		return fmt.Errorf("gin %s block %d: %w", wal.OpName(rec.RmID, rec.Info), blk.ID, err)
	}
	return nil
}

// InitPage is GinInitPage: an empty page with a GIN special space holding
// flags and an invalid rightlink.
func InitPage(pg []byte, f uint16) error {
	p := page.Page(pg)
	if err := p.Init(specialSize); err != nil {
		return err
	}
	o := p[page.Size-specialSize:]
	binary.LittleEndian.PutUint32(o, invalidBlock)
	setFlags(o, f)
	return nil
}

func opaque(p page.Page) ([]byte, error) {
	sp := p.Special()
	if sp > page.Size-specialSize || sp < page.HeaderSize {
		return nil, fmt.Errorf("special space at %d is not a GIN one", sp)
	}
	return p[sp : sp+specialSize], nil
}

func flags(o []byte) uint16       { return binary.LittleEndian.Uint16(o[6:]) }
func setFlags(o []byte, f uint16) { binary.LittleEndian.PutUint16(o[6:], f) }

func setRightlink(p page.Page, blk uint32) error {
	o, err := opaque(p)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(o, blk)
	return nil
}

// redoCreatePTree: main data is size u32 then a compressed posting list of
// that many bytes, copied onto a fresh data leaf.
func redoCreatePTree(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	if blk.ID != 0 {
		return fmt.Errorf("unexpected block reference")
	}
	md := rec.MainData
	if len(md) < 4 {
		return fmt.Errorf("main data has %d bytes", len(md))
	}
	size := binary.LittleEndian.Uint32(md)
	if uint64(size) > uint64(len(md)-4) || size > maxDataSize {
		return fmt.Errorf("posting list of %d bytes (record has %d, page room %d)", size, len(md)-4, maxDataSize)
	}
	if err := InitPage(p, FlagData|FlagLeaf|FlagCompressed); err != nil {
		return err
	}
	copy(p[dataStart:], md[4:4+size])
	p.SetLower(dataStart + int(size))
	return nil
}

// clearIncompleteSplit is ginRedoClearIncompleteSplit.
func clearIncompleteSplit(p page.Page) error {
	o, err := opaque(p)
	if err != nil {
		return err
	}
	setFlags(o, flags(o)&^FlagIncompleteSplit)
	return nil
}

// redoSplitChild: SPLIT main data is ginxlogSplit (RelFileNode, rrlink,
// leftChildBlkno, rightChildBlkno, flags u16 at 24); block 3 is the child
// whose split the split of its parent finishes.
func redoSplitChild(p page.Page, rec *wal.Record) error {
	if len(rec.MainData) < 26 {
		return fmt.Errorf("main data has %d bytes", len(rec.MainData))
	}
	if binary.LittleEndian.Uint16(rec.MainData[24:])&insertIsLeaf != 0 {
		return fmt.Errorf("leaf split with a child block reference")
	}
	return clearIncompleteSplit(p)
}

// redoInsert: main data is flags u16, then for a non-leaf insert the left and
// right child block numbers (BlockIdData each). Block 0's data is the
// insertion (see insertEntry, insertData); block 1 is the left child.
func redoInsert(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if len(md) < 2 {
		return fmt.Errorf("main data has %d bytes", len(md))
	}
	fl := binary.LittleEndian.Uint16(md)
	isLeaf := fl&insertIsLeaf != 0
	rightChild := uint32(invalidBlock)
	if !isLeaf {
		if len(md) < 10 {
			return fmt.Errorf("non-leaf insert main data has %d bytes", len(md))
		}
		rightChild = blockID(md[6:])
	}
	switch blk.ID {
	case 1:
		if isLeaf {
			return fmt.Errorf("leaf insert with a child block reference")
		}
		return clearIncompleteSplit(p)
	case 0:
		if fl&insertIsData != 0 {
			if isLeaf {
				return recompress(p, blk.Data)
			}
			return insertDataInternal(p, blk.Data, rightChild)
		}
		return insertEntry(p, blk.Data, rightChild)
	}
	return fmt.Errorf("unexpected block reference")
}

// blockID decodes a BlockIdData (high half first).
func blockID(b []byte) uint32 {
	return uint32(binary.LittleEndian.Uint16(b))<<16 | uint32(binary.LittleEndian.Uint16(b[2:]))
}

func putBlockID(b []byte, blk uint32) {
	binary.LittleEndian.PutUint16(b, uint16(blk>>16))
	binary.LittleEndian.PutUint16(b[2:], uint16(blk))
}

// insertEntry is ginRedoInsertEntry. data is ginxlogInsertEntry: offset u16,
// isDelete bool, then at 4 the index tuple. On an internal page the tuple
// at offset first gets rightChild as its downlink.
func insertEntry(p page.Page, data []byte, rightChild uint32) error {
	if len(data) < 4+8 {
		return fmt.Errorf("entry insert data has %d bytes", len(data))
	}
	off := binary.LittleEndian.Uint16(data)
	isDelete := data[2] != 0
	tup := data[4:]
	size := int(binary.LittleEndian.Uint16(tup[6:]) & 0x1FFF)
	if size < 8 || size > len(tup) {
		return fmt.Errorf("index tuple size %d (have %d bytes)", size, len(tup))
	}
	tup = tup[:size]
	if rightChild != invalidBlock {
		old, err := p.Item(off)
		if err != nil {
			return fmt.Errorf("downlink tuple %d: %w", off, err)
		}
		if len(old) < page.ItemPointerSize {
			return fmt.Errorf("downlink tuple %d has %d bytes", off, len(old))
		}
		page.ItemPointer{Block: rightChild, Offset: page.InvalidOffsetNumber}.Put(old)
	}
	if isDelete {
		if err := p.IndexTupleDelete(off); err != nil {
			return fmt.Errorf("delete tuple %d: %w", off, err)
		}
	}
	if _, err := p.AddItem(tup, off, 0); err != nil {
		return fmt.Errorf("add %d-byte tuple at %d: %w", size, off, err)
	}
	return nil
}

// insertDataInternal is the internal-page half of ginRedoInsertData: data is
// ginxlogInsertDataInternal (offset u16, PostingItem). The posting item at
// offset first points to rightChild, then the new item goes in at offset.
func insertDataInternal(p page.Page, data []byte, rightChild uint32) error {
	if len(data) < 2+postingItemSize {
		return fmt.Errorf("internal insert data has %d bytes", len(data))
	}
	off := int(binary.LittleEndian.Uint16(data))
	o, err := opaque(p)
	if err != nil {
		return err
	}
	maxoff := int(binary.LittleEndian.Uint16(o[4:]))
	if off < 1 || off > maxoff+1 || dataStart+(maxoff+1)*postingItemSize > p.Special() {
		return fmt.Errorf("posting item offset %d with maxoff %d", off, maxoff)
	}
	ptr := dataStart + (off-1)*postingItemSize
	putBlockID(p[ptr:], rightChild)
	if off != maxoff+1 {
		copy(p[ptr+postingItemSize:], p[ptr:dataStart+maxoff*postingItemSize])
	}
	copy(p[ptr:ptr+postingItemSize], data[2:2+postingItemSize])
	maxoff++
	binary.LittleEndian.PutUint16(o[4:], uint16(maxoff))
	p.SetLower(dataStart + maxoff*postingItemSize)
	return nil
}

// redoDeletePage: main data is ginxlogDeletePage (parentOffset u16,
// rightLink u32 at 4, deleteXid u32 at 8).
func redoDeletePage(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if len(md) < 12 {
		return fmt.Errorf("main data has %d bytes", len(md))
	}
	switch blk.ID {
	case 2:
		return setRightlink(p, binary.LittleEndian.Uint32(md[4:]))
	case 0:
		o, err := opaque(p)
		if err != nil {
			return err
		}
		setFlags(o, flags(o)|FlagDeleted)
		p.SetPruneXid(binary.LittleEndian.Uint32(md[8:]))
		return nil
	case 1:
		return deletePostingItem(p, int(binary.LittleEndian.Uint16(md)))
	}
	return fmt.Errorf("unexpected block reference")
}

// deletePostingItem is GinPageDeletePostingItem.
func deletePostingItem(p page.Page, off int) error {
	o, err := opaque(p)
	if err != nil {
		return err
	}
	maxoff := int(binary.LittleEndian.Uint16(o[4:]))
	if off < 1 || off > maxoff || dataStart+maxoff*postingItemSize > p.Special() {
		return fmt.Errorf("posting item offset %d with maxoff %d", off, maxoff)
	}
	ptr := dataStart + (off-1)*postingItemSize
	copy(p[ptr:], p[ptr+postingItemSize:dataStart+maxoff*postingItemSize])
	maxoff--
	binary.LittleEndian.PutUint16(o[4:], uint16(maxoff))
	p.SetLower(dataStart + maxoff*postingItemSize)
	return nil
}
