package nbtree

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/wal"
)

// redoVacuum replays VACUUM (main data {ndeleted, nupdated u16}) and DELETE
// (main data {latestRemovedXid u32, ndeleted, nupdated u16}). Block 0 data:
//
//	deleted offsets   u16 × ndeleted
//	updated offsets   u16 × nupdated
//	updates           nupdated × {ndeletedtids u16, posting positions u16 × ndeletedtids}
//
// Posting lists are shrunk first, then the deleted tuples go, then
// BTP_HAS_GARBAGE is cleared.
func redoVacuum(pg []byte, rec *wal.Record, blk *wal.BlockRef, isDelete bool) error {
	if blk.ID != 0 {
		return errUnexpectedBlock
	}
	at := 0
	if isDelete {
		at = 4
	}
	md, err := mainData(rec, at+4)
	if err != nil {
		return err
	}
	ndeleted, nupdated := int(u16(md, at)), int(u16(md, at+2))
	deleted, rest, err := u16s(blk.Data, ndeleted)
	if err != nil {
		return fmt.Errorf("deleted offsets: %w", err)
	}
	updated, rest, err := u16s(rest, nupdated)
	if err != nil {
		return fmt.Errorf("updated offsets: %w", err)
	}
	if err := checkPage(pg); err != nil {
		return err
	}
	for _, off := range updated {
		if len(rest) < 2 {
			return fmt.Errorf("update of item %d truncated", off)
		}
		var del []uint16
		if del, rest, err = u16s(rest[2:], int(u16(rest, 0))); err != nil {
			return fmt.Errorf("update of item %d: %w", off, err)
		}
		orig, err := tupleAt(pg, int(off))
		if err != nil {
			return fmt.Errorf("update of item %d: %w", off, err)
		}
		nt, err := updatePosting(orig, del)
		if err != nil {
			return fmt.Errorf("update of item %d: %w", off, err)
		}
		if err := indexTupleOverwrite(pg, int(off), padTo(nt, maxAlign(len(nt)))); err != nil {
			return fmt.Errorf("update of item %d: %w", off, err)
		}
	}
	if ndeleted > 0 {
		if err := indexMultiDelete(pg, deleted); err != nil {
			return err
		}
	}
	o, err := btOpaque(pg)
	if err != nil {
		return err
	}
	o.setFlags(o.flags() &^ FlagHasGarbage)
	return nil
}

// halfDeadLeaf re-initialises pg as a half-dead leaf whose only item is a
// dummy high key pointing at the subtree's top parent.
func halfDeadLeaf(pg []byte, left, right, topParent uint32) error {
	o := pageInitBT(pg)
	o.setPrev(left)
	o.setNext(right)
	o.setFlags(FlagHalfDead | FlagLeaf)
	var t [indexTupleHeader]byte
	setTIDBlock(t[:], topParent)
	put16(t[:], 6, indexTupleHeader|indexAltTIDMask) // BTreeTupleSetTopParent: nkeyatts 0
	return addItem(pg, t[:], pHikey)
}

// redoMarkHalfDead replays MARK_PAGE_HALFDEAD: main data
// {poffset u16, leafblk, leftblk, rightblk, topparent u32}. Block 1 is the
// parent (the downlink at poffset takes over the next item's downlink, which
// is deleted), block 0 the leaf.
func redoMarkHalfDead(pg []byte, rec *wal.Record, blk *wal.BlockRef) error {
	md, err := mainData(rec, 20)
	if err != nil {
		return err
	}
	poffset := int(u16(md, 0))
	switch blk.ID {
	case 0:
		return halfDeadLeaf(pg, u32(md, 8), u32(md, 12), u32(md, 16))
	case 1:
		if err := checkPage(pg); err != nil {
			return err
		}
		next, err := tupleAt(pg, poffset+1)
		if err != nil {
			return err
		}
		cur, err := tupleAt(pg, poffset)
		if err != nil {
			return err
		}
		setTIDBlock(cur, tidBlock(next))
		return indexTupleDelete(pg, poffset+1)
	}
	return errUnexpectedBlock
}

// redoUnlink replays UNLINK_PAGE[_META]: main data {leftsib, rightsib,
// level u32, pad, safexid u64 @16, leafleftsib, leafrightsib, leaftopparent
// u32}.
func redoUnlink(pg []byte, rec *wal.Record, blk *wal.BlockRef, meta bool) error {
	md, err := mainData(rec, 36)
	if err != nil {
		return err
	}
	leftsib, rightsib, level := u32(md, 0), u32(md, 4), u32(md, 8)
	switch blk.ID {
	case 0:
		o := pageInitBT(pg)
		o.setPrev(leftsib)
		o.setNext(rightsib)
		o.setLevel(level)
		// BTPageSetDeleted
		flags := FlagDeleted | FlagHasFullXid
		if level == 0 {
			flags |= FlagLeaf
		}
		o.setFlags(flags)
		put16(pg, offLower, pageHeaderSize+8)
		put16(pg, offUpper, uint16(pgSpecial(pg)))
		binary.LittleEndian.PutUint64(pg[pageHeaderSize:], binary.LittleEndian.Uint64(md[16:]))
		return nil
	case 1, 2:
		if blk.ID == 1 && leftsib == pNone {
			return errUnexpectedBlock
		}
		o, err := btOpaque(pg)
		if err != nil {
			return err
		}
		if blk.ID == 1 {
			o.setNext(rightsib)
		} else {
			o.setPrev(leftsib)
		}
		return nil
	case 3:
		return halfDeadLeaf(pg, u32(md, 24), u32(md, 28), u32(md, 32))
	case 4:
		if !meta {
			return errUnexpectedBlock
		}
		return restoreMeta(pg, blk.Data)
	}
	return errUnexpectedBlock
}

// redoNewRoot replays NEWROOT: main data {rootblk, level u32}. Block 0 is
// the new root (tuples in its data when level > 0), block 1 the left child
// whose split is completed, block 2 the metapage.
func redoNewRoot(pg []byte, rec *wal.Record, blk *wal.BlockRef) error {
	md, err := mainData(rec, 8)
	if err != nil {
		return err
	}
	level := u32(md, 4)
	switch blk.ID {
	case 0:
		o := pageInitBT(pg)
		flags := FlagRoot
		if level == 0 {
			flags |= FlagLeaf
		}
		o.setFlags(flags)
		o.setLevel(level)
		if level > 0 {
			return restorePage(pg, blk.Data)
		}
		return nil
	case 1:
		if level == 0 {
			return errUnexpectedBlock
		}
		return clearIncompleteSplit(pg)
	case 2:
		return restoreMeta(pg, blk.Data)
	}
	return errUnexpectedBlock
}
