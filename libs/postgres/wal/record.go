// Package wal reads PostgreSQL 15 write-ahead log: it reassembles records from
// WAL pages and segments, checks their CRC-32C, and decodes them into block
// references, page images and main data.
//
// Three entry points share one format implementation:
//
//   - Decode turns the bytes of one whole record (header + payload, page
//     headers already stripped) into a Record. It does not check the CRC;
//     CheckCRC does.
//   - Decoder is an incremental stream decoder: Feed it WAL bytes at any
//     split (replication messages cut records, pages and segments
//     anywhere) and call Next for each complete record.
//   - Reader reads a pg_wal directory of 16 MiB segment files from a start
//     LSN until the end of WAL.
//
// The record layout (PG15, little-endian, no padding between parts):
//
//	XLogRecord (24 bytes)
//	  0 xl_tot_len u32   whole record, headers included
//	  4 xl_xid     u32
//	  8 xl_prev    u64   start LSN of the previous record
//	 16 xl_info    u8    high nibble: rmgr opcode; low nibble: XLR_* flags
//	 17 xl_rmid    u8
//	 18 padding    2
//	 20 xl_crc     u32   CRC-32C of [24, tot_len) then [0, 20)
//	block headers, for each block id in increasing order (0..32):
//	  id u8, fork_flags u8, data_length u16
//	  [image header: length u16, hole_offset u16, bimg_info u8
//	     [hole_length u16 if compressed and BKPIMAGE_HAS_HOLE]]   if HAS_IMAGE
//	  [RelFileNode: spc u32, db u32, rel u32]                     unless SAME_REL
//	  block number u32
//	[253 origin u16] [252 top-level xid u32]
//	[255 main data length u8 | 254 main data length u32]
//	payload: for each block: image bytes, then block data; then main data
//
// Ownership: a Record returned by Decode aliases the raw bytes given to it.
// Records returned by Decoder.Next and Reader.Next alias buffers the decoder
// reuses: they are valid until the next call to Next or Feed. Use
// Record.Clone to keep one longer.
package wal

import (
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// Resource manager ids, in the order of PostgreSQL 15's rmgrlist.h.
const (
	RmXLOG        uint8 = 0
	RmXact        uint8 = 1
	RmSmgr        uint8 = 2
	RmCLOG        uint8 = 3
	RmDbase       uint8 = 4
	RmTblspc      uint8 = 5
	RmMultiXact   uint8 = 6
	RmRelMap      uint8 = 7
	RmStandby     uint8 = 8
	RmHeap2       uint8 = 9
	RmHeap        uint8 = 10
	RmBtree       uint8 = 11
	RmHash        uint8 = 12
	RmGin         uint8 = 13
	RmGist        uint8 = 14
	RmSeq         uint8 = 15
	RmSPGist      uint8 = 16
	RmBRIN        uint8 = 17
	RmCommitTs    uint8 = 18
	RmReplOrigin  uint8 = 19
	RmGeneric     uint8 = 20
	RmLogicalMsg  uint8 = 21
	RmMaxBuiltin  uint8 = RmLogicalMsg
	rmMinCustomID uint8 = 128 // RM_MIN_CUSTOM_ID; custom rmgrs use 128..255
)

// xl_info bits.
const (
	// InfoMask selects the bits of xl_info that belong to xlog.c.
	InfoMask uint8 = 0x0F
	// RmgrInfoMask selects the rmgr's opcode bits of xl_info.
	RmgrInfoMask uint8 = 0xF0
	// InfoSpecialRelUpdate (XLR_SPECIAL_REL_UPDATE) marks records that change
	// relation files in ways not described by block references.
	InfoSpecialRelUpdate uint8 = 0x01
	// InfoCheckConsistency (XLR_CHECK_CONSISTENCY) marks records written with
	// wal_consistency_checking: every block carries a verification image.
	InfoCheckConsistency uint8 = 0x02
)

// Block header fork_flags bits.
const (
	BlockForkMask  uint8 = 0x0F
	BlockHasImage  uint8 = 0x10
	BlockHasData   uint8 = 0x20
	BlockWillInit  uint8 = 0x40
	BlockSameRel   uint8 = 0x80
	maxBlockID     uint8 = 32
	blockIDDataSh  uint8 = 255
	blockIDDataLg  uint8 = 254
	blockIDOrigin  uint8 = 253
	blockIDTopXid  uint8 = 252
	recordHdrSize        = 24
	maxRecordTotal       = 0x3fffffff // MaxAllocSize: larger records cannot be read by PostgreSQL
)

// Image bimg_info bits (PG15 values).
const (
	ImageHasHole      uint8 = 0x01
	ImageApply        uint8 = 0x02
	ImageCompressPGLZ uint8 = 0x04
	ImageCompressLZ4  uint8 = 0x08
	ImageCompressZstd uint8 = 0x10
	imageCompressed         = ImageCompressPGLZ | ImageCompressLZ4 | ImageCompressZstd
)

// BlockSize is the size of a relation page (BLCKSZ).
const BlockSize = 8192

// XLOG rmgr opcodes the reader itself needs.
const (
	xlogSwitch uint8 = 0x40
)

// Record is one decoded WAL record.
type Record struct {
	// LSN is the start of the record (PostgreSQL's ReadRecPtr).
	LSN lsn.LSN
	// EndLSN is PostgreSQL's EndRecPtr: the start of the next record,
	// MAXALIGNed, with page headers accounted for (for XLOG_SWITCH: the
	// start of the next segment). Redo stamps pages with it.
	EndLSN lsn.LSN
	TotLen uint32
	Xid    uint32
	Prev   lsn.LSN
	Info   uint8
	RmID   uint8
	// Blocks are the block references, in block-id order.
	Blocks   []BlockRef
	MainData []byte
	// TopLevelXid is the top-level xid of a subtransaction record; 0 if absent.
	TopLevelXid uint32
	// Origin is the replication origin; 0 if absent.
	Origin uint16
	// Raw is the whole record as PostgreSQL wrote it (header + payload, page
	// headers stripped). Decode(Raw, LSN, EndLSN) reproduces the Record.
	Raw []byte
}

// BlockRef is one block reference of a record.
type BlockRef struct {
	ID uint8
	// Rel is the relation fork the block belongs to.
	Rel key.RelTag
	Blk uint32
	// ForkFlags is the raw fork_flags byte of the block header.
	ForkFlags  uint8
	WillInit   bool
	HasData    bool
	HasImage   bool
	ApplyImage bool
	// ImageInfo is bimg_info; HoleOffset/HoleLength describe the hole that
	// was cut out of the page image.
	ImageInfo  uint8
	HoleOffset uint16
	HoleLength uint16
	// ImageData is the page image as stored (possibly compressed).
	ImageData []byte
	// Data is the block's rmgr-specific data.
	Data []byte
}

// Opcode returns the rmgr opcode bits of xl_info (xl_info & 0xF0).
func (r *Record) Opcode() uint8 { return r.Info & RmgrInfoMask }

// Block returns the block reference with the given id, or nil if absent.
func (r *Record) Block(id uint8) *BlockRef {
	for i := range r.Blocks {
		if r.Blocks[i].ID == id {
			return &r.Blocks[i]
		}
	}
	return nil
}

// IsSwitch reports whether the record is XLOG_SWITCH.
func (r *Record) IsSwitch() bool {
	return r.RmID == RmXLOG && r.Info&RmgrInfoMask == xlogSwitch
}

// Clone returns a deep copy of r that owns its memory.
func (r *Record) Clone() *Record {
	raw := append([]byte(nil), r.Raw...)
	c, err := Decode(raw, r.LSN, r.EndLSN)
	if err != nil {
		// r was decoded from these bytes, so this cannot fail; fall back to a
		// shallow copy with owned Raw rather than panicking.
		cp := *r
		cp.Raw = raw
		cp.Blocks = append([]BlockRef(nil), r.Blocks...)
		return &cp
	}
	return c
}
