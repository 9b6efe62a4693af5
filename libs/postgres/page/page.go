// Package page implements PostgreSQL 15's slotted-page layout (bufpage.c,
// bufpage.h, itemid.h) with the exact byte layout PostgreSQL writes on
// little-endian x86_64, for redo in Go.
//
// A Page is one 8 KiB block:
//
//	0        8          10       12       14       16         18               20           24
//	+--------+----------+--------+--------+--------+----------+----------------+------------+----------- ...
//	| pd_lsn | checksum | flags  | lower  | upper  | special  | pagesize|vers  | prune_xid  | line pointers (ItemID, 4 bytes each) ->
//	+--------+----------+--------+--------+--------+----------+----------------+------------+----------- ...
//	  ... free space [lower, upper) ... <- tuples [upper, special) | special space [special, 8192)
//
// pd_lsn is stored as two uint32 (high word first), each little-endian.
// A line pointer packs the C bitfields lp_off:15, lp_flags:2, lp_len:15 into
// one little-endian uint32: off | flags<<15 | len<<17.
//
// Contract: every method is safe on arbitrary bytes. Accessors of fixed header
// fields need len(p) >= HeaderSize; operations that read offsets from the page
// (AddItem, Item, the delete/compact routines) validate them first and return
// an error wrapping ErrCorrupt instead of panicking or writing out of range.
// The package keeps no state; a Page is owned by its caller and is not safe
// for concurrent mutation.
package page

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// Size is PostgreSQL's BLCKSZ.
const Size = 8192

// HeaderSize is SizeOfPageHeaderData: the header up to the line pointers.
const HeaderSize = 24

// ItemIDSize is sizeof(ItemIdData).
const ItemIDSize = 4

// LayoutVersion is PG_PAGE_LAYOUT_VERSION.
const LayoutVersion = 4

// pd_flags bits.
const (
	HasFreeLines uint16 = 0x0001 // PD_HAS_FREE_LINES
	PageFull     uint16 = 0x0002 // PD_PAGE_FULL
	AllVisible   uint16 = 0x0004 // PD_ALL_VISIBLE
	ValidFlags   uint16 = 0x0007 // PD_VALID_FLAG_BITS
)

// Header field offsets.
const (
	offLSN             = 0
	offChecksum        = 8
	offFlags           = 10
	offLower           = 12
	offUpper           = 14
	offSpecial         = 16
	offPageSizeVersion = 18
	offPruneXid        = 20
)

// Tuple-count limits for an 8 KiB page.
const (
	// MaxHeapTuplesPerPage is (BLCKSZ - header) / (MAXALIGN(23) + sizeof(ItemIdData)).
	MaxHeapTuplesPerPage = (Size - HeaderSize) / (24 + ItemIDSize)
	// MaxIndexTuplesPerPage is (BLCKSZ - header) / (MAXALIGN(8+1) + sizeof(ItemIdData)).
	MaxIndexTuplesPerPage = (Size - HeaderSize) / (16 + ItemIDSize)
	// MaxOffsetNumber is the largest offset number any page can hold.
	MaxOffsetNumber = Size / ItemIDSize
)

// OffsetNumber is a 1-based line pointer index; 0 is InvalidOffsetNumber.
type OffsetNumber = uint16

// InvalidOffsetNumber means "no item" (or "pick one" for AddItem).
const InvalidOffsetNumber OffsetNumber = 0

// FirstOffsetNumber is the first line pointer of a page.
const FirstOffsetNumber OffsetNumber = 1

// ErrCorrupt marks a page or an argument whose offsets make no sense.
var ErrCorrupt = errors.New("corrupt page")

// ErrNoSpace is returned by AddItem when the item does not fit.
var ErrNoSpace = errors.New("no space on page")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// MaxAlign rounds n up to a multiple of 8 (MAXALIGN on x86_64).
func MaxAlign(n int) int { return (n + 7) &^ 7 }

// MaxAlignDown rounds n down to a multiple of 8 (MAXALIGN_DOWN).
func MaxAlignDown(n int) int { return n &^ 7 }

// ShortAlign rounds n up to a multiple of 2 (SHORTALIGN).
func ShortAlign(n int) int { return (n + 1) &^ 1 }

// IntAlign rounds n up to a multiple of 4 (INTALIGN).
func IntAlign(n int) int { return (n + 3) &^ 3 }

// Page is one PostgreSQL block. Most methods expect len(p) == Size.
type Page []byte

func (p Page) u16(off int) uint16      { return binary.LittleEndian.Uint16(p[off:]) }
func (p Page) put16(off int, v uint16) { binary.LittleEndian.PutUint16(p[off:], v) }
func (p Page) u32(off int) uint32      { return binary.LittleEndian.Uint32(p[off:]) }
func (p Page) put32(off int, v uint32) { binary.LittleEndian.PutUint32(p[off:], v) }

// LSN returns pd_lsn.
func (p Page) LSN() lsn.LSN {
	return lsn.LSN(uint64(p.u32(offLSN))<<32 | uint64(p.u32(offLSN+4)))
}

// SetLSN sets pd_lsn.
func (p Page) SetLSN(l lsn.LSN) {
	p.put32(offLSN, uint32(l>>32))
	p.put32(offLSN+4, uint32(l))
}

// Checksum returns pd_checksum.
func (p Page) Checksum() uint16 { return p.u16(offChecksum) }

// SetChecksum sets pd_checksum.
func (p Page) SetChecksum(v uint16) { p.put16(offChecksum, v) }

// Flags returns pd_flags.
func (p Page) Flags() uint16 { return p.u16(offFlags) }

// SetFlags sets pd_flags.
func (p Page) SetFlags(v uint16) { p.put16(offFlags, v) }

// HasFlag reports whether every bit of f is set in pd_flags.
func (p Page) HasFlag(f uint16) bool { return p.Flags()&f == f }

// SetFlag sets the bits of f in pd_flags.
func (p Page) SetFlag(f uint16) { p.SetFlags(p.Flags() | f) }

// ClearFlag clears the bits of f in pd_flags.
func (p Page) ClearFlag(f uint16) { p.SetFlags(p.Flags() &^ f) }

// Lower returns pd_lower, the start of free space.
func (p Page) Lower() int { return int(p.u16(offLower)) }

// SetLower sets pd_lower.
func (p Page) SetLower(v int) { p.put16(offLower, uint16(v)) }

// Upper returns pd_upper, the end of free space.
func (p Page) Upper() int { return int(p.u16(offUpper)) }

// SetUpper sets pd_upper.
func (p Page) SetUpper(v int) { p.put16(offUpper, uint16(v)) }

// Special returns pd_special, the start of the special space.
func (p Page) Special() int { return int(p.u16(offSpecial)) }

// SetSpecial sets pd_special.
func (p Page) SetSpecial(v int) { p.put16(offSpecial, uint16(v)) }

// PageSizeVersion returns the raw pd_pagesize_version.
func (p Page) PageSizeVersion() uint16 { return p.u16(offPageSizeVersion) }

// PageSize returns the page size recorded in the header.
func (p Page) PageSize() int { return int(p.PageSizeVersion() & 0xFF00) }

// Version returns the layout version recorded in the header.
func (p Page) Version() int { return int(p.PageSizeVersion() & 0x00FF) }

// SetPageSizeAndVersion sets pd_pagesize_version.
func (p Page) SetPageSizeAndVersion(size, version int) {
	p.put16(offPageSizeVersion, uint16(size)|uint16(version))
}

// PruneXid returns pd_prune_xid.
func (p Page) PruneXid() uint32 { return p.u32(offPruneXid) }

// SetPruneXid sets pd_prune_xid.
func (p Page) SetPruneXid(x uint32) { p.put32(offPruneXid, x) }

// SetPrunable lowers pd_prune_xid to xid if it is unset or newer (PageSetPrunable).
func (p Page) SetPrunable(xid uint32) {
	cur := p.PruneXid()
	if cur == 0 || TransactionIDPrecedes(xid, cur) {
		p.SetPruneXid(xid)
	}
}

// TransactionIDPrecedes is PostgreSQL's modulo-2^32 xid comparison:
// permanent xids (< 3) compare as plain integers.
func TransactionIDPrecedes(a, b uint32) bool {
	if a < 3 || b < 3 {
		return a < b
	}
	return int32(a-b) < 0
}

// IsNew reports whether the page was never initialized (pd_upper == 0).
func (p Page) IsNew() bool { return p.Upper() == 0 }

// IsEmpty reports whether the page has no line pointers.
func (p Page) IsEmpty() bool { return p.Lower() <= HeaderSize }

// MaxOffset returns the number of line pointers (PageGetMaxOffsetNumber).
func (p Page) MaxOffset() OffsetNumber {
	l := p.Lower()
	if l <= HeaderSize {
		return 0
	}
	return OffsetNumber((l - HeaderSize) / ItemIDSize)
}

// SpecialSize returns the size of the special space.
func (p Page) SpecialSize() int { return len(p) - p.Special() }

// SpecialSpace returns the special space, or an error if pd_special is out of range.
func (p Page) SpecialSpace() ([]byte, error) {
	s := p.Special()
	if s < HeaderSize || s > len(p) {
		return nil, corrupt("pd_special %d out of range", s)
	}
	return p[s:], nil
}

// Init formats the page as an empty page with specialSize bytes (MAXALIGNed) of
// special space (PageInit). The page must be Size bytes long.
func (p Page) Init(specialSize int) error {
	if len(p) != Size {
		return corrupt("page has %d bytes, want %d", len(p), Size)
	}
	specialSize = MaxAlign(specialSize)
	if specialSize < 0 || specialSize+HeaderSize >= Size {
		return corrupt("special size %d too large", specialSize)
	}
	clear(p)
	p.SetLower(HeaderSize)
	p.SetUpper(Size - specialSize)
	p.SetSpecial(Size - specialSize)
	p.SetPageSizeAndVersion(Size, LayoutVersion)
	return nil
}

// CheckHeader verifies the page length and pd_lower <= pd_upper <= pd_special <= Size
// with a MAXALIGNed pd_special, as the bufpage.c routines do before touching items.
func (p Page) CheckHeader() error {
	if len(p) != Size {
		return corrupt("page has %d bytes, want %d", len(p), Size)
	}
	lo, up, sp := p.Lower(), p.Upper(), p.Special()
	if lo < HeaderSize || lo > up || up > sp || sp > Size || sp != MaxAlign(sp) {
		return corrupt("corrupted page pointers: lower = %d, upper = %d, special = %d", lo, up, sp)
	}
	return nil
}

// GetFreeSpace returns the free space minus one line pointer (PageGetFreeSpace).
func (p Page) GetFreeSpace() int {
	s := p.Upper() - p.Lower()
	if s < ItemIDSize {
		return 0
	}
	return s - ItemIDSize
}

// GetFreeSpaceForMultipleTuples returns the free space minus n line pointers.
func (p Page) GetFreeSpaceForMultipleTuples(n int) int {
	s := p.Upper() - p.Lower()
	if s < n*ItemIDSize {
		return 0
	}
	return s - n*ItemIDSize
}

// GetExactFreeSpace returns pd_upper - pd_lower, or 0 (PageGetExactFreeSpace).
func (p Page) GetExactFreeSpace() int {
	s := p.Upper() - p.Lower()
	if s < 0 {
		return 0
	}
	return s
}

// GetHeapFreeSpace is GetFreeSpace, but 0 when a heap page has no line pointer
// left to use (PageGetHeapFreeSpace).
func (p Page) GetHeapFreeSpace() int {
	space := p.GetFreeSpace()
	if space == 0 {
		return 0
	}
	n := p.MaxOffset()
	if int(n) < MaxHeapTuplesPerPage {
		return space
	}
	if !p.HasFlag(HasFreeLines) {
		return 0
	}
	for off := FirstOffsetNumber; off <= n; off++ {
		if !p.ItemID(off).IsUsed() {
			return space
		}
	}
	return 0
}
