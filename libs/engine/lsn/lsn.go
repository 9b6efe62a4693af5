// Package lsn defines LSN, a byte position in the PostgreSQL write-ahead log.
//
// An LSN is an unsigned 64-bit offset into the WAL stream of a cluster. Its
// text form is the one PostgreSQL prints: the upper and lower 32 bits in
// upper-case hex, separated by a slash, without padding:
//
//	LSN(0x16960E8)       -> "0/16960E8"
//	LSN(0x1_0000_0028)   -> "1/28"
//
// Parse also accepts the 16-digit hex form used in file names
// ("00000000016960E8"). WAL records start on 8-byte boundaries; Align rounds
// up to the next one. The zero LSN is Invalid and means "unknown" or "none".
package lsn

import (
	"fmt"
	"strconv"
	"strings"
)

// LSN is a byte position in the WAL. The zero value is Invalid.
type LSN uint64

const (
	// Invalid is the zero LSN: no position.
	Invalid LSN = 0
	// Max is the largest LSN; used as an open upper bound.
	Max LSN = ^LSN(0)
	// XLogBlockSize is the size of a WAL page.
	XLogBlockSize = 8192
	// SegmentSize is the size of a WAL segment file (PostgreSQL's default).
	SegmentSize = 16 << 20
)

// String formats the LSN as "X/Y".
func (l LSN) String() string {
	return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l))
}

// Hex formats the LSN as 16 upper-case hex digits, as in layer file names.
func (l LSN) Hex() string { return fmt.Sprintf("%016X", uint64(l)) }

// IsValid reports whether the LSN is not Invalid.
func (l LSN) IsValid() bool { return l != Invalid }

// Align rounds the LSN up to the next multiple of 8 (a record boundary).
func (l LSN) Align() LSN { return (l + 7) &^ 7 }

// IsAligned reports whether the LSN is on an 8-byte boundary.
func (l LSN) IsAligned() bool { return l&7 == 0 }

// SegmentNumber is the number of the 16 MiB WAL segment holding the LSN.
func (l LSN) SegmentNumber() uint64 { return uint64(l) / SegmentSize }

// SegmentOffset is the offset of the LSN inside its WAL segment.
func (l LSN) SegmentOffset() uint64 { return uint64(l) % SegmentSize }

// BlockOffset is the offset of the LSN inside its 8 KiB WAL page.
func (l LSN) BlockOffset() uint64 { return uint64(l) % XLogBlockSize }

// Parse reads an LSN in "X/Y" form or as 16 hex digits.
func Parse(s string) (LSN, error) {
	if hi, lo, ok := strings.Cut(s, "/"); ok {
		h, err1 := parseHex32(hi)
		l, err2 := parseHex32(lo)
		if err1 != nil || err2 != nil {
			return Invalid, fmt.Errorf("invalid LSN %q: want X/Y with 1-8 hex digits on each side", s)
		}
		return LSN(uint64(h)<<32 | uint64(l)), nil
	}
	if len(s) == 16 {
		v, err := strconv.ParseUint(s, 16, 64)
		if err == nil {
			return LSN(v), nil
		}
	}
	return Invalid, fmt.Errorf("invalid LSN %q: want X/Y or 16 hex digits", s)
}

func parseHex32(s string) (uint32, error) {
	if len(s) == 0 || len(s) > 8 {
		return 0, strconv.ErrSyntax
	}
	v, err := strconv.ParseUint(s, 16, 32)
	return uint32(v), err
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) LSN {
	l, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return l
}

// MarshalText implements encoding.TextMarshaler ("X/Y"), so LSNs are strings in JSON.
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *LSN) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}
