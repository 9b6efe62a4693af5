package wal

import (
	"encoding/binary"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// WAL page header layout (XLogPageHeaderData, 24 bytes; the first page of a
// segment has XLogLongPageHeaderData, 40 bytes):
//
//	 0 xlp_magic    u16   0xD110 for PostgreSQL 15
//	 2 xlp_info     u16   XLP_* flags
//	 4 xlp_tli      u32   timeline of the page
//	 8 xlp_pageaddr u64   LSN of the page start
//	16 xlp_rem_len  u32   bytes of a continued record still to come
//	20 padding
//	long header only:
//	24 xlp_sysid        u64
//	32 xlp_seg_size     u32
//	36 xlp_xlog_blcksz  u32
const (
	// PageMagic is XLOG_PAGE_MAGIC of PostgreSQL 15.
	PageMagic        uint16 = 0xD110
	pageHdrSize             = 24
	longPageHdrSize         = 40
	pageFirstIsCont  uint16 = 0x0001 // XLP_FIRST_IS_CONTRECORD
	pageLongHeader   uint16 = 0x0002 // XLP_LONG_HEADER
	pageBkpRemovable uint16 = 0x0004 // XLP_BKP_REMOVABLE
	pageOverwrite    uint16 = 0x0008 // XLP_FIRST_IS_OVERWRITE_CONTRECORD
	pageAllFlags     uint16 = 0x000F
	walPageSize             = lsn.XLogBlockSize
	segSize                 = lsn.SegmentSize
)

// DecoderOptions configure a Decoder. The zero value accepts any timeline and
// system id (but timelines may not go backwards, and the system id may not
// change).
type DecoderOptions struct {
	// TLI, if non-zero, is the only timeline whose pages are accepted.
	TLI uint32
	// SystemID, if non-zero, is the only system identifier accepted in long
	// page headers.
	SystemID uint64
}

// Decoder reassembles records from WAL bytes fed in order, split anywhere.
//
//	d := wal.NewDecoder(start, wal.DecoderOptions{})
//	d.Feed(msg.WALStart, msg.WALData)
//	for {
//		rec, err := d.Next()
//		if errors.Is(err, wal.ErrNeedData) { break } // feed more
//		...
//	}
//
// If start is a page boundary and the page begins with the tail of an
// earlier record, that tail is skipped. Otherwise start must be the start of
// a record.
//
// A Decoder is not safe for concurrent use. The Record returned by Next and
// its slices are valid until the next call to Next or Feed.
type Decoder struct {
	opts DecoderOptions

	buf    []byte  // buffered input; buf[off:] starts at pos (when pos <= fedEnd)
	off    int     //
	pos    lsn.LSN // next WAL byte to interpret
	fedEnd lsn.LSN // LSN after the last byte fed
	fedAny bool

	atStart  bool   // no page or record seen yet: a continuation may be skipped
	skipping bool   // skipping the tail of a record that began before start
	skip     uint32 // bytes of that tail still to skip

	inRec      bool
	hdrChecked bool
	rec        []byte // bytes of the record being assembled (reused)
	totLen     uint32
	recLSN     lsn.LSN
	prevLSN    lsn.LSN // start of the previous record; Invalid before the first
	lastTLI    uint32
	sysID      uint64

	out Record
	err error // sticky error: a corrupt stream stays corrupt
}

// NewDecoder returns a Decoder that starts interpreting WAL at start.
func NewDecoder(start lsn.LSN, opts DecoderOptions) *Decoder {
	return &Decoder{opts: opts, pos: start, fedEnd: start, atStart: true, sysID: opts.SystemID}
}

// Position returns the LSN of the next WAL byte the decoder will interpret.
// After a record it is that record's EndLSN.
func (d *Decoder) Position() lsn.LSN { return d.pos }

// NextFeedLSN returns the LSN at which the next Feed should start: the end of
// the bytes fed so far, or a later position if the decoder skipped ahead
// (padding after XLOG_SWITCH).
func (d *Decoder) NextFeedLSN() lsn.LSN { return max(d.fedEnd, d.pos) }

// Feed appends WAL bytes that start at LSN start. start must continue the
// bytes fed before (or, before the first Feed, be at or before the decoder's
// start position; after a skip, anywhere up to Position). Feed copies data.
func (d *Decoder) Feed(start lsn.LSN, data []byte) error {
	if d.err != nil {
		return d.err
	}
	end := start + lsn.LSN(len(data))
	switch {
	case !d.fedAny && start <= d.pos:
	case start == d.fedEnd:
	case start > d.fedEnd && start <= d.pos:
	case start < d.fedEnd:
		return errorf(start, KindBackwards, "WAL bytes fed for %s, before %s where the previous bytes ended", start, d.fedEnd)
	default:
		return errorf(start, KindBackwards, "WAL bytes fed for %s leave a gap after %s", start, d.NextFeedLSN())
	}
	if !d.fedAny || end > d.fedEnd {
		d.fedEnd = end // the first bytes may end before the start position
	}
	d.fedAny = true
	if start < d.pos {
		if end <= d.pos {
			return nil
		}
		data = data[d.pos-start:]
	}
	if d.off == len(d.buf) {
		d.buf, d.off = d.buf[:0], 0
	} else if d.off > 0 && d.off >= len(d.buf)/2 {
		n := copy(d.buf, d.buf[d.off:])
		d.buf, d.off = d.buf[:n], 0
	}
	d.buf = append(d.buf, data...)
	return nil
}

// Next returns the next complete record. It returns ErrNeedData when the
// bytes fed so far hold no further record, ErrEndOfWAL at the end of the WAL
// (zero record length, or a zero or recycled page where a new page should
// start), and an *Error for malformed WAL; malformed WAL is sticky.
func (d *Decoder) Next() (*Record, error) {
	if d.err != nil {
		return nil, d.err
	}
	rec, err := d.next()
	if err != nil && err != ErrNeedData && err != ErrEndOfWAL {
		d.err = err // only *Error values come here
	}
	return rec, err
}

func (d *Decoder) avail() int {
	if d.pos > d.fedEnd {
		return 0
	}
	return len(d.buf) - d.off
}

func (d *Decoder) consume(n int) {
	d.off += n
	d.pos += lsn.LSN(n)
}

// advanceTo moves the position forward to p, dropping buffered bytes.
func (d *Decoder) advanceTo(p lsn.LSN) {
	if gap := int(p - d.pos); gap <= d.avail() {
		d.consume(gap)
		return
	}
	d.off = len(d.buf)
	d.pos = p
}

func (d *Decoder) next() (*Record, error) {
	for {
		avail := d.avail()
		if d.pos%walPageSize == 0 {
			if err := d.readPageHeader(avail); err != nil {
				return nil, err
			}
			continue
		}
		pageLeft := int(walPageSize - d.pos%walPageSize)
		if d.skipping {
			n := min(int(d.skip), pageLeft, avail)
			if n == 0 {
				return nil, ErrNeedData
			}
			d.consume(n)
			d.skip -= uint32(n)
			if d.skip == 0 {
				d.skipping = false
				d.advanceTo(d.pos.Align())
			}
			continue
		}
		if !d.inRec {
			if avail < 4 {
				return nil, ErrNeedData
			}
			tot := binary.LittleEndian.Uint32(d.buf[d.off:])
			if tot == 0 {
				return nil, ErrEndOfWAL
			}
			if tot < recordHdrSize || tot > maxRecordTotal {
				return nil, errorf(d.pos, KindLength, "invalid record length %d", tot)
			}
			d.inRec, d.hdrChecked = true, false
			d.recLSN, d.totLen, d.rec = d.pos, tot, d.rec[:0]
			d.atStart = false
		}
		n := min(int(d.totLen)-len(d.rec), pageLeft, avail)
		if n == 0 {
			return nil, ErrNeedData
		}
		d.rec = append(d.rec, d.buf[d.off:d.off+n]...)
		d.consume(n)
		if !d.hdrChecked && len(d.rec) >= recordHdrSize {
			if err := d.checkRecordHeader(); err != nil {
				return nil, err
			}
			d.hdrChecked = true
		}
		if len(d.rec) < int(d.totLen) {
			continue
		}
		// Complete.
		d.inRec = false
		if err := CheckCRC(d.rec, d.recLSN); err != nil {
			return nil, err
		}
		end := d.pos.Align()
		if d.rec[17] == RmXLOG && d.rec[16]&RmgrInfoMask == xlogSwitch {
			end = (d.pos + segSize - 1) / segSize * segSize
		}
		if err := DecodeInto(&d.out, d.rec, d.recLSN, end); err != nil {
			return nil, err
		}
		d.prevLSN = d.recLSN
		d.advanceTo(end)
		return &d.out, nil
	}
}

func (d *Decoder) checkRecordHeader() error {
	rmid := d.rec[17]
	if rmid > RmMaxBuiltin && rmid < rmMinCustomID {
		return errorf(d.recLSN, KindRmgr, "invalid resource manager ID %d", rmid)
	}
	prev := lsn.LSN(binary.LittleEndian.Uint64(d.rec[8:16]))
	if d.prevLSN.IsValid() {
		if prev != d.prevLSN {
			return errorf(d.recLSN, KindPrevLink, "record with incorrect prev-link %s, previous record is at %s", prev, d.prevLSN)
		}
	} else if prev >= d.recLSN {
		return errorf(d.recLSN, KindPrevLink, "record with incorrect prev-link %s", prev)
	}
	return nil
}

// readPageHeader validates and consumes the header of the page starting at
// d.pos, and sets up continuation state.
func (d *Decoder) readPageHeader(avail int) error {
	size := pageHdrSize
	if d.pos%segSize == 0 {
		size = longPageHdrSize
	}
	if avail < size {
		return ErrNeedData
	}
	h := d.buf[d.off : d.off+size]
	magic := binary.LittleEndian.Uint16(h[0:])
	info := binary.LittleEndian.Uint16(h[2:])
	tli := binary.LittleEndian.Uint32(h[4:])
	addr := lsn.LSN(binary.LittleEndian.Uint64(h[8:]))
	rem := binary.LittleEndian.Uint32(h[16:])
	newRecord := !d.inRec && !d.skipping
	if magic != PageMagic {
		if newRecord && magic == 0 && addr == 0 {
			return ErrEndOfWAL
		}
		return errorf(d.pos, KindPageHeader, "invalid magic number %04X in WAL page", magic)
	}
	if info&^pageAllFlags != 0 {
		return errorf(d.pos, KindPageHeader, "invalid info bits %04X in WAL page", info)
	}
	if addr != d.pos {
		switch {
		case newRecord:
			return ErrEndOfWAL // a recycled segment: WAL ends here
		case d.inRec:
			return errorf(d.pos, KindPageHeader, "unexpected pageaddr %s in WAL page (continuing the record at %s)", addr, d.recLSN)
		}
		return errorf(d.pos, KindPageHeader, "unexpected pageaddr %s in WAL page", addr)
	}
	if size == longPageHdrSize {
		if info&pageLongHeader == 0 {
			return errorf(d.pos, KindPageHeader, "WAL segment starts without a long page header (info %04X)", info)
		}
		sysid := binary.LittleEndian.Uint64(h[24:])
		if d.sysID == 0 {
			d.sysID = sysid
		} else if sysid != d.sysID {
			return errorf(d.pos, KindPageHeader, "WAL file is from a different database system: system id %d, expected %d", sysid, d.sysID)
		}
		if ss := binary.LittleEndian.Uint32(h[32:]); ss != segSize {
			return errorf(d.pos, KindPageHeader, "WAL segment size %d in page header, expected %d", ss, segSize)
		}
		if bs := binary.LittleEndian.Uint32(h[36:]); bs != walPageSize {
			return errorf(d.pos, KindPageHeader, "WAL page size %d in page header, expected %d", bs, walPageSize)
		}
	} else if info&pageLongHeader != 0 {
		return errorf(d.pos, KindPageHeader, "long page header in the middle of a segment")
	}
	if d.opts.TLI != 0 && tli != d.opts.TLI {
		return errorf(d.pos, KindTimeline, "WAL page has timeline %d, expected %d", tli, d.opts.TLI)
	}
	if tli < d.lastTLI {
		return errorf(d.pos, KindTimeline, "out-of-sequence timeline ID %d (after %d)", tli, d.lastTLI)
	}
	d.lastTLI = tli
	d.consume(size)

	switch {
	case d.inRec && info&pageOverwrite != 0:
		// The record in progress was abandoned by a crash; PostgreSQL
		// wrote XLOG_OVERWRITE_CONTRECORD here instead. Start afresh.
		d.inRec = false
	case d.inRec:
		want := d.totLen - uint32(len(d.rec))
		if info&pageFirstIsCont == 0 {
			return errorf(d.recLSN, KindPageHeader, "there is no contrecord flag at %s", d.pos-lsn.LSN(size))
		}
		if rem == 0 || rem != want {
			return errorf(d.recLSN, KindPageHeader, "invalid contrecord length %d at %s, %d bytes of the record remain", rem, d.pos-lsn.LSN(size), want)
		}
	case d.skipping:
		if info&pageFirstIsCont == 0 || rem == 0 {
			return errorf(d.pos, KindPageHeader, "there is no contrecord flag while skipping a partial record")
		}
		d.skip = rem
	case info&pageFirstIsCont != 0:
		if !d.atStart {
			return errorf(d.pos, KindPageHeader, "contrecord is requested but a new record should start")
		}
		d.skipping, d.skip = true, rem
		if rem == 0 {
			d.skipping = false
		}
	}
	d.atStart = false
	return nil
}
