package spgist

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/stratadb/strata/libs/postgres/page"
)

// opaque returns the 8-byte special space of an SP-GiST page.
func opaque(p page.Page) ([]byte, error) {
	sp := p.Special()
	if sp > page.Size-specialSize || sp < page.HeaderSize {
		return nil, fmt.Errorf("special space at %d is not an SP-GiST one", sp)
	}
	return p[sp : sp+specialSize], nil
}

// addCounter adds delta (possibly negative) to the uint16 at off of the
// special space, wrapping like PostgreSQL's uint16 arithmetic.
func addCounter(p page.Page, off int, delta int) error {
	o, err := opaque(p)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint16(o[off:], uint16(int(binary.LittleEndian.Uint16(o[off:]))+delta))
	return nil
}

const (
	offRedirection = 2
	offPlaceholder = 4
)

// InitPage is SpGistInitPage: an empty page with an SP-GiST special space
// holding flags and the page id.
func InitPage(pg []byte, flags uint16) error {
	p := page.Page(pg)
	if err := p.Init(specialSize); err != nil {
		return err
	}
	o := p[page.Size-specialSize:]
	binary.LittleEndian.PutUint16(o[0:], flags)
	binary.LittleEndian.PutUint16(o[6:], PageID)
	return nil
}

func leafFlags(storesNulls bool) uint16 {
	if storesNulls {
		return FlagLeaf | FlagNulls
	}
	return FlagLeaf
}

// addItemAt is PageAddItem(page, tup, size, off, false, false) that must land
// at off.
func addItemAt(p page.Page, tup []byte, off page.OffsetNumber) error {
	got, err := p.AddItem(tup, off, 0)
	if err != nil {
		return fmt.Errorf("add %d-byte tuple at offset %d: %w", len(tup), off, err)
	}
	if got != off {
		return fmt.Errorf("tuple landed at offset %d, want %d", got, off)
	}
	return nil
}

// replaceTuple deletes the tuple at off and adds tup there.
func replaceTuple(p page.Page, tup []byte, off page.OffsetNumber) error {
	if err := p.IndexTupleDelete(off); err != nil {
		return fmt.Errorf("delete tuple %d: %w", off, err)
	}
	return addItemAt(p, tup, off)
}

// addOrReplaceTuple puts tup at off: if off is an existing line pointer it
// must hold a placeholder, which is replaced (nPlaceholder decremented);
// otherwise off must be the next free offset.
func addOrReplaceTuple(p page.Page, tup []byte, off page.OffsetNumber) error {
	if off != page.InvalidOffsetNumber && off <= p.MaxOffset() {
		old, err := p.Item(off)
		if err != nil {
			return err
		}
		if len(old) < 4 || binary.LittleEndian.Uint32(old)&3 != StatePlaceholder {
			return fmt.Errorf("tuple %d to be replaced is not a placeholder", off)
		}
		if err := addCounter(p, offPlaceholder, -1); err != nil {
			return err
		}
		if err := p.IndexTupleDelete(off); err != nil {
			return fmt.Errorf("delete placeholder %d: %w", off, err)
		}
	}
	return addItemAt(p, tup, off)
}

// deadTuple is spgFormDeadTuple: a 16-byte tuple of state tupstate; a
// redirect points at (blk, off) and carries xid, the others carry an invalid
// TID and xid 0.
func deadTuple(tupstate int, blk uint32, off page.OffsetNumber, xid uint32) []byte {
	t := make([]byte, deadTupleSize)
	binary.LittleEndian.PutUint32(t, uint32(tupstate)|deadTupleSize<<2)
	if tupstate == StateRedirect {
		page.ItemPointer{Block: blk, Offset: off}.Put(t[6:])
		binary.LittleEndian.PutUint32(t[12:], xid)
	} else {
		page.ItemPointer{Block: invalidBlock, Offset: page.InvalidOffsetNumber}.Put(t[6:])
	}
	return t
}

// multiDelete is spgPageIndexMultiDelete: delete the tuples at offs and put
// dead tuples in their place, offs[0] getting firstState and the others
// restState (redirects point at blk/off); nRedirection and nPlaceholder are
// counted up.
func multiDelete(p page.Page, st state, offs []page.OffsetNumber, firstState, restState int, blk uint32, off page.OffsetNumber) error {
	if len(offs) == 0 {
		return nil
	}
	sorted := slices.Clone(offs)
	slices.Sort(sorted)
	if err := p.IndexMultiDelete(sorted); err != nil {
		return fmt.Errorf("delete %d tuples: %w", len(sorted), err)
	}
	first := offs[0]
	for _, itemno := range sorted {
		ts := restState
		if itemno == first {
			ts = firstState
		}
		if err := addItemAt(p, deadTuple(ts, blk, off, st.xid), itemno); err != nil {
			return err
		}
		switch ts {
		case StateRedirect:
			if err := addCounter(p, offRedirection, 1); err != nil {
				return err
			}
		case StatePlaceholder:
			if err := addCounter(p, offPlaceholder, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// updateNodeLink is spgUpdateNodeLink on the inner tuple at off: node nodeI's
// downlink becomes (blk, target).
func updateNodeLink(p page.Page, off page.OffsetNumber, nodeI int, blk uint32, target page.OffsetNumber) error {
	tup, err := p.Item(off)
	if err != nil {
		return fmt.Errorf("parent tuple %d: %w", off, err)
	}
	if len(tup) < innerHdrSize {
		return fmt.Errorf("parent tuple %d has %d bytes, less than an inner tuple header", off, len(tup))
	}
	word := binary.LittleEndian.Uint32(tup)
	nNodes := int(word>>3) & 0x1FFF
	pos := innerHdrSize + int(word>>16)
	for i := 0; i < nNodes; i++ {
		if pos+8 > len(tup) {
			return fmt.Errorf("node %d of inner tuple %d runs past its %d bytes", i, off, len(tup))
		}
		if i == nodeI {
			page.ItemPointer{Block: blk, Offset: target}.Put(tup[pos:])
			return nil
		}
		size := int(binary.LittleEndian.Uint16(tup[pos+6:]) & 0x1FFF)
		if size == 0 {
			return fmt.Errorf("node %d of inner tuple %d has size 0", i, off)
		}
		pos += size
	}
	return fmt.Errorf("failed to find node %d in inner tuple %d (%d nodes)", nodeI, off, nNodes)
}

// setNextOffset is SGLT_SET_NEXTOFFSET on the leaf tuple at off.
func setNextOffset(p page.Page, off, next page.OffsetNumber) error {
	tup, err := p.Item(off)
	if err != nil {
		return fmt.Errorf("leaf tuple %d: %w", off, err)
	}
	if len(tup) < leafHdrSize {
		return fmt.Errorf("leaf tuple %d has %d bytes, less than a leaf header", off, len(tup))
	}
	info := binary.LittleEndian.Uint16(tup[4:])
	binary.LittleEndian.PutUint16(tup[4:], info&0xC000|next&0x3FFF)
	return nil
}
