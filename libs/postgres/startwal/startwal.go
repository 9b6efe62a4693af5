// Package startwal synthesizes the WAL a stock PostgreSQL 15 starts from: one
// 16 MiB segment holding a single shutdown checkpoint record.
//
// A data directory whose pg_control says "shut down" with its last checkpoint
// at location L, and whose pg_wal holds the segment containing a valid
// XLOG_CHECKPOINT_SHUTDOWN record at L with redo == L, starts without recovery:
// PostgreSQL reads that one record, then appends new WAL right after it.
//
// The segment looks like this (L in the middle of a page):
//
//	segment start                                   page of L
//	+--------------------+--------- zeros ---------+-------------+----------+--------+------ zeros
//	| long page header   |                         | page header | (fake    | record | ...
//	| 40 bytes           |                         | 24 bytes    |  contrec)| 114 B  |
//	+--------------------+-------------------------+-------------+----------+--------+------
//
// The header of L's page claims a continuation record that ends exactly at L
// (XLP_FIRST_IS_CONTRECORD with xlp_rem_len = bytes up to L), so tools that
// read the page from its start, like pg_waldump, skip to the checkpoint. The
// first page of the segment always carries a valid long header, because
// PostgreSQL validates it whenever it opens a segment.
//
// The record is placed at the first record boundary at or after the requested
// LSN where it fits in one page: all WAL PostgreSQL writes afterwards is past
// every page LSN of the data directory, which is what a start needs.
package startwal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/controlfile"
)

const (
	pageMagic       = 0xD110 // XLOG_PAGE_MAGIC of PostgreSQL 15
	shortHeaderSize = 24     // SizeOfXLogShortPHD
	longHeaderSize  = 40     // SizeOfXLogLongPHD
	recordHeaderLen = 24     // SizeOfXLogRecord
	dataShort       = 255    // XLR_BLOCK_ID_DATA_SHORT
	// RecordSize is the length of the checkpoint record (xl_tot_len).
	RecordSize = recordHeaderLen + 2 + controlfile.CheckPointSize

	xlpFirstIsContRecord = 0x0001
	xlpLongHeader        = 0x0002
	xlogCheckpointShut   = 0x00
	rmXLOG               = 0
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Segment is a synthesized WAL segment file.
type Segment struct {
	// Name is the file name in pg_wal (TTTTTTTTXXXXXXXXYYYYYYYY).
	Name string
	// Data is the 16 MiB file content.
	Data []byte
	// CheckpointLSN is where the checkpoint record starts: pg_control's
	// checkpoint location and the checkpoint's redo pointer.
	CheckpointLSN lsn.LSN
	// EndLSN is where PostgreSQL writes its next record.
	EndLSN lsn.LSN
	// CheckPoint is the record's payload, with Redo set to CheckpointLSN.
	CheckPoint controlfile.CheckPoint
}

// Build returns the segment holding a shutdown checkpoint record at the first
// place at or after `at` where it fits in one page. cp supplies the control
// values (next xid, oid, multixact, oldest xid, timeline, time); its Redo is
// replaced by the chosen location. prev is the start of the record before
// `at`, written as xl_prev (PostgreSQL does not check it for the first
// record; Invalid is allowed). sysid is the cluster's system identifier.
func Build(sysid uint64, at, prev lsn.LSN, cp controlfile.CheckPoint) (Segment, error) {
	if cp.ThisTimeLineID == 0 {
		return Segment{}, fmt.Errorf("startwal: checkpoint has timeline 0")
	}
	loc := Place(at)
	cp.Redo = loc
	seg := make([]byte, lsn.SegmentSize)
	segStart := loc - lsn.LSN(loc.SegmentOffset())
	tli := cp.ThisTimeLineID

	putPageHeader(seg[0:], xlpLongHeader, tli, segStart, 0)
	putLongFields(seg[shortHeaderSize:], sysid)

	pageStart := loc - lsn.LSN(loc.BlockOffset())
	pageOff := int(pageStart - segStart)
	hdrSize := shortHeaderSize
	if pageOff == 0 {
		hdrSize = longHeaderSize
	}
	if inPage := int(loc.BlockOffset()); inPage > hdrSize {
		info := uint16(xlpFirstIsContRecord)
		if pageOff == 0 {
			info |= xlpLongHeader
		}
		putPageHeader(seg[pageOff:], info, tli, pageStart, uint32(inPage-hdrSize))
	} else if pageOff != 0 {
		putPageHeader(seg[pageOff:], 0, tli, pageStart, 0)
	}

	rec := encodeRecord(prev, cp)
	recOff := int(loc.SegmentOffset())
	copy(seg[recOff:], rec)
	return Segment{
		Name:          SegmentName(tli, loc),
		Data:          seg,
		CheckpointLSN: loc,
		EndLSN:        (loc + RecordSize).Align(),
		CheckPoint:    cp,
	}, nil
}

// Place returns where Build puts a checkpoint record requested at `at`: the
// next record boundary, moved past a page header, and moved to the next page
// when the record would not fit in the rest of the current one.
func Place(at lsn.LSN) lsn.LSN {
	loc := at.Align()
	for {
		hdr := lsn.LSN(shortHeaderSize)
		if loc.SegmentOffset() < lsn.XLogBlockSize {
			hdr = longHeaderSize
		}
		off := lsn.LSN(loc.BlockOffset())
		if off < hdr {
			loc += hdr - off
		}
		if loc.BlockOffset()+RecordSize <= lsn.XLogBlockSize {
			return loc
		}
		loc += lsn.LSN(lsn.XLogBlockSize - loc.BlockOffset())
	}
}

// SegmentName is the pg_wal file name of the segment holding l on timeline tli.
func SegmentName(tli uint32, l lsn.LSN) string {
	segno := l.SegmentNumber()
	const segsPerXLogID = 0x100000000 / lsn.SegmentSize
	return fmt.Sprintf("%08X%08X%08X", tli, segno/segsPerXLogID, segno%segsPerXLogID)
}

func putPageHeader(b []byte, info uint16, tli uint32, pageAddr lsn.LSN, remLen uint32) {
	le := binary.LittleEndian
	le.PutUint16(b[0:], pageMagic)
	le.PutUint16(b[2:], info)
	le.PutUint32(b[4:], tli)
	le.PutUint64(b[8:], uint64(pageAddr))
	le.PutUint32(b[16:], remLen)
}

func putLongFields(b []byte, sysid uint64) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], sysid)
	le.PutUint32(b[8:], lsn.SegmentSize)
	le.PutUint32(b[12:], lsn.XLogBlockSize)
}

// encodeRecord builds the XLOG_CHECKPOINT_SHUTDOWN record: the 24-byte
// XLogRecord header, a short main-data header and the CheckPoint struct. The
// CRC-32C covers the payload first and then the header up to xl_crc.
func encodeRecord(prev lsn.LSN, cp controlfile.CheckPoint) []byte {
	le := binary.LittleEndian
	r := make([]byte, RecordSize)
	le.PutUint32(r[0:], RecordSize)
	le.PutUint32(r[4:], 0) // xl_xid
	le.PutUint64(r[8:], uint64(prev))
	r[16] = xlogCheckpointShut
	r[17] = rmXLOG
	r[24] = dataShort
	r[25] = controlfile.CheckPointSize
	copy(r[26:], cp.Encode())
	crc := crc32.Checksum(r[recordHeaderLen:], castagnoli)
	crc = crc32.Update(crc, castagnoli, r[:20])
	le.PutUint32(r[20:], crc)
	return r
}
