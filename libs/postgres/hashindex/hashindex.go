// Package hashindex replays PostgreSQL 15 hash index WAL records (rmgr Hash,
// id 12) onto 8 KiB pages, producing the bytes hash_xlog.c produces.
//
// Redo works one block reference at a time: each block's change is computed
// from the record (main data, that block's data and the block numbers of the
// other references) and the page alone. The block roles per record type:
//
//	INIT_META_PAGE      0 metapage (re-initialised)
//	INIT_BITMAP_PAGE    0 bitmap page (re-initialised), 1 metapage
//	INSERT              0 bucket/overflow page, 1 metapage (ntuples + 1)
//	ADD_OVFL_PAGE       0 new overflow page, 1 its left neighbour, 2 bitmap
//	                    page, 3 new bitmap page, 4 metapage
//	SPLIT_ALLOCATE_PAGE 0 old bucket, 1 new bucket (re-initialised), 2 metapage
//	SPLIT_PAGE          0 new bucket (always a full-page image)
//	SPLIT_COMPLETE      0 old bucket, 1 new bucket
//	MOVE_PAGE_CONTENTS  0 primary bucket (no change), 1 page written, 2 page emptied
//	SQUEEZE_PAGE        0 primary bucket (no change), 1 page written,
//	                    2 freed overflow page, 3 previous, 4 next, 5 bitmap, 6 metapage
//	DELETE              0 primary bucket (no change), 1 page cleaned
//	SPLIT_CLEANUP       0 primary bucket
//	UPDATE_META_PAGE    0 metapage
//	VACUUM_ONE_PAGE     0 page cleaned, 1 metapage (ntuples - n)
//
// Blocks marked "no change" are only locked by PostgreSQL's redo; Redo
// leaves them untouched, their page LSN included. Every other block gets the
// record's end LSN (rec.EndLSN), as PageSetLSN does in hash_xlog.c, so a
// dispatcher should not stamp Hash pages itself (see LeavesLSN). Pages are
// []byte of exactly 8192 bytes; every offset, length and count from the
// record is checked, and a bad one is an error, never a panic.
package hashindex

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Record opcodes (xl_info & 0xF0), hash_xlog.h.
const (
	InitMetaPage      uint8 = 0x00
	InitBitmapPage    uint8 = 0x10
	Insert            uint8 = 0x20
	AddOvflPage       uint8 = 0x30
	SplitAllocatePage uint8 = 0x40
	SplitPage         uint8 = 0x50
	SplitComplete     uint8 = 0x60
	MovePageContents  uint8 = 0x70
	SqueezePage       uint8 = 0x80
	Delete            uint8 = 0x90
	SplitCleanup      uint8 = 0xA0
	UpdateMetaPage    uint8 = 0xB0
	VacuumOnePage     uint8 = 0xC0
)

// HashPageOpaqueData hasho_flag bits.
const (
	PageUnused                uint16 = 0
	PageOverflow              uint16 = 1 << 0
	PageBucket                uint16 = 1 << 1
	PageBitmap                uint16 = 1 << 2
	PageMeta                  uint16 = 1 << 3
	BucketBeingPopulated      uint16 = 1 << 4
	BucketBeingSplit          uint16 = 1 << 5
	BucketNeedsSplitClean     uint16 = 1 << 6
	PageHasDeadTuples         uint16 = 1 << 7
	PageTypeMask                     = PageOverflow | PageBucket | PageBitmap | PageMeta
	pageID                    uint16 = 0xFF80
	invalidBlock              uint32 = 0xFFFFFFFF
	opaqueSize                       = 16
	hashMagic                        = 0x6440640
	hashVersion                      = 4
	maxSplitPoints                   = 98
	maxBitmaps                       = 1024
	metaSize                         = 4544 // sizeof(HashMetaPageData)
	splitMetaUpdateMasks             = 1 << 0
	splitMetaUpdateSplitpoint        = 1 << 1
)

// HashMetaPageData field offsets within the page (the struct starts at 24).
const (
	mdBase      = page.HeaderSize
	mdMagic     = mdBase + 0
	mdVersion   = mdBase + 4
	mdNTuples   = mdBase + 8
	mdFFactor   = mdBase + 16
	mdBSize     = mdBase + 18
	mdBMSize    = mdBase + 20
	mdBMShift   = mdBase + 22
	mdMaxBucket = mdBase + 24
	mdHighMask  = mdBase + 28
	mdLowMask   = mdBase + 32
	mdOvflPoint = mdBase + 36
	mdFirstFree = mdBase + 40
	mdNMaps     = mdBase + 44
	mdProcID    = mdBase + 48
	mdSpares    = mdBase + 52
	mdMapp      = mdSpares + 4*maxSplitPoints
)

// Redo applies the effect of Hash record rec on block reference blk (one of
// rec.Blocks) to pg, the page as it was before the record. Blocks the record
// initialises are rebuilt whatever pg holds.
func Redo(pg []byte, rec *wal.Record, blk *wal.BlockRef) error {
	if rec == nil || blk == nil {
		return fmt.Errorf("hash redo: nil record or block")
	}
	op := rec.Info & 0xF0
	if err := redo(page.Page(pg), rec, blk, op); err != nil {
		return fmt.Errorf("hash %s block %d (blk %d): %w", OpName(op), blk.ID, blk.Blk, err)
	}
	if !LeavesLSN(op, blk.ID) {
		page.Page(pg).SetLSN(rec.EndLSN)
	}
	return nil
}

// LeavesLSN reports whether PostgreSQL leaves the page LSN of block id of a
// Hash record with opcode op unchanged: block 0 of DELETE,
// MOVE_PAGE_CONTENTS and SQUEEZE_PAGE is the primary bucket page, which is
// only cleanup-locked (neither the primary nor redo stamps it).
func LeavesLSN(op uint8, id uint8) bool {
	switch op & 0xF0 {
	case Delete, MovePageContents, SqueezePage:
		return id == 0
	}
	return false
}

var errUnexpectedBlock = fmt.Errorf("unexpected block reference for this record type")

func redo(pg page.Page, rec *wal.Record, blk *wal.BlockRef, op uint8) error {
	if len(pg) != page.Size {
		return fmt.Errorf("page is %d bytes, want %d", len(pg), page.Size)
	}
	md := rec.MainData
	need := func(n int) error {
		if len(md) < n {
			return fmt.Errorf("main data is %d bytes, want at least %d", len(md), n)
		}
		return nil
	}
	switch op {
	case InitMetaPage:
		if err := need(14); err != nil {
			return err
		}
		if blk.ID != 0 {
			return errUnexpectedBlock
		}
		return initMetaPage(pg, math.Float64frombits(binary.LittleEndian.Uint64(md)), u32(md, 8), u16(md, 12))
	case InitBitmapPage:
		if err := need(2); err != nil {
			return err
		}
		switch blk.ID {
		case 0:
			return initBitmapPage(pg, int(u16(md, 0)))
		case 1:
			if err := checkMeta(pg); err != nil {
				return err
			}
			nmaps := u32(pg, mdNMaps)
			if nmaps >= maxBitmaps {
				return fmt.Errorf("metapage already has %d bitmap pages", nmaps)
			}
			put32(pg, mdMapp+4*int(nmaps), u32(pg, mdMaxBucket)+1+1)
			put32(pg, mdNMaps, nmaps+1)
			return nil
		}
		return errUnexpectedBlock
	case Insert:
		if err := need(2); err != nil {
			return err
		}
		switch blk.ID {
		case 0:
			_, err := pg.AddItem(blk.Data, u16(md, 0), 0)
			return err
		case 1:
			return addNTuples(pg, 1)
		}
		return errUnexpectedBlock
	case AddOvflPage:
		return redoAddOvflPage(pg, rec, blk)
	case SplitAllocatePage:
		return redoSplitAllocate(pg, rec, blk)
	case SplitPage:
		if blk.ID != 0 {
			return errUnexpectedBlock
		}
		if blk.HasImage && blk.ApplyImage {
			return nil // the page was restored from its image
		}
		return fmt.Errorf("hash split record did not contain a full-page image")
	case SplitComplete:
		if err := need(4); err != nil {
			return err
		}
		if blk.ID > 1 {
			return errUnexpectedBlock
		}
		o, err := hashOpaque(pg)
		if err != nil {
			return err
		}
		o.setFlag(u16(md, 2*int(blk.ID)))
		return nil
	case MovePageContents:
		if err := need(3); err != nil {
			return err
		}
		return redoMoveOrSqueeze(pg, rec, blk, int(u16(md, 0)), false, false, 0)
	case SqueezePage:
		if err := need(12); err != nil {
			return err
		}
		return redoMoveOrSqueeze(pg, rec, blk, int(u16(md, 8)), true, md[11] != 0, u32(md, 4))
	case Delete:
		if err := need(2); err != nil {
			return err
		}
		switch blk.ID {
		case 0:
			return nil // primary bucket page, only cleanup-locked
		case 1:
			if err := multiDelete(pg, blk.Data); err != nil {
				return err
			}
			if md[0] != 0 {
				return clearFlag(pg, PageHasDeadTuples)
			}
			return nil
		}
		return errUnexpectedBlock
	case SplitCleanup:
		if blk.ID != 0 {
			return errUnexpectedBlock
		}
		return clearFlag(pg, BucketNeedsSplitClean)
	case UpdateMetaPage:
		if err := need(8); err != nil {
			return err
		}
		if blk.ID != 0 {
			return errUnexpectedBlock
		}
		if err := checkMeta(pg); err != nil {
			return err
		}
		copy(pg[mdNTuples:mdNTuples+8], md[:8])
		return nil
	case VacuumOnePage:
		if err := need(8); err != nil {
			return err
		}
		ntuples := int32(u32(md, 4))
		switch blk.ID {
		case 0:
			if len(md) > 8 {
				if ntuples < 0 || len(md) < 8+2*int(ntuples) {
					return fmt.Errorf("%d offsets do not fit in %d bytes", ntuples, len(md)-8)
				}
				if err := multiDelete(pg, md[8:8+2*int(ntuples)]); err != nil {
					return err
				}
			}
			return clearFlag(pg, PageHasDeadTuples)
		case 1:
			return addNTuples(pg, -float64(ntuples))
		}
		return errUnexpectedBlock
	}
	return fmt.Errorf("unknown hash opcode %#x", op)
}

// OpName names a Hash opcode the way pg_waldump does.
func OpName(op uint8) string {
	names := [...]string{"INIT_META_PAGE", "INIT_BITMAP_PAGE", "INSERT", "ADD_OVFL_PAGE",
		"SPLIT_ALLOCATE_PAGE", "SPLIT_PAGE", "SPLIT_COMPLETE", "MOVE_PAGE_CONTENTS",
		"SQUEEZE_PAGE", "DELETE", "SPLIT_CLEANUP", "UPDATE_META_PAGE", "VACUUM_ONE_PAGE"}
	if i := int(op >> 4); i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("UNKNOWN(%#x)", op)
}

func u16(b []byte, off int) uint16      { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32      { return binary.LittleEndian.Uint32(b[off:]) }
func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

// opaque is a view of HashPageOpaqueData at pd_special.
type opaque []byte

func hashOpaque(pg page.Page) (opaque, error) {
	sp := pg.Special()
	if sp < page.HeaderSize || sp+opaqueSize > page.Size {
		return nil, fmt.Errorf("hash special space at %d does not fit", sp)
	}
	return opaque(pg[sp : sp+opaqueSize]), nil
}

func (o opaque) flag() uint16       { return u16(o, 12) }
func (o opaque) setFlag(v uint16)   { put16(o, 12, v) }
func (o opaque) setPrev(v uint32)   { put32(o, 0, v) }
func (o opaque) setNext(v uint32)   { put32(o, 4, v) }
func (o opaque) setBucket(v uint32) { put32(o, 8, v) }
func (o opaque) setPageID(v uint16) { put16(o, 14, v) }

func clearFlag(pg page.Page, f uint16) error {
	o, err := hashOpaque(pg)
	if err != nil {
		return err
	}
	o.setFlag(o.flag() &^ f)
	return nil
}

// initBuf is _hash_initbuf with initpage: an empty page whose opaque says
// prev = maxBucket, next = invalid, bucket, flag.
func initBuf(pg page.Page, maxBucket, bucket uint32, flag uint16) error {
	if err := pg.Init(opaqueSize); err != nil {
		return err
	}
	o := opaque(pg[page.Size-opaqueSize:])
	o.setPrev(maxBucket)
	o.setNext(invalidBlock)
	o.setBucket(bucket)
	o.setFlag(flag)
	o.setPageID(pageID)
	return nil
}

// initBitmapPage is _hash_initbitmapbuffer: all bmsize bytes of the bitmap
// set (every overflow page in use).
func initBitmapPage(pg page.Page, bmsize int) error {
	if page.HeaderSize+bmsize > page.Size-opaqueSize {
		return fmt.Errorf("bitmap of %d bytes does not fit", bmsize)
	}
	if err := initBuf(pg, invalidBlock, invalidBlock, PageBitmap); err != nil {
		return err
	}
	for i := page.HeaderSize; i < page.HeaderSize+bmsize; i++ {
		pg[i] = 0xFF
	}
	pg.SetLower(page.HeaderSize + bmsize)
	return nil
}

// checkMeta makes sure the metapage fields lie below pd_special.
func checkMeta(pg page.Page) error {
	if sp := pg.Special(); sp < mdBase+metaSize {
		return fmt.Errorf("page with special space at %d cannot hold a hash metapage", sp)
	}
	return nil
}

func addNTuples(pg page.Page, d float64) error {
	if err := checkMeta(pg); err != nil {
		return err
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(pg[mdNTuples:]))
	binary.LittleEndian.PutUint64(pg[mdNTuples:], math.Float64bits(v+d))
	return nil
}

// multiDelete deletes the items whose offsets (u16 each) make up data.
func multiDelete(pg page.Page, data []byte) error {
	if len(data)%2 != 0 {
		return fmt.Errorf("offset array of odd length %d", len(data))
	}
	if len(data) == 0 {
		return nil
	}
	offs := make([]page.OffsetNumber, len(data)/2)
	for i := range offs {
		offs[i] = u16(data, 2*i)
	}
	return pg.IndexMultiDelete(offs)
}
