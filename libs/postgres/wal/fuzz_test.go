package wal

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
)

func decodeSeeds() [][]byte {
	img := bytes.Repeat([]byte{7}, 8192-300)
	return [][]byte{
		buildRecord(1, 0, 0, RmHeap, []testBlock{{id: 0, rel: testRel, blk: 1, data: []byte{1, 2}}}, []byte{3}, 0, 0),
		buildRecord(1, 0, 0xB0, RmXLOG, []testBlock{{id: 0, rel: testRel, blk: 1, image: img, imageInfo: ImageHasHole, holeOff: 30}}, nil, 0, 0),
		buildRecord(1, 0, 0x30, RmBtree, []testBlock{
			{id: 0, rel: testRel, blk: 1, data: []byte{1}},
			{id: 1, rel: testRel, sameRel: true, blk: 2, willInit: true},
			{id: 2, rel: testRel, blk: 3, image: []byte{0x01, 'a', 0x0d, 0x01}, imageInfo: ImageCompressPGLZ | ImageHasHole, holeOff: 10, holeLen: 8192 - 21},
		}, bytes.Repeat([]byte{9}, 300), 3, 44),
	}
}

// FuzzDecode: arbitrary record bytes give a Record or an *Error, never a
// panic, and restoring any image of a decoded record never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds() {
		f.Add(s)
	}
	page := make([]byte, BlockSize)
	f.Fuzz(func(t *testing.T, raw []byte) {
		rec, err := Decode(raw, 0x1000028, 0x1000100)
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		_ = rec.TypeName()
		for i := range rec.Blocks {
			if rec.Blocks[i].HasImage {
				_ = rec.Blocks[i].RestoreImage(page)
			}
		}
		c := rec.Clone()
		if len(c.Blocks) != len(rec.Blocks) || !bytes.Equal(c.MainData, rec.MainData) {
			t.Fatal("Clone differs")
		}
	})
}

// FuzzDecoder: arbitrary WAL bytes fed in two pieces give the same records
// and the same final error as fed in one piece, and never panic.
func FuzzDecoder(f *testing.F) {
	// Small inputs keep coverage-guided fuzzing fast: start at the last
	// record that begins on the first page, so the seed crosses one page
	// boundary (with a continued record) in about 2 KB.
	w := newWALWriter(lsn.LSN(segSize))
	for i := 0; i < 80; i++ {
		w.add(buildRecord(uint32(i), 0, 0, RmHeap, []testBlock{{id: 0, rel: testRel, blk: uint32(i), data: make([]byte, 10+i*7)}}, []byte{1, 2, 3}, 0, 0))
	}
	start := w.lsns[0]
	for _, l := range w.lsns {
		if l < lsn.LSN(segSize)+walPageSize {
			start = l
		}
	}
	from := int(start - w.base)
	seed := w.buf[from : from+2048]
	f.Add(seed, uint16(100))
	f.Add(seed[:300], uint16(20))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		run := func(pieces ...[]byte) (lsns []lsn.LSN, last error) {
			d := NewDecoder(start, DecoderOptions{})
			at := start
			for _, p := range pieces {
				if err := d.Feed(at, p); err != nil {
					return lsns, err
				}
				at += lsn.LSN(len(p))
				for {
					rec, err := d.Next()
					if err != nil {
						last = err
						break
					}
					lsns = append(lsns, rec.LSN)
				}
				if !errors.Is(last, ErrNeedData) {
					return lsns, last
				}
			}
			return lsns, last
		}
		s := min(int(split), len(data))
		a, errA := run(data)
		b, errB := run(data[:s], data[s:])
		if len(a) != len(b) {
			t.Fatalf("one piece gave %d records, two pieces %d", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("record %d at %s vs %s", i, a[i], b[i])
			}
		}
		if (errA == nil) != (errB == nil) || errA != nil && errB != nil && errA.Error() != errB.Error() {
			t.Fatalf("final errors differ: %v vs %v", errA, errB)
		}
	})
}
