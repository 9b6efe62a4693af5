// Package key defines Key, the 18-byte address of every value Strata stores,
// and Range, a half-open interval of keys.
//
// A Key is six unsigned fields compared in order (Neon's layout):
//
//	field1 u8   section: 0x00 relation data, 0x01 SLRU, 0x02 two-phase, 0x03 control
//	field2 u32  tablespace OID, or SLRU kind
//	field3 u32  database OID (1 for SLRU segment keys)
//	field4 u32  relfilenode, or SLRU segment number
//	field5 u8   fork number
//	field6 u32  block number; 0xFFFFFFFF is the "size" entry of a fork or segment
//
// The assignments:
//
//	DbDir          00 00000000 00000000 00000000 00 00000000   database directory
//	RelMap         00 SPC      DB       00000000 00 00000000   pg_filenode.map (512 bytes)
//	RelDir         00 SPC      DB       00000000 00 00000001   relation directory of a database
//	RelBlock       00 SPC      DB       REL      FK BLKNUM     8 KiB page
//	RelSize        00 SPC      DB       REL      FK FFFFFFFF   number of blocks (u32 LE)
//	SlruDir        01 KIND     00000000 00000000 00 00000000   segment directory of an SLRU
//	SlruBlock      01 KIND     00000001 SEGNO    00 BLKNUM     8 KiB SLRU page
//	SlruSegSize    01 KIND     00000001 SEGNO    00 FFFFFFFF   number of blocks (u32 LE)
//	TwoPhaseDir    02 00000000 00000000 00000000 00 00000000   set of prepared xids
//	TwoPhaseFile   02 00000000 00000000 00000000 00 XID        two-phase state file
//	ControlFile    03 00000000 00000000 00000000 00 00000000   pg_control bytes
//	Checkpoint     03 00000000 00000000 00000000 00 00000001   CheckPoint struct bytes
//
// The binary form puts the fields big-endian one after another, so byte-wise
// comparison of binary keys equals Key ordering; the text form is the 36
// upper-case hex digits of the binary form and appears in layer file names.
// The size entry of a fork sorts right after its last block, so extending a
// relation touches neighbouring keys.
package key

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// Size is the length of the binary form of a Key.
const Size = 18

// TextSize is the length of the text form of a Key.
const TextSize = 2 * Size

// Key is the address of one value. The zero Key is Min.
type Key struct {
	Field1 uint8
	Field2 uint32
	Field3 uint32
	Field4 uint32
	Field5 uint8
	Field6 uint32
}

// Sections (field1).
const (
	SectionRel      uint8 = 0x00
	SectionSLRU     uint8 = 0x01
	SectionTwoPhase uint8 = 0x02
	SectionControl  uint8 = 0x03
)

// SizeBlock is the block number of the "size" entry of a fork or SLRU segment.
const SizeBlock uint32 = 0xFFFFFFFF

var (
	// Min is the smallest key.
	Min = Key{}
	// Max is the largest key; ranges ending at Max cover every real key.
	Max = Key{0xFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFF, 0xFFFFFFFF}
)

// Compare returns -1, 0 or +1 as k is less than, equal to or greater than o.
func (k Key) Compare(o Key) int {
	switch {
	case k.Field1 != o.Field1:
		return cmp(uint32(k.Field1), uint32(o.Field1))
	case k.Field2 != o.Field2:
		return cmp(k.Field2, o.Field2)
	case k.Field3 != o.Field3:
		return cmp(k.Field3, o.Field3)
	case k.Field4 != o.Field4:
		return cmp(k.Field4, o.Field4)
	case k.Field5 != o.Field5:
		return cmp(uint32(k.Field5), uint32(o.Field5))
	default:
		return cmp(k.Field6, o.Field6)
	}
}

func cmp(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Less reports whether k sorts before o.
func (k Key) Less(o Key) bool { return k.Compare(o) < 0 }

// Next returns the key right after k (field6 + 1, carrying into the
// fields before it). Next of Max wraps to Min.
func (k Key) Next() Key { return k.Add(1) }

// Add returns k advanced by n, carrying from field6 into field5, field4, ...
func (k Key) Add(n uint32) Key {
	f6 := uint64(k.Field6) + uint64(n)
	k.Field6 = uint32(f6)
	if f6>>32 == 0 {
		return k
	}
	f5 := uint32(k.Field5) + uint32(f6>>32)
	k.Field5 = uint8(f5)
	if f5>>8 == 0 {
		return k
	}
	f4 := uint64(k.Field4) + uint64(f5>>8)
	k.Field4 = uint32(f4)
	if f4>>32 == 0 {
		return k
	}
	f3 := uint64(k.Field3) + f4>>32
	k.Field3 = uint32(f3)
	if f3>>32 == 0 {
		return k
	}
	f2 := uint64(k.Field2) + f3>>32
	k.Field2 = uint32(f2)
	if f2>>32 == 0 {
		return k
	}
	k.Field1 += uint8(f2 >> 32)
	return k
}

// AppendBinary appends the 18-byte binary form of k to b.
func (k Key) AppendBinary(b []byte) []byte {
	b = append(b, k.Field1)
	b = binary.BigEndian.AppendUint32(b, k.Field2)
	b = binary.BigEndian.AppendUint32(b, k.Field3)
	b = binary.BigEndian.AppendUint32(b, k.Field4)
	b = append(b, k.Field5)
	return binary.BigEndian.AppendUint32(b, k.Field6)
}

// Bytes returns the binary form of k.
func (k Key) Bytes() [Size]byte {
	var a [Size]byte
	k.PutBinary(a[:])
	return a
}

// PutBinary writes the binary form of k into b, which must hold Size bytes.
func (k Key) PutBinary(b []byte) {
	_ = b[Size-1]
	b[0] = k.Field1
	binary.BigEndian.PutUint32(b[1:], k.Field2)
	binary.BigEndian.PutUint32(b[5:], k.Field3)
	binary.BigEndian.PutUint32(b[9:], k.Field4)
	b[13] = k.Field5
	binary.BigEndian.PutUint32(b[14:], k.Field6)
}

// FromBinary decodes the binary form of a key.
func FromBinary(b []byte) (Key, error) {
	if len(b) != Size {
		return Key{}, fmt.Errorf("key: binary form has %d bytes, want %d", len(b), Size)
	}
	return Key{
		Field1: b[0],
		Field2: binary.BigEndian.Uint32(b[1:]),
		Field3: binary.BigEndian.Uint32(b[5:]),
		Field4: binary.BigEndian.Uint32(b[9:]),
		Field5: b[13],
		Field6: binary.BigEndian.Uint32(b[14:]),
	}, nil
}

// String returns the 36-digit upper-case hex text form.
func (k Key) String() string {
	b := k.Bytes()
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// Parse reads the 36-digit hex text form of a key (either case).
func Parse(s string) (Key, error) {
	if len(s) != TextSize {
		return Key{}, fmt.Errorf("key: %q has %d characters, want %d hex digits", s, len(s), TextSize)
	}
	var b [Size]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return Key{}, fmt.Errorf("key: %q is not hex: %w", s, err)
	}
	return FromBinary(b[:])
}

// MarshalText implements encoding.TextMarshaler.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Key) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Range is the half-open key interval [Start, End).
type Range struct {
	Start, End Key
}

// All is the range that covers every key: the key range of an L0 delta layer.
var All = Range{Start: Min, End: Max}

// Contains reports whether k is in the range.
func (r Range) Contains(k Key) bool { return !k.Less(r.Start) && k.Less(r.End) }

// Overlaps reports whether the two ranges share a key.
func (r Range) Overlaps(o Range) bool { return r.Start.Less(o.End) && o.Start.Less(r.End) }

// IsEmpty reports whether the range holds no key.
func (r Range) IsEmpty() bool { return !r.Start.Less(r.End) }

// String formats the range as "START-END".
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }
