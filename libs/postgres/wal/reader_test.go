package wal

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// synthWAL writes n records of assorted sizes (small, page-sized images and,
// if huge, one larger than a segment) plus an XLOG_SWITCH, and returns the
// writer.
func synthWAL(t testing.TB, seed uint64, n int, huge bool) *walWriter {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	w := newWALWriter(lsn.LSN(3 * segSize))
	for i := 0; i < n; i++ {
		var rec []byte
		switch k := rng.IntN(20); {
		case i == n/2:
			rec = buildRecord(0, 0, xlogSwitch, RmXLOG, nil, nil, 0, 0)
		case i == n/3 && huge:
			rec = buildRecord(uint32(i), 0, 0, RmLogicalMsg, nil, make([]byte, segSize+12345), 0, 0)
		case k < 3:
			img := make([]byte, 8192-rng.IntN(4000)-1)
			for j := range img {
				img[j] = byte(j * i)
			}
			rec = buildRecord(uint32(i), 0, 0xB0, RmXLOG, []testBlock{{id: 0, rel: testRel, blk: uint32(i), image: img,
				imageInfo: ImageHasHole | ImageApply, holeOff: 100}}, nil, 0, 0)
		default:
			data := make([]byte, 1+rng.IntN(300))
			rng.Shuffle(len(data), func(a, b int) {})
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			rec = buildRecord(uint32(i), 0, 0, RmHeap, []testBlock{{id: 0, rel: testRel, blk: uint32(i), data: data}},
				data[:rng.IntN(len(data))], 0, 0)
		}
		w.add(rec)
	}
	return w
}

func readAll(t testing.TB, r interface{ Next() (*Record, error) }) ([]*Record, error) {
	t.Helper()
	var out []*Record
	for {
		rec, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, rec.Clone())
	}
}

func TestReaderReadsSyntheticSegments(t *testing.T) {
	w := synthWAL(t, 1, 3000, true)
	split := 0
	for _, l := range w.lsns {
		if walPageSize-l%walPageSize < recordHdrSize {
			split++
		}
	}
	if split == 0 {
		t.Fatal("the synthetic WAL has no record header split across pages; change the seed")
	}
	dir := w.writeSegments(t)
	for _, chunk := range []int{0, 100, 8192, 3 << 20} {
		r, err := NewReader(dir, lsn.Invalid, ReaderOptions{ChunkSize: chunk})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := readAll(t, r)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("chunk %d: read ended with %v after %d records", chunk, err, len(recs))
		}
		if len(recs) != len(w.lsns) {
			t.Fatalf("chunk %d: read %d records, wrote %d", chunk, len(recs), len(w.lsns))
		}
		for i, rec := range recs {
			if rec.LSN != w.lsns[i] || rec.EndLSN != w.ends[i] {
				t.Fatalf("chunk %d: record %d at %s..%s, want %s..%s", chunk, i, rec.LSN, rec.EndLSN, w.lsns[i], w.ends[i])
			}
		}
		r.Close()
	}
}

func TestReaderStartsMidWAL(t *testing.T) {
	w := synthWAL(t, 2, 500, false)
	dir := w.writeSegments(t)
	i := 100
	r, err := NewReader(dir, w.lsns[i], ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, r)
	if len(recs) != len(w.lsns)-i || recs[0].LSN != w.lsns[i] {
		t.Fatalf("read %d records from %s", len(recs), w.lsns[i])
	}
	// Starting at a page boundary skips a continued record's tail.
	for j := 1; j < len(w.lsns); j++ {
		pageStart := w.lsns[j] / walPageSize * walPageSize
		if pageStart > w.lsns[j-1] && w.lsns[j]%walPageSize != pageHdrSize && w.lsns[j]%segSize != longPageHdrSize {
			r, err := NewReader(dir, pageStart, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := r.Next()
			if err != nil || rec.LSN != w.lsns[j] {
				t.Fatalf("start at %s: got %v, %v; want record at %s", pageStart, rec, err, w.lsns[j])
			}
			return
		}
	}
	t.Fatal("no page starting with a continuation found")
}

func TestDecoderGivesTheSameRecordsForAnySplit(t *testing.T) {
	w := synthWAL(t, 3, 800, true)
	buf := w.finish()
	rng := rand.New(rand.NewPCG(9, 9))
	for round := 0; round < 3; round++ {
		d := NewDecoder(w.base, DecoderOptions{})
		var got []*Record
		at := 0
		for at < len(buf) {
			n := 1 + rng.IntN(20000)
			if rng.IntN(4) == 0 {
				n = 1 + rng.IntN(30)
			}
			n = min(n, len(buf)-at)
			if err := d.Feed(w.base+lsn.LSN(at), buf[at:at+n]); err != nil {
				t.Fatal(err)
			}
			at += n
			for {
				rec, err := d.Next()
				if errors.Is(err, ErrNeedData) || errors.Is(err, ErrEndOfWAL) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, rec.Clone())
			}
		}
		if len(got) != len(w.lsns) {
			t.Fatalf("round %d: %d records, want %d", round, len(got), len(w.lsns))
		}
		for i := range got {
			if got[i].LSN != w.lsns[i] || got[i].EndLSN != w.ends[i] {
				t.Fatalf("round %d: record %d at %s, want %s", round, i, got[i].LSN, w.lsns[i])
			}
		}
	}
}

func TestDecoderRejectsBytesOutOfOrder(t *testing.T) {
	w := synthWAL(t, 4, 50, false)
	buf := w.finish()
	d := NewDecoder(w.base, DecoderOptions{})
	if err := d.Feed(w.base, buf[:1000]); err != nil {
		t.Fatal(err)
	}
	var we *Error
	if err := d.Feed(w.base+500, buf[500:2000]); !errors.As(err, &we) || we.Kind != KindBackwards {
		t.Errorf("overlapping feed: %v", err)
	}
	if err := d.Feed(w.base+2000, buf[2000:3000]); !errors.As(err, &we) || we.Kind != KindBackwards {
		t.Errorf("feed with a gap: %v", err)
	}
}

func TestCorruptWALGivesTypedErrorsNamingTheLSN(t *testing.T) {
	w := synthWAL(t, 5, 300, false)
	clean := append([]byte(nil), w.finish()...)
	target := 120
	recOff := int(w.lsns[target] - w.base)
	cases := []struct {
		name    string
		corrupt func(b []byte)
		kind    Kind
		at      lsn.LSN
	}{
		{"a flipped payload byte fails the CRC", func(b []byte) { b[recOff+recordHdrSize+2] ^= 0x40 }, KindCRC, w.lsns[target]},
		{"a wrong prev-link", func(b []byte) { b[recOff+8] ^= 0x08 }, KindPrevLink, w.lsns[target]},
		{"an impossible record length", func(b []byte) { b[recOff], b[recOff+1], b[recOff+2] = 3, 0, 0 }, KindLength, w.lsns[target]},
		{"a bad page magic", func(b []byte) {
			p := (recOff/walPageSize + 1) * walPageSize
			b[p] = 0x99
		}, KindPageHeader, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			buf := append([]byte(nil), clean...)
			tc.corrupt(buf)
			d := NewDecoder(w.base, DecoderOptions{})
			if err := d.Feed(w.base, buf); err != nil {
				t.Fatal(err)
			}
			var err error
			for err == nil {
				_, err = d.Next()
			}
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("got %v, want *Error", err)
			}
			if we.Kind != tc.kind || (tc.at != 0 && we.LSN != tc.at) {
				t.Errorf("got %v (kind %v), want kind %v at %s", we, we.Kind, tc.kind, tc.at)
			}
			if _, err2 := d.Next(); err2 != err {
				t.Errorf("error is not sticky: %v", err2)
			}
		})
	}
}

func TestSegmentFileNamesRoundTrip(t *testing.T) {
	name := SegmentFileName(1, 0x1_23)
	if name != "000000010000000100000023" {
		t.Fatalf("name %s", name)
	}
	tli, seg, ok := ParseSegmentFileName(name)
	if !ok || tli != 1 || seg != 0x123 {
		t.Fatalf("parse: %d %x %v", tli, seg, ok)
	}
	if _, _, ok := ParseSegmentFileName("000000010000000100000100"); ok {
		t.Error("accepted segment 0x100 of an xlogid")
	}
	_ = bytes.Equal
}

func TestReaderEndsAtATornRecordButNotAtCorruptionInTheMiddle(t *testing.T) {
	w := synthWAL(t, 6, 200, false)
	last := len(w.lsns) - 1
	buf := w.finish()
	cases := []struct {
		name    string
		rec     int
		wantEOF bool
	}{
		{"a torn last record is the end of the WAL", last, true},
		{"a corrupt record with WAL after it is an error", 50, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := append([]byte(nil), buf...)
			off := int(w.lsns[tc.rec]-w.base) + recordHdrSize + 1
			bad[off] ^= 0xFF
			ww := &walWriter{base: w.base, buf: bad, tli: w.tli}
			r, err := NewReader(ww.writeSegments(t), w.base, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := readAll(t, r)
			if tc.wantEOF {
				if !errors.Is(err, io.EOF) || len(recs) != tc.rec || r.TipError() == nil {
					t.Fatalf("got %d records, %v, tip error %v; want %d records and io.EOF", len(recs), err, r.TipError(), tc.rec)
				}
				return
			}
			var we *Error
			if !errors.As(err, &we) || we.LSN != w.lsns[tc.rec] || we.Kind != KindCRC {
				t.Fatalf("got %v after %d records, want a CRC error at %s", err, len(recs), w.lsns[tc.rec])
			}
		})
	}
}

func TestDecoderRestartsAtAnOverwriteContrecordPage(t *testing.T) {
	w := newWALWriter(lsn.LSN(segSize))
	for w.pos%walPageSize < walPageSize-200 || w.pos < lsn.LSN(segSize)+walPageSize {
		w.add(buildRecord(1, 0, 0, RmHeap, []testBlock{{id: 0, rel: testRel, blk: 1, data: make([]byte, 100)}}, nil, 0, 0))
	}
	lastGood, prev := len(w.lsns), w.prev
	// A record that crosses into the next page, whose rest a crash lost.
	w.add(buildRecord(2, 0, 0, RmHeap, []testBlock{{id: 0, rel: testRel, blk: 2, data: make([]byte, 1000)}}, nil, 0, 0))
	page := (w.lsns[lastGood] + walPageSize) / walPageSize * walPageSize
	w.buf = w.buf[:page-w.base]
	w.pos, w.prev = page, prev
	w.lsns, w.ends = w.lsns[:lastGood], w.ends[:lastGood]
	w.pageHeader(pageOverwrite, 0)
	w.add(buildRecord(0, 0, 0xD0, RmXLOG, nil, make([]byte, 16), 0, 0)) // XLOG_OVERWRITE_CONTRECORD
	w.add(buildRecord(3, 0, 0, RmHeap, []testBlock{{id: 0, rel: testRel, blk: 3, data: []byte{1}}}, nil, 0, 0))

	d := NewDecoder(w.base, DecoderOptions{})
	if err := d.Feed(w.base, w.finish()); err != nil {
		t.Fatal(err)
	}
	recs, err := readAll(t, d)
	if !errors.Is(err, ErrEndOfWAL) {
		t.Fatalf("read ended with %v", err)
	}
	if len(recs) != len(w.lsns) {
		t.Fatalf("read %d records, want %d", len(recs), len(w.lsns))
	}
	if got := recs[lastGood].TypeName(); got != "XLOG/OVERWRITE_CONTRECORD" || recs[lastGood].LSN != page+pageHdrSize {
		t.Errorf("record after the abandoned one is %s at %s", got, recs[lastGood].LSN)
	}
}

func TestDecoderRejectsWrongTimelineAndPageAddress(t *testing.T) {
	w := synthWAL(t, 7, 100, false)
	buf := w.finish()
	var we *Error
	d := NewDecoder(w.base, DecoderOptions{TLI: 2})
	if err := d.Feed(w.base, buf); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Next(); !errors.As(err, &we) || we.Kind != KindTimeline || we.LSN != w.base {
		t.Errorf("timeline 1 WAL read as timeline 2: %v", err)
	}
	// A continuation page with a wrong page address, in the middle of a record.
	for i, l := range w.lsns {
		if next := l/walPageSize*walPageSize + walPageSize; w.ends[i] > next {
			bad := append([]byte(nil), buf...)
			bad[next-w.base+8] ^= 0x01 // xlp_pageaddr
			d := NewDecoder(w.base, DecoderOptions{})
			if err := d.Feed(w.base, bad); err != nil {
				t.Fatal(err)
			}
			recs, err := readAll(t, d)
			if !errors.As(err, &we) || we.Kind != KindPageHeader || we.LSN != next || len(recs) != i {
				t.Errorf("bad page address inside the record at %s: %v after %d records", l, err, len(recs))
			}
			return
		}
	}
	t.Fatal("no record spans a page")
}
