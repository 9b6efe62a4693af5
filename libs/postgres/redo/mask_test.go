package redo

import (
	"encoding/binary"

	"github.com/stratadb/strata/libs/postgres/gin"
	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Ports of PostgreSQL's rm_mask functions (bufmask.c and the AMs), for the
// wal_consistency_checking oracle. MASK_MARKER is 0.

func maskLSNAndChecksum(p page.Page) {
	p.SetLSN(0)
	p.SetChecksum(0)
}

func maskHintBits(p page.Page) {
	p.SetPruneXid(0)
	p.ClearFlag(page.PageFull | page.HasFreeLines | page.AllVisible)
}

func maskUnusedSpace(p page.Page) bool {
	lo, up, sp := p.Lower(), p.Upper(), p.Special()
	if lo > up || sp < up || lo < page.HeaderSize || sp > page.Size {
		return false
	}
	clear(p[lo:up])
	return true
}

func maskLPFlags(p page.Page) {
	for off := page.FirstOffsetNumber; off <= p.MaxOffset(); off++ {
		if id := p.ItemID(off); id.IsUsed() {
			_ = p.SetItemID(off, id.WithFlags(page.LPUnused))
		}
	}
}

func maskPageContent(p page.Page) {
	clear(p[page.HeaderSize:])
	p.SetLower(0)
	p.SetUpper(0)
}

// heapMask is heap_mask.
func heapMask(p page.Page, blkno uint32) {
	maskLSNAndChecksum(p)
	maskHintBits(p)
	if !maskUnusedSpace(p) {
		return
	}
	for off := page.FirstOffsetNumber; off <= p.MaxOffset(); off++ {
		id := p.ItemID(off)
		o := id.Off()
		if id.IsNormal() && o+23 <= page.Size {
			t := p[o:]
			im := binary.LittleEndian.Uint16(t[20:])
			if im&0x0300 != 0x0300 { // xmin not frozen
				im &^= 0xFFF0
			} else {
				im &^= 0x0800 | 0x0400
			}
			binary.LittleEndian.PutUint16(t[20:], im)
			binary.LittleEndian.PutUint32(t[8:], 0)
			if binary.LittleEndian.Uint16(t[16:]) == 0xFFFE { // speculative token
				page.ItemPointer{Block: blkno, Offset: off}.Put(t[12:])
			}
		}
		if id.HasStorage() {
			n := id.Len()
			if end := o + page.MaxAlign(n); end <= page.Size {
				clear(p[o+n : end])
			}
		}
	}
}

// seqMask is seq_mask.
func seqMask(p page.Page) {
	maskLSNAndChecksum(p)
	maskUnusedSpace(p)
}

// btreeMask is btree_mask.
func btreeMask(p page.Page) {
	maskLSNAndChecksum(p)
	maskHintBits(p)
	maskUnusedSpace(p)
	sp := p.Special()
	if sp+16 > page.Size {
		return
	}
	o := p[sp:]
	flags := binary.LittleEndian.Uint16(o[12:])
	if flags&1 != 0 { // BTP_LEAF
		maskLPFlags(p)
	}
	flags &^= 1<<6 | 1<<5 // BTP_HAS_GARBAGE, BTP_SPLIT_END
	binary.LittleEndian.PutUint16(o[12:], flags)
	binary.LittleEndian.PutUint16(o[14:], 0) // btpo_cycleid
}

// hashMask is hash_mask.
func hashMask(p page.Page) {
	maskLSNAndChecksum(p)
	maskHintBits(p)
	maskUnusedSpace(p)
	sp := p.Special()
	if sp+16 > page.Size {
		return
	}
	o := p[sp:]
	flags := binary.LittleEndian.Uint16(o[12:])
	switch flags & 0x0F {
	case 0:
		maskPageContent(p)
		return
	case 1, 2:
		maskLPFlags(p)
	}
	binary.LittleEndian.PutUint16(o[12:], flags&^(1<<7))
}

// maskFor returns the mask of an rmgr, or nil if it has none.
func maskFor(rmid uint8) func(page.Page, uint32) {
	switch rmid {
	case wal.RmHeap, wal.RmHeap2:
		return heapMask
	case wal.RmSeq, wal.RmGeneric: // generic_mask is seq_mask's body
		return func(p page.Page, _ uint32) { seqMask(p) }
	case wal.RmBtree:
		return func(p page.Page, _ uint32) { btreeMask(p) }
	case wal.RmHash:
		return func(p page.Page, _ uint32) { hashMask(p) }
	case wal.RmGin:
		return func(p page.Page, _ uint32) { ginMask(p) }
	case wal.RmGist:
		return func(p page.Page, _ uint32) { gistMask(p) }
	case wal.RmBRIN:
		return func(p page.Page, _ uint32) { brinMask(p) }
	case wal.RmSPGist:
		return func(p page.Page, _ uint32) { spgMask(p) }
	}
	return nil
}

// spgMask is spg_mask.
func spgMask(p page.Page) {
	maskLSNAndChecksum(p)
	maskHintBits(p)
	if p.Lower() >= page.HeaderSize {
		maskUnusedSpace(p)
	}
}

// brinMask is brin_mask.
func brinMask(p page.Page) {
	maskLSNAndChecksum(p)
	maskHintBits(p)
	typ := binary.LittleEndian.Uint16(p[page.Size-2:])
	if typ == brinTypeRegular || (typ == brinTypeMeta && p.Lower() > page.HeaderSize) {
		maskUnusedSpace(p)
	}
	sp := p.Special()
	if sp >= page.HeaderSize && sp+brinSpecialSize <= page.Size {
		f := binary.LittleEndian.Uint16(p[sp+4:])
		binary.LittleEndian.PutUint16(p[sp+4:], f&^1)
	}
}

// gistMask is gist_mask.
func gistMask(p page.Page) {
	maskLSNAndChecksum(p)
	maskHintBits(p)
	maskUnusedSpace(p)
	o, err := gistOpaque(p)
	if err != nil {
		return
	}
	gistSetNSN(o, 0)
	gistSetFlags(o, gistFFollowRight, 0)
	if binary.LittleEndian.Uint16(o[12:])&gistFLeaf != 0 {
		maskLPFlags(p)
	}
	gistSetFlags(o, 0, gistFHasGarbage)
}

// ginMask is gin_mask.
func ginMask(p page.Page) {
	maskLSNAndChecksum(p)
	deleted := false
	if sp := p.Special(); sp >= page.HeaderSize && sp+8 <= page.Size { // 8: GinPageOpaqueData
		deleted = binary.LittleEndian.Uint16(p[sp+6:])&gin.FlagDeleted != 0
	}
	maskHintBits(p)
	if deleted {
		maskPageContent(p)
	} else if p.Lower() > page.HeaderSize {
		maskUnusedSpace(p)
	}
}
