// Package heaprec builds raw PostgreSQL 15 heap INSERT WAL records (with a
// valid CRC) for walredo-pool's tests and benchmarks: real records that the
// Go redo applies exactly as PostgreSQL would, without running PostgreSQL.
package heaprec

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/wal"
)

const (
	opInsert = 0x00 // XLOG_HEAP_INSERT
	opInit   = 0x80 // XLOG_HEAP_INIT_PAGE
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Insert returns the raw record of a heap INSERT of a two-column tuple with
// body as its data, at offset off of block blk of rel, by transaction xid.
// With init the record initializes the page (INSERT+INIT, block WILL_INIT;
// off must then be 1).
func Insert(rel key.RelTag, blk, xid uint32, off uint16, init bool, body []byte) []byte {
	info, flags := uint8(opInsert), rel.Fork|wal.BlockHasData
	if init {
		info |= opInit
		flags |= wal.BlockWillInit
	}
	// Block 0 data: xl_heap_header (t_infomask2 = 2 attributes, t_infomask =
	// HEAP_XMAX_INVALID|HEAP_HASVARWIDTH, t_hoff = 24), then the tuple from
	// offsetof(t_bits): one padding byte up to t_hoff, then the body.
	data := []byte{2, 0, 0x02, 0x08, 24, 0}
	data = append(data, body...)
	main := []byte{byte(off), byte(off >> 8), 0} // xl_heap_insert: offnum, flags

	out := make([]byte, 24, 24+20+2+len(data)+len(main))
	out = append(out, 0, flags)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(data)))
	out = binary.LittleEndian.AppendUint32(out, rel.SpcNode)
	out = binary.LittleEndian.AppendUint32(out, rel.DbNode)
	out = binary.LittleEndian.AppendUint32(out, rel.RelNode)
	out = binary.LittleEndian.AppendUint32(out, blk)
	out = append(out, 255, byte(len(main))) // XLR_BLOCK_ID_DATA_SHORT
	out = append(out, data...)
	out = append(out, main...)
	binary.LittleEndian.PutUint32(out[0:], uint32(len(out)))
	binary.LittleEndian.PutUint32(out[4:], xid)
	out[16], out[17] = info, wal.RmHeap
	crc := crc32.Update(0, castagnoli, out[24:])
	crc = crc32.Update(crc, castagnoli, out[:20])
	binary.LittleEndian.PutUint32(out[20:], crc)
	return out
}

// Chain returns n raw INSERT records that build block blk of rel from
// nothing (the first one initializes the page), with their end LSNs
// (ascending, 8-byte aligned, from start). n must fit a page: with 4-byte
// bodies up to 226 tuples do.
func Chain(rel key.RelTag, blk uint32, n int, start lsn.LSN) (raws [][]byte, lsns []lsn.LSN) {
	at := start
	for i := range n {
		body := binary.LittleEndian.AppendUint32(nil, uint32(i))
		r := Insert(rel, blk, 1000+uint32(i), uint16(i+1), i == 0, body)
		at = lsn.LSN((uint64(at) + uint64(len(r)) + 7) &^ 7)
		raws, lsns = append(raws, r), append(lsns, at)
	}
	return raws, lsns
}
