package page

import "encoding/binary"

// Line pointer states (lp_flags).
const (
	LPUnused   = 0 // LP_UNUSED: free, lp_len 0
	LPNormal   = 1 // LP_NORMAL: points at a tuple, lp_len > 0
	LPRedirect = 2 // LP_REDIRECT: HOT redirect; lp_off holds the target offset number
	LPDead     = 3 // LP_DEAD: dead, with or without storage
)

// ItemID is one line pointer in its on-page form: lp_off | lp_flags<<15 | lp_len<<17.
type ItemID uint32

// MakeItemID packs a line pointer.
func MakeItemID(off, flags, length int) ItemID {
	return ItemID(uint32(off)&0x7FFF | uint32(flags&3)<<15 | uint32(length)&0x7FFF<<17)
}

// Off returns lp_off (or the redirect target for LP_REDIRECT).
func (id ItemID) Off() int { return int(id & 0x7FFF) }

// Flags returns lp_flags.
func (id ItemID) Flags() int { return int(id>>15) & 3 }

// Len returns lp_len.
func (id ItemID) Len() int { return int(id >> 17) }

// IsUsed reports lp_flags != LP_UNUSED.
func (id ItemID) IsUsed() bool { return id.Flags() != LPUnused }

// IsNormal reports lp_flags == LP_NORMAL.
func (id ItemID) IsNormal() bool { return id.Flags() == LPNormal }

// IsRedirected reports lp_flags == LP_REDIRECT.
func (id ItemID) IsRedirected() bool { return id.Flags() == LPRedirect }

// IsDead reports lp_flags == LP_DEAD.
func (id ItemID) IsDead() bool { return id.Flags() == LPDead }

// HasStorage reports lp_len != 0.
func (id ItemID) HasStorage() bool { return id.Len() != 0 }

// WithFlags returns id with lp_flags replaced (ItemIdMarkDead is WithFlags(LPDead)).
func (id ItemID) WithFlags(flags int) ItemID { return id&^(3<<15) | ItemID(flags&3)<<15 }

// WithOff returns id with lp_off replaced.
func (id ItemID) WithOff(off int) ItemID { return id&^0x7FFF | ItemID(off&0x7FFF) }

// Unused, Redirect and Dead build the line pointers of ItemIdSetUnused,
// ItemIdSetRedirect and ItemIdSetDead.
func Unused() ItemID           { return 0 }
func Redirect(to int) ItemID   { return MakeItemID(to, LPRedirect, 0) }
func Dead() ItemID             { return MakeItemID(0, LPDead, 0) }
func Normal(off, n int) ItemID { return MakeItemID(off, LPNormal, n) }

func itemIDPos(off OffsetNumber) int { return HeaderSize + (int(off)-1)*ItemIDSize }

// ItemID returns line pointer off (PageGetItemId). Offsets outside the page's
// bytes (0, or beyond the block) read as an unused line pointer; callers
// compare against MaxOffset for the logical bound.
func (p Page) ItemID(off OffsetNumber) ItemID {
	pos := itemIDPos(off)
	if off == 0 || pos+ItemIDSize > len(p) {
		return 0
	}
	return ItemID(binary.LittleEndian.Uint32(p[pos:]))
}

// SetItemID writes line pointer off; it returns an error if the slot lies
// outside the page.
func (p Page) SetItemID(off OffsetNumber, id ItemID) error {
	pos := itemIDPos(off)
	if off == 0 || pos+ItemIDSize > len(p) {
		return corrupt("line pointer %d outside the page", off)
	}
	binary.LittleEndian.PutUint32(p[pos:], uint32(id))
	return nil
}

// setItemID writes a slot already known to be in range.
func (p Page) setItemID(off OffsetNumber, id ItemID) {
	binary.LittleEndian.PutUint32(p[itemIDPos(off):], uint32(id))
}

// Item returns the bytes of the tuple line pointer off points at (PageGetItem):
// an error if off is beyond MaxOffset, has no storage, or lies outside the page.
func (p Page) Item(off OffsetNumber) ([]byte, error) {
	if off == 0 || off > p.MaxOffset() {
		return nil, corrupt("offset %d beyond max offset %d", off, p.MaxOffset())
	}
	id := p.ItemID(off)
	if !id.HasStorage() {
		return nil, corrupt("line pointer %d has no storage", off)
	}
	o, n := id.Off(), id.Len()
	if o < HeaderSize || o+n > len(p) {
		return nil, corrupt("line pointer %d (off %d, len %d) outside the page", off, o, n)
	}
	return p[o : o+n : o+n], nil
}

// ItemPointer is a TID: block number and offset number (ItemPointerData, 6 bytes,
// block stored as two uint16 halves, high half first).
type ItemPointer struct {
	Block  uint32
	Offset OffsetNumber
}

// ItemPointerSize is sizeof(ItemPointerData).
const ItemPointerSize = 6

// GetItemPointer decodes a TID from b (len(b) >= 6).
func GetItemPointer(b []byte) ItemPointer {
	hi := binary.LittleEndian.Uint16(b[0:])
	lo := binary.LittleEndian.Uint16(b[2:])
	return ItemPointer{Block: uint32(hi)<<16 | uint32(lo), Offset: binary.LittleEndian.Uint16(b[4:])}
}

// Put encodes the TID into b (len(b) >= 6).
func (ip ItemPointer) Put(b []byte) {
	binary.LittleEndian.PutUint16(b[0:], uint16(ip.Block>>16))
	binary.LittleEndian.PutUint16(b[2:], uint16(ip.Block))
	binary.LittleEndian.PutUint16(b[4:], ip.Offset)
}
