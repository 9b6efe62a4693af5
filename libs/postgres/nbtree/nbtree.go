// Package nbtree replays PostgreSQL 15 B-tree WAL records (rmgr Btree, id 11)
// onto 8 KiB pages, producing the bytes nbtxlog.c produces.
//
// Redo works one block reference at a time, the way Neon's walredo rebuilds
// one page: everything a block needs comes from the record (main data, that
// block's data, the block numbers of the other references) and from the
// page itself. A multi-block record such as a page split is therefore
// replayed by calling Redo once per block:
//
//	SPLIT_L/SPLIT_R   block 0 left (original) page, rebuilt in item order
//	                  block 1 right page, rebuilt from the record's tuples
//	                  block 2 right sibling: btpo_prev = block 1
//	                  block 3 child whose INCOMPLETE_SPLIT flag is cleared
//	INSERT_*          block 0 target, 1 child (UPPER/META), 2 metapage (META)
//	MARK_PAGE_HALFDEAD block 0 leaf (re-initialised), 1 parent
//	UNLINK_PAGE[_META] block 0 target, 1 left, 2 right, 3 leaf, 4 metapage
//	NEWROOT           block 0 root, 1 left child, 2 metapage
//	DEDUP, VACUUM, DELETE, META_CLEANUP  block 0
//
// Pages are plain []byte of exactly 8192 bytes. Redo never reads outside
// the page, the record or the block data: every offset, length and count is
// checked and a bad one is an error. Redo does not set the page LSN; the
// caller (libs/postgres/redo) stamps it with the record's end LSN.
package nbtree

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/stratadb/strata/libs/postgres/wal"
)

// Record opcodes (xl_info & 0xF0), nbtxlog.h.
const (
	InsertLeaf       uint8 = 0x00
	InsertUpper      uint8 = 0x10
	InsertMeta       uint8 = 0x20
	SplitL           uint8 = 0x30
	SplitR           uint8 = 0x40
	InsertPost       uint8 = 0x50
	Dedup            uint8 = 0x60
	Delete           uint8 = 0x70
	UnlinkPage       uint8 = 0x80
	UnlinkPageMeta   uint8 = 0x90
	NewRoot          uint8 = 0xA0
	MarkPageHalfDead uint8 = 0xB0
	Vacuum           uint8 = 0xC0
	ReusePage        uint8 = 0xD0
	MetaCleanup      uint8 = 0xE0
)

// BTPageOpaqueData flags.
const (
	FlagLeaf            uint16 = 1 << 0
	FlagRoot            uint16 = 1 << 1
	FlagDeleted         uint16 = 1 << 2
	FlagMeta            uint16 = 1 << 3
	FlagHalfDead        uint16 = 1 << 4
	FlagSplitEnd        uint16 = 1 << 5
	FlagHasGarbage      uint16 = 1 << 6
	FlagIncompleteSplit uint16 = 1 << 7
	FlagHasFullXid      uint16 = 1 << 8
)

const (
	opaqueSize = 16 // BTPageOpaqueData
	pNone      = 0  // P_NONE
	pHikey     = 1
	btreeMagic = 0x053162
	// maxPostingSize is BTMaxItemSize for an 8 KiB page, the limit redo
	// uses for rebuilt posting lists.
	maxPostingSize = ((blockSize - 56 - opaqueSize) / 3) &^ 7
)

// Redo applies the effect of Btree record rec on block reference blk (one
// of rec.Blocks) to pg, the page as it was before the record. Blocks the
// record initialises are rebuilt whatever pg holds.
func Redo(pg []byte, rec *wal.Record, blk *wal.BlockRef) error {
	if rec == nil || blk == nil {
		return fmt.Errorf("btree redo: nil record or block")
	}
	op := rec.Info & 0xF0
	if err := redo(pg, rec, blk, op); err != nil {
		return fmt.Errorf("btree %s block %d (blk %d): %w", OpName(op), blk.ID, blk.Blk, err)
	}
	return nil
}

func redo(pg []byte, rec *wal.Record, blk *wal.BlockRef, op uint8) error {
	if len(pg) != blockSize {
		return fmt.Errorf("page is %d bytes, want %d", len(pg), blockSize)
	}
	switch op {
	case InsertLeaf:
		return redoInsert(pg, rec, blk, true, false, false)
	case InsertUpper:
		return redoInsert(pg, rec, blk, false, false, false)
	case InsertMeta:
		return redoInsert(pg, rec, blk, false, true, false)
	case InsertPost:
		return redoInsert(pg, rec, blk, true, false, true)
	case SplitL:
		return redoSplit(pg, rec, blk, true)
	case SplitR:
		return redoSplit(pg, rec, blk, false)
	case Dedup:
		return redoDedup(pg, rec, blk)
	case Vacuum:
		return redoVacuum(pg, rec, blk, false)
	case Delete:
		return redoVacuum(pg, rec, blk, true)
	case MarkPageHalfDead:
		return redoMarkHalfDead(pg, rec, blk)
	case UnlinkPage, UnlinkPageMeta:
		return redoUnlink(pg, rec, blk, op == UnlinkPageMeta)
	case NewRoot:
		return redoNewRoot(pg, rec, blk)
	case ReusePage:
		// Only a recovery-conflict hint for hot standby; no page changes.
		return fmt.Errorf("record has no block references to replay")
	case MetaCleanup:
		if blk.ID != 0 {
			return errUnexpectedBlock
		}
		return restoreMeta(pg, blk.Data)
	}
	return fmt.Errorf("unknown btree opcode %#x", op)
}

var errUnexpectedBlock = fmt.Errorf("unexpected block reference for this record type")

// OpName names a Btree opcode the way pg_waldump does.
func OpName(op uint8) string {
	switch op & 0xF0 {
	case InsertLeaf:
		return "INSERT_LEAF"
	case InsertUpper:
		return "INSERT_UPPER"
	case InsertMeta:
		return "INSERT_META"
	case SplitL:
		return "SPLIT_L"
	case SplitR:
		return "SPLIT_R"
	case InsertPost:
		return "INSERT_POST"
	case Dedup:
		return "DEDUP"
	case Delete:
		return "DELETE"
	case UnlinkPage:
		return "UNLINK_PAGE"
	case UnlinkPageMeta:
		return "UNLINK_PAGE_META"
	case NewRoot:
		return "NEWROOT"
	case MarkPageHalfDead:
		return "MARK_PAGE_HALFDEAD"
	case Vacuum:
		return "VACUUM"
	case ReusePage:
		return "REUSE_PAGE"
	case MetaCleanup:
		return "META_CLEANUP"
	}
	return fmt.Sprintf("UNKNOWN(%#x)", op)
}

// opaque is a view of BTPageOpaqueData at the page's pd_special.
type opaque []byte

func btOpaque(pg []byte) (opaque, error) {
	sp := pgSpecial(pg)
	if sp < pageHeaderSize || sp+opaqueSize > blockSize {
		return nil, fmt.Errorf("btree special space at %d does not fit", sp)
	}
	return opaque(pg[sp : sp+opaqueSize]), nil
}

func (o opaque) prev() uint32          { return u32(o, 0) }
func (o opaque) next() uint32          { return u32(o, 4) }
func (o opaque) flags() uint16         { return u16(o, 12) }
func (o opaque) setPrev(v uint32)      { put32(o, 0, v) }
func (o opaque) setNext(v uint32)      { put32(o, 4, v) }
func (o opaque) setLevel(v uint32)     { put32(o, 8, v) }
func (o opaque) setFlags(v uint16)     { put16(o, 12, v) }
func (o opaque) setCycleID(v uint16)   { put16(o, 14, v) }
func (o opaque) rightmost() bool       { return o.next() == pNone }
func (o opaque) hasFlag(f uint16) bool { return o.flags()&f != 0 }

// firstDataKey is P_FIRSTDATAKEY: rightmost pages have no high key.
func (o opaque) firstDataKey() int {
	if o.rightmost() {
		return pHikey
	}
	return pHikey + 1
}

// pageInitBT is _bt_pageinit.
func pageInitBT(pg []byte) opaque {
	pageInit(pg, opaqueSize)
	return opaque(pg[blockSize-opaqueSize:])
}

// tempCopySpecial is PageGetTempPageCopySpecial.
func tempCopySpecial(pg []byte) ([]byte, error) {
	sp := pgSpecial(pg)
	if sp < pageHeaderSize || sp > blockSize {
		return nil, fmt.Errorf("special space at %d", sp)
	}
	tmp := make([]byte, blockSize)
	pageInit(tmp, blockSize-sp)
	tsp := pgSpecial(tmp)
	copy(tmp[tsp:], pg[sp:])
	return tmp, nil
}

// clearIncompleteSplit is _bt_clear_incomplete_split.
func clearIncompleteSplit(pg []byte) error {
	o, err := btOpaque(pg)
	if err != nil {
		return err
	}
	o.setFlags(o.flags() &^ FlagIncompleteSplit)
	return nil
}

// restoreMeta is _bt_restore_meta: rebuild the metapage from an
// xl_btree_metadata (version, root, level, fastroot, fastlevel,
// last_cleanup_num_delpages u32 each, then allequalimage bool).
func restoreMeta(pg []byte, data []byte) error {
	if len(data) < 25 {
		return fmt.Errorf("xl_btree_metadata is %d bytes, want 28", len(data))
	}
	o := pageInitBT(pg)
	const md = pageHeaderSize
	put32(pg, md, btreeMagic)
	copy(pg[md+4:md+28], data[0:24]) // version .. last_cleanup_num_delpages
	binary.LittleEndian.PutUint64(pg[md+32:], math.Float64bits(-1.0))
	pg[md+40] = data[24]
	o.setFlags(FlagMeta)
	put16(pg, offLower, md+48)
	return nil
}

// restorePage is _bt_restore_page: re-add the tuples of a copied
// [pd_upper, pd_special) area, which holds them in reverse item order.
func restorePage(pg []byte, data []byte) error {
	var items [][]byte
	for len(data) > 0 {
		t, rest, err := tupleFrom(data)
		if err != nil {
			return err
		}
		items = append(items, t)
		data = rest
	}
	n := len(items)
	for i := n - 1; i >= 0; i-- {
		if err := addItem(pg, items[i], n-i); err != nil {
			return fmt.Errorf("restore page item %d: %w", n-i, err)
		}
	}
	return nil
}

// mainData returns the record's main data, checking it has at least n bytes.
func mainData(rec *wal.Record, n int) ([]byte, error) {
	if len(rec.MainData) < n {
		return nil, fmt.Errorf("main data is %d bytes, want at least %d", len(rec.MainData), n)
	}
	return rec.MainData, nil
}

// u16s decodes n little-endian uint16 values from the front of data.
func u16s(data []byte, n int) ([]uint16, []byte, error) {
	if n < 0 || len(data) < 2*n {
		return nil, nil, fmt.Errorf("%d offsets do not fit in %d bytes", n, len(data))
	}
	v := make([]uint16, n)
	for i := range v {
		v[i] = u16(data, 2*i)
	}
	return v, data[2*n:], nil
}
