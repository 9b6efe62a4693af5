package wal

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// walWriter lays records out on WAL pages the way XLogInsert does, for tests
// that need WAL without a PostgreSQL server.
type walWriter struct {
	base  lsn.LSN // segment start of buf[0]
	buf   []byte
	pos   lsn.LSN
	tli   uint32
	prev  lsn.LSN
	sysid uint64
	lsns  []lsn.LSN // start of each record written
	ends  []lsn.LSN
}

func newWALWriter(base lsn.LSN) *walWriter {
	return &walWriter{base: base, pos: base, tli: 1, sysid: 7711762428195301147}
}

func (w *walWriter) grow(to lsn.LSN) {
	for lsn.LSN(len(w.buf))+w.base < to {
		w.buf = append(w.buf, make([]byte, walPageSize)...)
	}
}

func (w *walWriter) pageHeader(info uint16, rem uint32) {
	size := pageHdrSize
	if w.pos%segSize == 0 {
		size = longPageHdrSize
		info |= pageLongHeader
	}
	w.grow(w.pos + lsn.LSN(size))
	h := w.buf[w.pos-w.base:]
	binary.LittleEndian.PutUint16(h[0:], PageMagic)
	binary.LittleEndian.PutUint16(h[2:], info)
	binary.LittleEndian.PutUint32(h[4:], w.tli)
	binary.LittleEndian.PutUint64(h[8:], uint64(w.pos))
	binary.LittleEndian.PutUint32(h[16:], rem)
	if size == longPageHdrSize {
		binary.LittleEndian.PutUint64(h[24:], w.sysid)
		binary.LittleEndian.PutUint32(h[32:], segSize)
		binary.LittleEndian.PutUint32(h[36:], walPageSize)
	}
	w.pos += lsn.LSN(size)
}

// add writes a record given by buildRecord's arguments, fixing xl_prev and
// the CRC, and returns its start LSN.
func (w *walWriter) add(rec []byte) lsn.LSN {
	if w.pos%walPageSize == 0 {
		w.pageHeader(0, 0)
	}
	start := w.pos
	binary.LittleEndian.PutUint64(rec[8:], uint64(w.prev))
	fixCRC(rec)
	rest := rec
	for len(rest) > 0 {
		if w.pos%walPageSize == 0 {
			w.pageHeader(pageFirstIsCont, uint32(len(rest)))
		}
		n := min(len(rest), int(walPageSize-w.pos%walPageSize))
		w.grow(w.pos + lsn.LSN(n))
		copy(w.buf[w.pos-w.base:], rest[:n])
		rest = rest[n:]
		w.pos += lsn.LSN(n)
	}
	end := w.pos.Align()
	if rec[17] == RmXLOG && rec[16]&RmgrInfoMask == xlogSwitch {
		end = (w.pos + segSize - 1) / segSize * segSize
	}
	w.pos = end
	w.prev = start
	w.lsns = append(w.lsns, start)
	w.ends = append(w.ends, end)
	return start
}

// finish pads the WAL with zeros to the end of the current segment.
func (w *walWriter) finish() []byte {
	w.grow((w.pos + segSize - 1) / segSize * segSize)
	return w.buf
}

// writeSegments writes the WAL as segment files into a new directory.
func (w *walWriter) writeSegments(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	buf := w.finish()
	for off := 0; off < len(buf); off += segSize {
		seg := (w.base + lsn.LSN(off)).SegmentNumber()
		if err := os.WriteFile(filepath.Join(dir, SegmentFileName(w.tli, seg)), buf[off:off+segSize], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func fixCRC(rec []byte) {
	crc := crc32Update(0, rec[recordHdrSize:])
	crc = crc32Update(crc, rec[:20])
	binary.LittleEndian.PutUint32(rec[20:], crc)
}
