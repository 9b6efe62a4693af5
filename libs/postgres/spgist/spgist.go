// Package spgist replays PostgreSQL 15 SP-GiST WAL records (rmgr SPGist,
// id 16) onto 8 KiB pages, producing the bytes spgxlog.c produces.
//
// Redo works one block reference at a time: each block's change is computed
// from the record's main data, the block numbers of the other references and
// the page alone. Block roles per record type:
//
//	ADD_LEAF        0 leaf page (tuple added, or replaced in place), 1 parent
//	MOVE_LEAFS      0 source leaf page (tuples become redirect/placeholder),
//	                1 destination leaf page, 2 parent
//	ADD_NODE        0 page of the old inner tuple (replaced in place, or by a
//	                redirect when the new tuple went to block 1), 1 new page,
//	                2 parent (when neither 0 nor 1)
//	SPLIT_TUPLE     0 prefix tuple's page, 1 postfix tuple's page
//	PICKSPLIT       0 source leaf page, 1 destination leaf page, 2 page of the
//	                new inner tuple, 3 parent
//	VACUUM_LEAF     0 leaf page
//	VACUUM_ROOT     0 root leaf page
//	VACUUM_REDIRECT 0 page whose redirects become placeholders
//
// Redo does not set the page LSN: the dispatcher stamps rec.EndLSN (every
// spgxlog.c routine calls PageSetLSN on each page it changes). Pages are
// []byte of exactly 8192 bytes; every offset, length and count from the
// record is checked, and a bad one is an error, never a panic.
//
// Page layout (SpGistPageOpaqueData, 8-byte special space):
//
//	special+0 flags  (META 1, DELETED 2, LEAF 4, NULLS 8)
//	special+2 nRedirection
//	special+4 nPlaceholder
//	special+6 spgist_page_id (0xFF82)
//
// Tuples (little-endian bit fields in the first 32-bit word):
//
//	leaf  : word = tupstate(2) | size(30)<<2, t_info u16 (nextOffset in the low
//	        14 bits), heap TID (6 bytes), then data
//	dead  : same header, TID = redirect target, xid u32 at 12; 16 bytes
//	inner : word = tupstate(2) | allTheSame(1)<<2 | nNodes(13)<<3 |
//	        prefixSize(16)<<16, size u16 at 4, prefix at 8, then nNodes
//	        node tuples (IndexTupleData: downlink TID, t_info & 0x1FFF = size)
package spgist

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Record opcodes (xl_info & 0xF0), spgxlog.h.
const (
	AddLeaf        uint8 = 0x10
	MoveLeafs      uint8 = 0x20
	AddNode        uint8 = 0x30
	SplitTuple     uint8 = 0x40
	PickSplit      uint8 = 0x50
	VacuumLeaf     uint8 = 0x60
	VacuumRoot     uint8 = 0x70
	VacuumRedirect uint8 = 0x80
)

// Supported reports whether Redo handles records with xl_info info: every
// PG15 SP-GiST record type.
func Supported(info uint8) bool {
	op := info & wal.RmgrInfoMask
	return op >= AddLeaf && op <= VacuumRedirect && op&0x0F == 0
}

// Page flags and tuple states (spgist_private.h).
const (
	FlagMeta    uint16 = 1 << 0
	FlagDeleted uint16 = 1 << 1
	FlagLeaf    uint16 = 1 << 2
	FlagNulls   uint16 = 1 << 3

	PageID = 0xFF82

	StateLive        = 0
	StateRedirect    = 1
	StateDead        = 2
	StatePlaceholder = 3

	specialSize   = 8
	deadTupleSize = 16 // SGDTSIZE
	leafHdrSize   = 12 // sizeof(SpGistLeafTupleData) before MAXALIGN
	innerHdrSize  = 8  // SGITHDRSZ
	invalidBlock  = 0xFFFFFFFF
)

// state is spgxlogState: the inserting transaction and whether the index is
// being built (then deleted tuples become placeholders, not redirects).
type state struct {
	xid     uint32
	isBuild bool
}

func readState(b []byte) state {
	return state{xid: binary.LittleEndian.Uint32(b), isBuild: b[4] != 0}
}

// Redo applies block reference blk of SP-GiST record rec to pg (page.Size
// bytes), the page as it was before the record (zeroed for WILL_INIT).
func Redo(pg []byte, rec *wal.Record, blk *wal.BlockRef) error {
	if len(pg) != page.Size {
		return fmt.Errorf("spgist: page has %d bytes, want %d", len(pg), page.Size)
	}
	p := page.Page(pg)
	var err error
	switch op := rec.Info & wal.RmgrInfoMask; op {
	case AddLeaf:
		err = redoAddLeaf(p, rec, blk)
	case MoveLeafs:
		err = redoMoveLeafs(p, rec, blk)
	case AddNode:
		err = redoAddNode(p, rec, blk)
	case SplitTuple:
		err = redoSplitTuple(p, rec, blk)
	case PickSplit:
		err = redoPickSplit(p, rec, blk)
	case VacuumLeaf:
		err = redoVacuumLeaf(p, rec, blk)
	case VacuumRoot:
		err = redoVacuumRoot(p, rec, blk)
	case VacuumRedirect:
		err = redoVacuumRedirect(p, rec, blk)
	default:
		err = fmt.Errorf("unknown op code 0x%02X", op)
	}
	if err != nil {
		return fmt.Errorf("spgist %s block %d: %w", wal.OpName(rec.RmID, rec.Info), blk.ID, err)
	}
	return nil
}

// blockNumber returns the block number of block reference id of rec.
func blockNumber(rec *wal.Record, id uint8) (uint32, error) {
	b := rec.Block(id)
	if b == nil {
		return 0, fmt.Errorf("record has no block reference %d", id)
	}
	return b.Blk, nil
}

// reader walks main data with bounds checks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.b) {
		r.err = fmt.Errorf("main data has %d bytes, need %d at offset %d", len(r.b), n, r.off)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) offsets(n int) []page.OffsetNumber {
	s := r.take(2 * n)
	if s == nil {
		return nil
	}
	out := make([]page.OffsetNumber, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(s[2*i:])
	}
	return out
}

// leafTuple takes one unaligned leaf (or dead) tuple, sized by its header.
func (r *reader) leafTuple() []byte {
	if r.err != nil {
		return nil
	}
	if r.off+leafHdrSize > len(r.b) {
		r.err = fmt.Errorf("leaf tuple header at offset %d past the %d-byte main data", r.off, len(r.b))
		return nil
	}
	size := int(binary.LittleEndian.Uint32(r.b[r.off:]) >> 2)
	if size < leafHdrSize {
		r.err = fmt.Errorf("leaf tuple size %d below its header", size)
		return nil
	}
	return r.take(size)
}

// innerTuple takes one unaligned inner tuple, sized by its header.
func (r *reader) innerTuple() []byte {
	if r.err != nil {
		return nil
	}
	if r.off+innerHdrSize > len(r.b) {
		r.err = fmt.Errorf("inner tuple header at offset %d past the %d-byte main data", r.off, len(r.b))
		return nil
	}
	size := int(binary.LittleEndian.Uint16(r.b[r.off+4:]))
	if size < innerHdrSize {
		r.err = fmt.Errorf("inner tuple size %d below its header", size)
		return nil
	}
	return r.take(size)
}

func u16(b []byte, off int) page.OffsetNumber { return binary.LittleEndian.Uint16(b[off:]) }
