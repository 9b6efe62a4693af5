package layer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// The file format is described in docs/format/layers.md; this file holds its
// constants and the encoding of the fixed parts.
//
//	+----------+--------------+--------+--------------+--------+-----+-------+---------+
//	| preamble | blobs of     | leaf 0 | blobs of     | leaf 1 | ... | fence | summary |
//	| 8 bytes  | leaf 0       |        | leaf 1       |        |     |       | 128 B   |
//	+----------+--------------+--------+--------------+--------+-----+-------+---------+

// ErrCorrupt is wrapped by every error that reports a checksum mismatch or a
// malformed layer file. Readers never return data from a part of a file that
// failed its check.
var ErrCorrupt = errors.New("layer file corrupt")

const (
	formatVersion = 1

	preambleSize = 8
	summarySize  = 128

	// maxLeafEntries is the number of index entries per leaf block.
	maxLeafEntries = 128
	// refSize is the size of a blob reference in a leaf entry: offset u48 LE,
	// then size u32 LE whose top bit is will_init.
	refSize = 10
	// fenceRefSize follows the first key of each leaf in the fence: offset
	// u64 LE, length u32 LE.
	fenceRefSize = 12
	crcSize      = 4

	// maxBlobSize bounds one value's encoding (the top bit of the size field
	// is will_init).
	maxBlobSize = 1<<31 - 1
	willInitBit = 1 << 31
	maxOffset   = 1<<48 - 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// preamble returns the 8 bytes that start a layer file of the kind.
func preamble(k Kind) [preambleSize]byte {
	p := [preambleSize]byte{'S', 'T', 'R', 'A', 'T', 'A', 0, formatVersion}
	if k == KindDelta {
		p[6] = 'D'
	} else {
		p[6] = 'I'
	}
	return p
}

// entryKeySize is the size of the sortable part of an index entry: the key
// (image) or key and LSN big-endian (delta).
func entryKeySize(k Kind) int {
	if k == KindDelta {
		return key.Size + 8
	}
	return key.Size
}

// maxLeafSize bounds the size of a leaf block for a key size.
func maxLeafSize(ks int) int { return 4 + ks + maxLeafEntries*(ks+refSize) + crcSize }

// summary is the fixed-size trailer of a layer file.
//
//	off size field
//	  0   1  kind (1 delta, 2 image)
//	  1   1  format version
//	  2   2  reserved, zero
//	  4  18  key range start
//	 22  18  key range end
//	 40   8  LSN range start   (LE)
//	 48   8  LSN range end     (LE)
//	 56   8  number of entries (LE)
//	 64   8  fence offset      (LE)
//	 72   4  fence length      (LE)
//	 76   4  number of leaves  (LE)
//	 80   4  largest blob payload size (LE)
//	 84  32  reserved, zero
//	116   4  CRC-32C of bytes [0, 116)
//	120   8  the preamble again (magic)
type summary struct {
	kind     Kind
	keys     key.Range
	lsns     LSNRange
	entries  uint64
	fenceOff int64
	fenceLen uint32
	leaves   uint32
	maxBlob  uint32
}

func (s *summary) encode() []byte {
	b := make([]byte, summarySize)
	b[0] = byte(s.kind)
	b[1] = formatVersion
	s.keys.Start.PutBinary(b[4:])
	s.keys.End.PutBinary(b[22:])
	le := binary.LittleEndian
	le.PutUint64(b[40:], uint64(s.lsns.Start))
	le.PutUint64(b[48:], uint64(s.lsns.End))
	le.PutUint64(b[56:], s.entries)
	le.PutUint64(b[64:], uint64(s.fenceOff))
	le.PutUint32(b[72:], s.fenceLen)
	le.PutUint32(b[76:], s.leaves)
	le.PutUint32(b[80:], s.maxBlob)
	le.PutUint32(b[116:], crc(b[:116]))
	p := preamble(s.kind)
	copy(b[120:], p[:])
	return b
}

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// decodeSummary parses and checks a summary against the file size and the
// layer name.
func decodeSummary(b []byte, size int64, n Name) (summary, error) {
	var s summary
	p := preamble(n.Kind)
	if !bytes.Equal(b[120:], p[:]) {
		return s, corruptf("bad summary magic")
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(b[116:]), crc(b[:116]); got != want {
		return s, corruptf("summary checksum %08x, want %08x", got, want)
	}
	if b[1] != formatVersion {
		return s, corruptf("format version %d, want %d", b[1], formatVersion)
	}
	if Kind(b[0]) != n.Kind || b[2] != 0 || b[3] != 0 || !allZero(b[84:116]) {
		return s, corruptf("bad summary kind or reserved bytes")
	}
	s.kind = n.Kind
	start, _ := key.FromBinary(b[4:22])
	end, _ := key.FromBinary(b[22:40])
	s.keys = key.Range{Start: start, End: end}
	s.lsns = LSNRange{lsn.LSN(le.Uint64(b[40:])), lsn.LSN(le.Uint64(b[48:]))}
	if s.keys != n.Keys || s.lsns != n.LSNs {
		return s, corruptf("summary covers %s x %s, name says %s x %s", s.keys, s.lsns, n.Keys, n.LSNs)
	}
	s.entries = le.Uint64(b[56:])
	s.fenceOff = int64(le.Uint64(b[64:]))
	s.fenceLen = le.Uint32(b[72:])
	s.leaves = le.Uint32(b[76:])
	s.maxBlob = le.Uint32(b[80:])
	ks := entryKeySize(n.Kind)
	switch {
	case s.fenceOff < preambleSize || s.fenceOff > size-summarySize:
		return s, corruptf("fence offset %d out of file of %d bytes", s.fenceOff, size)
	case int64(s.fenceLen) != size-summarySize-s.fenceOff:
		return s, corruptf("fence length %d does not end at the summary", s.fenceLen)
	case uint64(s.fenceLen) != uint64(s.leaves)*uint64(ks+fenceRefSize)+crcSize:
		return s, corruptf("fence length %d does not hold %d leaves", s.fenceLen, s.leaves)
	case s.entries > uint64(s.leaves)*maxLeafEntries || s.entries < uint64(s.leaves):
		return s, corruptf("%d entries do not fit %d leaves", s.entries, s.leaves)
	case int64(s.maxBlob)+crcSize+preambleSize > s.fenceOff && s.entries > 0,
		s.maxBlob != 0 && s.entries == 0:
		return s, corruptf("largest blob %d does not fit the file", s.maxBlob)
	}
	return s, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Leaf block:
//
//	count u16 LE | prefix length u8 | reserved u8 | prefix |
//	count x (suffix | offset u48 LE | size u32 LE) | CRC-32C u32 LE
//
// The prefix is the longest common prefix of the first and last entry keys
// (hence of all of them); each entry stores the rest of its key.

// leaf is a decoded view of a leaf block; it aliases the block buffer.
type leaf struct {
	count  int
	prefix []byte
	body   []byte // count entries of width
	width  int    // suffix length + refSize
}

func parseLeaf(b []byte, ks int) (leaf, error) {
	var l leaf
	if len(b) < 4+crcSize {
		return l, corruptf("leaf of %d bytes too short", len(b))
	}
	body := b[:len(b)-crcSize]
	if got, want := binary.LittleEndian.Uint32(b[len(body):]), crc(body); got != want {
		return l, corruptf("leaf checksum %08x, want %08x", got, want)
	}
	l.count = int(binary.LittleEndian.Uint16(body))
	p := int(body[2])
	if l.count < 1 || l.count > maxLeafEntries || p > ks || body[3] != 0 {
		return l, corruptf("bad leaf header")
	}
	l.width = ks - p + refSize
	if len(body) != 4+p+l.count*l.width {
		return l, corruptf("leaf length %d does not hold %d entries", len(b), l.count)
	}
	l.prefix = body[4 : 4+p]
	l.body = body[4+p:]
	return l, nil
}

// suffix returns the key suffix of entry i.
func (l *leaf) suffix(i int) []byte {
	o := i * l.width
	return l.body[o : o+l.width-refSize]
}

// ref returns the blob offset, payload size and will_init bit of entry i.
func (l *leaf) ref(i int) (off int64, size uint32, willInit bool) {
	o := i*l.width + l.width - refSize
	r := l.body[o : o+refSize]
	off = int64(uint64(r[0]) | uint64(r[1])<<8 | uint64(r[2])<<16 | uint64(r[3])<<24 | uint64(r[4])<<32 | uint64(r[5])<<40)
	sz := binary.LittleEndian.Uint32(r[6:])
	return off, sz &^ willInitBit, sz&willInitBit != 0
}

// fullKey writes the whole key of entry i into dst (len ks).
func (l *leaf) fullKey(i int, dst []byte) {
	n := copy(dst, l.prefix)
	copy(dst[n:], l.suffix(i))
}

// search returns the index of the first entry whose key is >= target.
func (l *leaf) search(target []byte) int {
	p := len(l.prefix)
	switch c := bytes.Compare(target[:p], l.prefix); {
	case c < 0:
		return 0
	case c > 0:
		return l.count
	}
	t := target[p:]
	lo, hi := 0, l.count
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(l.suffix(m), t) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// appendLeaf encodes count entries given in full form (ks-byte key then
// refSize-byte ref, back to back) as a leaf block appended to dst.
func appendLeaf(dst, full []byte, count, ks int) []byte {
	w := ks + refSize
	first := full[:ks]
	last := full[(count-1)*w : (count-1)*w+ks]
	p := 0
	for p < ks && first[p] == last[p] {
		p++
	}
	start := len(dst)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(count))
	dst = append(dst, byte(p), 0)
	dst = append(dst, first[:p]...)
	for i := 0; i < count; i++ {
		dst = append(dst, full[i*w+p:(i+1)*w]...)
	}
	return binary.LittleEndian.AppendUint32(dst, crc(dst[start:]))
}

func putRef(dst []byte, off int64, size uint32, willInit bool) {
	for i := 0; i < 6; i++ {
		dst[i] = byte(off >> (8 * i))
	}
	if willInit {
		size |= willInitBit
	}
	binary.LittleEndian.PutUint32(dst[6:], size)
}
