// Package mask is a Go port of PostgreSQL 15's page masking (bufmask.c and
// each resource manager's rm_mask function): before comparing a page produced
// by redo with the page PostgreSQL logged, both are masked so that the bytes
// PostgreSQL legitimately lets differ (page LSN and checksum, hint bits,
// unused space, LP_DEAD flags, ...) compare equal. Masked bytes are set to
// zero (MASK_MARKER).
//
// The functions modify the page in place. They return an error, and leave
// the page partly masked, if the page header is inconsistent (PostgreSQL
// raises an ERROR there); they never read or write outside the page.
//
// Page header (PageHeaderData, 24 bytes) offsets used here:
//
//	0 pd_lsn u64 | 8 pd_checksum u16 | 10 pd_flags u16 | 12 pd_lower u16
//	14 pd_upper u16 | 16 pd_special u16 | 18 pd_pagesize_version u16
//	20 pd_prune_xid u32 | 24 line pointers (ItemIdData, 4 bytes each:
//	bits 0-14 lp_off, 15-16 lp_flags, 17-31 lp_len)
package mask

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/wal"
)

// PageSize is BLCKSZ.
const PageSize = 8192

const (
	pageHeaderSize = 24
	itemIDSize     = 4

	pdHasFreeLines = 0x0001
	pdPageFull     = 0x0002
	pdAllVisible   = 0x0004

	lpUnused = 0
	lpNormal = 1
)

// Func masks a page of block number blkno in place.
type Func func(page []byte, blkno uint32) error

// ForRmgr returns the mask function PostgreSQL 15 uses for records of
// resource manager rmid, or nil if that rmgr has none (its records carry no
// verification images).
func ForRmgr(rmid uint8) Func {
	switch rmid {
	case wal.RmHeap, wal.RmHeap2:
		return Heap
	case wal.RmBtree:
		return Btree
	case wal.RmHash:
		return Hash
	case wal.RmGin:
		return Gin
	case wal.RmGist:
		return Gist
	case wal.RmSeq:
		return Seq
	case wal.RmSPGist:
		return SPGist
	case wal.RmBRIN:
		return BRIN
	case wal.RmGeneric:
		return Generic
	}
	return nil
}

func u16(p []byte, off int) uint16      { return binary.LittleEndian.Uint16(p[off:]) }
func put16(p []byte, off int, v uint16) { binary.LittleEndian.PutUint16(p[off:], v) }
func lower(p []byte) int                { return int(u16(p, 12)) }
func upper(p []byte) int                { return int(u16(p, 14)) }
func special(p []byte) int              { return int(u16(p, 16)) }
func itemID(p []byte, off int) uint32 {
	return binary.LittleEndian.Uint32(p[pageHeaderSize+(off-1)*itemIDSize:])
}
func setItemID(p []byte, off int, v uint32) {
	binary.LittleEndian.PutUint32(p[pageHeaderSize+(off-1)*itemIDSize:], v)
}
func lpOff(id uint32) int   { return int(id & 0x7fff) }
func lpFlags(id uint32) int { return int(id>>15) & 3 }
func lpLen(id uint32) int   { return int(id >> 17) }

// maxOffset is PageGetMaxOffsetNumber.
func maxOffset(p []byte) int {
	l := lower(p)
	if l <= pageHeaderSize {
		return 0
	}
	return min((l-pageHeaderSize)/itemIDSize, (PageSize-pageHeaderSize)/itemIDSize)
}

func checkSize(page []byte) error {
	if len(page) != PageSize {
		return fmt.Errorf("mask: page of %d bytes, want %d", len(page), PageSize)
	}
	return nil
}

// specialArea returns the offset of the special space if n bytes of it fit in
// the page.
func specialArea(p []byte, n int) (int, error) {
	s := special(p)
	if s < pageHeaderSize || s+n > PageSize {
		return 0, fmt.Errorf("mask: invalid pd_special %d for a %d-byte special space", s, n)
	}
	return s, nil
}

// PageLSNAndChecksum masks pd_lsn and pd_checksum.
func PageLSNAndChecksum(p []byte) {
	clear(p[0:10])
}

// HintBits masks pd_prune_xid and the PD_PAGE_FULL, PD_HAS_FREE_LINES and
// PD_ALL_VISIBLE flags.
func HintBits(p []byte) {
	clear(p[20:24])
	put16(p, 10, u16(p, 10)&^(pdPageFull|pdHasFreeLines|pdAllVisible))
}

// UnusedSpace masks the bytes between pd_lower and pd_upper.
func UnusedSpace(p []byte) error {
	lo, up, sp := lower(p), upper(p), special(p)
	if lo > up || sp < up || lo < pageHeaderSize || sp > PageSize {
		return fmt.Errorf("mask: invalid page pd_lower %d pd_upper %d pd_special %d", lo, up, sp)
	}
	clear(p[lo:up])
	return nil
}

// LPFlags sets every used line pointer's flags to LP_UNUSED.
func LPFlags(p []byte) {
	for off := 1; off <= maxOffset(p); off++ {
		id := itemID(p, off)
		if lpFlags(id) != lpUnused {
			setItemID(p, off, id&^(3<<15))
		}
	}
}

// PageContent masks everything after the page header, and pd_lower and
// pd_upper.
func PageContent(p []byte) {
	clear(p[pageHeaderSize:])
	clear(p[12:16])
}
