package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// SegmentFileName returns the name of the segment file holding segment
// number segno on timeline tli: TTTTTTTTXXXXXXXXYYYYYYYY (timeline, then
// segno / 256 and segno % 256 for 16 MiB segments, all upper-case hex).
func SegmentFileName(tli uint32, segno uint64) string {
	const segsPerID = 0x100000000 / segSize
	return fmt.Sprintf("%08X%08X%08X", tli, segno/segsPerID, segno%segsPerID)
}

// ParseSegmentFileName parses a segment file name.
func ParseSegmentFileName(name string) (tli uint32, segno uint64, ok bool) {
	if len(name) != 24 {
		return 0, 0, false
	}
	t, err1 := strconv.ParseUint(name[0:8], 16, 32)
	hi, err2 := strconv.ParseUint(name[8:16], 16, 32)
	lo, err3 := strconv.ParseUint(name[16:24], 16, 32)
	const segsPerID = 0x100000000 / segSize
	if err1 != nil || err2 != nil || err3 != nil || lo >= segsPerID {
		return 0, 0, false
	}
	return uint32(t), hi*segsPerID + lo, true
}

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	// TLI selects the timeline of the segment files. Zero picks, for each
	// segment, the highest timeline present in the directory.
	TLI uint32
	// ChunkSize is how many bytes are read from a segment file at a time;
	// zero means 1 MiB.
	ChunkSize int
}

// Reader reads records from a directory of WAL segment files (pg_wal).
// Next returns io.EOF at the end of the WAL: a missing segment file, the end
// of a partial segment file, a zero record length, a recycled or zero page,
// or malformed WAL at the tip (a record torn by a crash: no valid WAL page
// follows it in its segment or starts the next one; TipError then returns
// the *Error). Malformed WAL that valid WAL follows is returned as an *Error.
// A Reader is not safe for concurrent use; a returned Record is valid until
// the next call to Next.
type Reader struct {
	dir   string
	opts  ReaderOptions
	dec   *Decoder
	chunk []byte

	file    *os.File
	fileSeg uint64
	fileEOF bool // file ended before its segment end
	names   map[uint64]string
	tipErr  error
}

// TipError returns the malformed-WAL error that ended reading at the tip of
// the WAL (see Reader), or nil.
func (r *Reader) TipError() error { return r.tipErr }

// NewReader opens the WAL in dir for reading from start. If start is
// lsn.Invalid, reading begins at the first segment in dir.
func NewReader(dir string, start lsn.LSN, opts ReaderOptions) (*Reader, error) {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 1 << 20
	}
	r := &Reader{dir: dir, opts: opts, chunk: make([]byte, opts.ChunkSize)}
	if err := r.scan(); err != nil {
		return nil, err
	}
	if !start.IsValid() {
		if len(r.names) == 0 {
			return nil, fmt.Errorf("open WAL in %s: no segment files", dir)
		}
		first := ^uint64(0)
		for s := range r.names {
			first = min(first, s)
		}
		start = lsn.LSN(first * segSize)
	}
	r.dec = NewDecoder(start, DecoderOptions{TLI: opts.TLI})
	return r, nil
}

// scan lists the segment files of the directory.
func (r *Reader) scan() error {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return fmt.Errorf("open WAL directory: %w", err)
	}
	r.names = map[uint64]string{}
	tlis := map[uint64]uint32{}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		tli, seg, ok := ParseSegmentFileName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if r.opts.TLI != 0 && tli != r.opts.TLI {
			continue
		}
		if old, ok := tlis[seg]; !ok || tli > old {
			tlis[seg] = tli
			r.names[seg] = e.Name()
		}
	}
	return nil
}

// Position returns the LSN the reader will interpret next; after a record,
// its EndLSN.
func (r *Reader) Position() lsn.LSN { return r.dec.Position() }

// Next returns the next record, io.EOF at the end of the WAL, or an error.
func (r *Reader) Next() (*Record, error) {
	for {
		rec, err := r.dec.Next()
		switch {
		case err == nil:
			return rec, nil
		case errors.Is(err, ErrEndOfWAL):
			return nil, io.EOF
		case !errors.Is(err, ErrNeedData):
			var we *Error
			if errors.As(err, &we) && !r.walContinuesAfter(r.dec.Position()) {
				r.tipErr = err
				return nil, io.EOF
			}
			return nil, err
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// fill feeds the decoder the next chunk of WAL, or returns io.EOF.
func (r *Reader) fill() error {
	at := r.dec.NextFeedLSN()
	seg := at.SegmentNumber()
	if r.file == nil || r.fileSeg != seg {
		if err := r.open(seg); err != nil {
			return err
		}
	}
	if r.fileEOF {
		return io.EOF
	}
	off := int64(at.SegmentOffset())
	n := min(len(r.chunk), int(segSize-off))
	got, err := r.file.ReadAt(r.chunk[:n], off)
	if got < n {
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read WAL segment %s: %w", r.names[seg], err)
		}
		r.fileEOF = true
		if got == 0 {
			return io.EOF
		}
	}
	return r.dec.Feed(at, r.chunk[:got])
}

func (r *Reader) open(seg uint64) error {
	r.Close()
	name, ok := r.names[seg]
	if !ok {
		if err := r.scan(); err != nil { // the directory may have grown
			return err
		}
		if name, ok = r.names[seg]; !ok {
			return io.EOF
		}
	}
	f, err := os.Open(filepath.Join(r.dir, name))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return io.EOF
		}
		return fmt.Errorf("open WAL segment: %w", err)
	}
	r.file, r.fileSeg, r.fileEOF = f, seg, false
	return nil
}

// Close releases the open segment file. The Reader may be used again.
func (r *Reader) Close() error {
	if r.file == nil {
		return nil
	}
	err := r.file.Close()
	r.file = nil
	return err
}

// walContinuesAfter reports whether a valid WAL page header (right magic and
// page address) exists on a page after the one holding at, in at's segment
// or at the start of the next segment: then WAL was written after at.
func (r *Reader) walContinuesAfter(at lsn.LSN) bool {
	seg := at.SegmentNumber()
	hdr := make([]byte, pageHdrSize)
	valid := func(f *os.File, page lsn.LSN) bool {
		n, _ := f.ReadAt(hdr, int64(page.SegmentOffset()))
		return n == len(hdr) && binary.LittleEndian.Uint16(hdr) == PageMagic &&
			lsn.LSN(binary.LittleEndian.Uint64(hdr[8:])) == page
	}
	if name, ok := r.names[seg]; ok {
		if f, err := os.Open(filepath.Join(r.dir, name)); err == nil {
			defer f.Close()
			for page := at/walPageSize*walPageSize + walPageSize; page.SegmentNumber() == seg; page += walPageSize {
				if valid(f, page) {
					return true
				}
			}
		}
	}
	if name, ok := r.names[seg+1]; ok {
		if f, err := os.Open(filepath.Join(r.dir, name)); err == nil {
			defer f.Close()
			return valid(f, lsn.LSN((seg+1)*segSize))
		}
	}
	return false
}
