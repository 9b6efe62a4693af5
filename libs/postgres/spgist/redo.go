package spgist

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// ADD_LEAF main data (spgxlogAddLeaf, 10 bytes, then the leaf tuple):
//
//	0 newPage  1 storesNulls  2 offnumLeaf  4 offnumHeadLeaf  6 offnumParent  8 nodeI
func redoAddLeaf(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	r := &reader{b: rec.MainData}
	h := r.take(10)
	leaf := r.leafTuple()
	if r.err != nil {
		return r.err
	}
	offLeaf, offHead := u16(h, 2), u16(h, 4)
	switch blk.ID {
	case 0:
		if h[0] != 0 {
			if err := InitPage(p, leafFlags(h[1] != 0)); err != nil {
				return err
			}
		}
		if offLeaf != offHead {
			// A new tuple, perhaps chained after the head of a chain.
			if err := addOrReplaceTuple(p, leaf, offLeaf); err != nil {
				return err
			}
			if offHead != page.InvalidOffsetNumber {
				return setNextOffset(p, offHead, offLeaf)
			}
			return nil
		}
		// The chain's head tuple replaced in place.
		return replaceTuple(p, leaf, offLeaf)
	case 1:
		blkLeaf, err := blockNumber(rec, 0)
		if err != nil {
			return err
		}
		return updateNodeLink(p, u16(h, 6), int(u16(h, 8)), blkLeaf, offLeaf)
	}
	return fmt.Errorf("unexpected block reference")
}

// MOVE_LEAFS main data (spgxlogMoveLeafs, 20 bytes):
//
//	0 nMoves  2 newPage  3 replaceDead  4 storesNulls  6 offnumParent  8 nodeI
//	12 stateSrc (xid u32, isBuild bool)
//
// then nMoves deleted offsets, nInsert inserted offsets (1 if replaceDead,
// else nMoves+1) and nInsert leaf tuples.
func redoMoveLeafs(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	r := &reader{b: rec.MainData}
	h := r.take(20)
	if r.err != nil {
		return r.err
	}
	nMoves := int(u16(h, 0))
	nInsert := nMoves + 1
	if h[3] != 0 {
		nInsert = 1
	}
	st := readState(h[12:])
	toDelete := r.offsets(nMoves)
	toInsert := r.offsets(nInsert)
	if r.err != nil {
		return r.err
	}
	blknoDst, err := blockNumber(rec, 1)
	if err != nil {
		return err
	}
	last := toInsert[nInsert-1]
	switch blk.ID {
	case 1:
		if h[2] != 0 {
			if err := InitPage(p, leafFlags(h[4] != 0)); err != nil {
				return err
			}
		}
		for i := 0; i < nInsert; i++ {
			leaf := r.leafTuple()
			if r.err != nil {
				return r.err
			}
			if err := addOrReplaceTuple(p, leaf, toInsert[i]); err != nil {
				return err
			}
		}
		return nil
	case 0:
		first := StateRedirect
		if st.isBuild {
			first = StatePlaceholder
		}
		return multiDelete(p, st, toDelete, first, StatePlaceholder, blknoDst, last)
	case 2:
		return updateNodeLink(p, u16(h, 6), int(u16(h, 8)), blknoDst, last)
	}
	return fmt.Errorf("unexpected block reference")
}

// ADD_NODE main data (spgxlogAddNode, 20 bytes, then the new inner tuple):
//
//	0 offnum  2 offnumNew  4 newPage  5 parentBlk (int8)  6 offnumParent
//	8 nodeI  12 stateSrc
func redoAddNode(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	r := &reader{b: rec.MainData}
	h := r.take(20)
	inner := r.innerTuple()
	if r.err != nil {
		return r.err
	}
	off, offNew := u16(h, 0), u16(h, 2)
	parentBlk := int8(h[5])
	offParent, nodeI := u16(h, 6), int(u16(h, 8))
	st := readState(h[12:])
	if rec.Block(1) == nil {
		// The grown tuple fit: replaced in place on block 0.
		if blk.ID != 0 {
			return fmt.Errorf("unexpected block reference")
		}
		return replaceTuple(p, inner, off)
	}
	blknoNew, err := blockNumber(rec, 1)
	if err != nil {
		return err
	}
	switch blk.ID {
	case 1:
		if h[4] != 0 {
			if err := InitPage(p, 0); err != nil {
				return err
			}
		}
		if err := addOrReplaceTuple(p, inner, offNew); err != nil {
			return err
		}
		if parentBlk == 1 {
			return updateNodeLink(p, offParent, nodeI, blknoNew, offNew)
		}
		return nil
	case 0:
		var dt []byte
		counter := offRedirection
		if st.isBuild {
			dt = deadTuple(StatePlaceholder, invalidBlock, page.InvalidOffsetNumber, st.xid)
			counter = offPlaceholder
		} else {
			dt = deadTuple(StateRedirect, blknoNew, offNew, st.xid)
		}
		if err := replaceTuple(p, dt, off); err != nil {
			return err
		}
		if err := addCounter(p, counter, 1); err != nil {
			return err
		}
		if parentBlk == 0 {
			return updateNodeLink(p, offParent, nodeI, blknoNew, offNew)
		}
		return nil
	case 2:
		if parentBlk != 2 {
			return fmt.Errorf("block 2 present but parentBlk is %d", parentBlk)
		}
		return updateNodeLink(p, offParent, nodeI, blknoNew, offNew)
	}
	return fmt.Errorf("unexpected block reference")
}

// SPLIT_TUPLE main data (spgxlogSplitTuple, 6 bytes, then the prefix and
// the postfix inner tuples):
//
//	0 offnumPrefix  2 offnumPostfix  4 newPage  5 postfixBlkSame
func redoSplitTuple(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	r := &reader{b: rec.MainData}
	h := r.take(6)
	prefix := r.innerTuple()
	postfix := r.innerTuple()
	if r.err != nil {
		return r.err
	}
	offPrefix, offPostfix := u16(h, 0), u16(h, 2)
	same := h[5] != 0
	switch blk.ID {
	case 1:
		if same {
			return fmt.Errorf("block 1 present but the postfix tuple is on block 0")
		}
		if h[4] != 0 {
			if err := InitPage(p, 0); err != nil {
				return err
			}
		}
		return addOrReplaceTuple(p, postfix, offPostfix)
	case 0:
		if err := replaceTuple(p, prefix, offPrefix); err != nil {
			return err
		}
		if same {
			return addOrReplaceTuple(p, postfix, offPostfix)
		}
		return nil
	}
	return fmt.Errorf("unexpected block reference")
}

// PICKSPLIT main data (spgxlogPickSplit, 28 bytes):
//
//	0 isRootSplit  2 nDelete  4 nInsert  6 initSrc  7 initDest  8 offnumInner
//	10 initInner  11 storesNulls  12 innerIsParent  14 offnumParent  16 nodeI
//	20 stateSrc
//
// then nDelete offsets, nInsert offsets, nInsert page selectors (0 source,
// 1 destination), the new inner tuple and nInsert leaf tuples.
func redoPickSplit(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	r := &reader{b: rec.MainData}
	h := r.take(28)
	if r.err != nil {
		return r.err
	}
	nDelete, nInsert := int(u16(h, 2)), int(u16(h, 4))
	initSrc, initDest := h[6] != 0, h[7] != 0
	offInner := u16(h, 8)
	initInner, storesNulls, innerIsParent := h[10] != 0, h[11] != 0, h[12] != 0
	offParent, nodeI := u16(h, 14), int(u16(h, 16))
	st := readState(h[20:])
	toDelete := r.offsets(nDelete)
	toInsert := r.offsets(nInsert)
	sel := r.take(nInsert)
	inner := r.innerTuple()
	if r.err != nil {
		return r.err
	}
	blknoInner, err := blockNumber(rec, 2)
	if err != nil {
		return err
	}
	switch blk.ID {
	case 0, 1:
		if blk.ID == 0 {
			if h[0] != 0 {
				return fmt.Errorf("root split with a source block reference")
			}
			if initSrc {
				if err := InitPage(p, leafFlags(storesNulls)); err != nil {
					return err
				}
			} else {
				first, blkno, off := StateRedirect, blknoInner, offInner
				if st.isBuild {
					first, blkno, off = StatePlaceholder, invalidBlock, page.InvalidOffsetNumber
				}
				if err := multiDelete(p, st, toDelete, first, StatePlaceholder, blkno, off); err != nil {
					return err
				}
			}
		} else if initDest {
			if err := InitPage(p, leafFlags(storesNulls)); err != nil {
				return err
			}
		}
		want := byte(blk.ID)
		for i := 0; i < nInsert; i++ {
			leaf := r.leafTuple()
			if r.err != nil {
				return r.err
			}
			if (sel[i] != 0) != (want == 1) {
				continue
			}
			if err := addOrReplaceTuple(p, leaf, toInsert[i]); err != nil {
				return err
			}
		}
		return nil
	case 2:
		if initInner {
			var f uint16
			if storesNulls {
				f = FlagNulls
			}
			if err := InitPage(p, f); err != nil {
				return err
			}
		}
		if err := addOrReplaceTuple(p, inner, offInner); err != nil {
			return err
		}
		if innerIsParent {
			return updateNodeLink(p, offParent, nodeI, blknoInner, offInner)
		}
		return nil
	case 3:
		return updateNodeLink(p, offParent, nodeI, blknoInner, offInner)
	}
	return fmt.Errorf("unexpected block reference")
}

// VACUUM_LEAF main data (spgxlogVacuumLeaf, 16 bytes):
//
//	0 nDead  2 nPlaceholder  4 nMove  6 nChain  8 stateSrc
//
// then offsets: to become DEAD, to become PLACEHOLDER, move sources, move
// destinations, chain sources, chain destinations.
func redoVacuumLeaf(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	if blk.ID != 0 {
		return fmt.Errorf("unexpected block reference")
	}
	r := &reader{b: rec.MainData}
	h := r.take(16)
	if r.err != nil {
		return r.err
	}
	st := readState(h[8:])
	toDead := r.offsets(int(u16(h, 0)))
	toPlaceholder := r.offsets(int(u16(h, 2)))
	nMove, nChain := int(u16(h, 4)), int(u16(h, 6))
	moveSrc, moveDest := r.offsets(nMove), r.offsets(nMove)
	chainSrc, chainDest := r.offsets(nChain), r.offsets(nChain)
	if r.err != nil {
		return r.err
	}
	if err := multiDelete(p, st, toDead, StateDead, StateDead, invalidBlock, page.InvalidOffsetNumber); err != nil {
		return err
	}
	if err := multiDelete(p, st, toPlaceholder, StatePlaceholder, StatePlaceholder, invalidBlock, page.InvalidOffsetNumber); err != nil {
		return err
	}
	max := p.MaxOffset()
	for i := range moveSrc {
		s, d := moveSrc[i], moveDest[i]
		if s == 0 || d == 0 || s > max || d > max {
			return fmt.Errorf("move %d -> %d outside line pointers 1..%d", s, d, max)
		}
		is, id := p.ItemID(s), p.ItemID(d)
		if err := p.SetItemID(s, id); err != nil {
			return err
		}
		if err := p.SetItemID(d, is); err != nil {
			return err
		}
	}
	if err := multiDelete(p, st, moveSrc, StatePlaceholder, StatePlaceholder, invalidBlock, page.InvalidOffsetNumber); err != nil {
		return err
	}
	for i := range chainSrc {
		if err := setNextOffset(p, chainSrc[i], chainDest[i]); err != nil {
			return err
		}
	}
	return nil
}

// VACUUM_ROOT main data (spgxlogVacuumRoot, 12 bytes): 0 nDelete, 4
// stateSrc, then nDelete offsets to delete.
func redoVacuumRoot(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	if blk.ID != 0 {
		return fmt.Errorf("unexpected block reference")
	}
	r := &reader{b: rec.MainData}
	h := r.take(12)
	if r.err != nil {
		return r.err
	}
	offs := r.offsets(int(u16(h, 0)))
	if r.err != nil {
		return r.err
	}
	return p.IndexMultiDelete(offs)
}

// VACUUM_REDIRECT main data (spgxlogVacuumRedirect, 8 bytes):
//
//	0 nToPlaceholder  2 firstPlaceholder  4 newestRedirectXid
//
// then nToPlaceholder offsets of redirects that become placeholders; from
// firstPlaceholder (if valid) to the end every tuple is removed.
func redoVacuumRedirect(p page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	if blk.ID != 0 {
		return fmt.Errorf("unexpected block reference")
	}
	r := &reader{b: rec.MainData}
	h := r.take(8)
	if r.err != nil {
		return r.err
	}
	n := int(u16(h, 0))
	firstPlaceholder := u16(h, 2)
	offs := r.offsets(n)
	if r.err != nil {
		return r.err
	}
	for _, off := range offs {
		t, err := p.Item(off)
		if err != nil {
			return fmt.Errorf("redirect %d: %w", off, err)
		}
		if len(t) < deadTupleSize {
			return fmt.Errorf("redirect %d has %d bytes", off, len(t))
		}
		w := binary.LittleEndian.Uint32(t)
		binary.LittleEndian.PutUint32(t, w&^3|StatePlaceholder)
		page.ItemPointer{Block: invalidBlock, Offset: page.InvalidOffsetNumber}.Put(t[6:])
	}
	if err := addCounter(p, offRedirection, -n); err != nil {
		return err
	}
	if err := addCounter(p, offPlaceholder, n); err != nil {
		return err
	}
	if firstPlaceholder != page.InvalidOffsetNumber {
		max := p.MaxOffset()
		if firstPlaceholder > max {
			return nil // nothing to remove: PostgreSQL deletes an empty range
		}
		del := make([]page.OffsetNumber, 0, int(max-firstPlaceholder)+1)
		for o := firstPlaceholder; o <= max; o++ {
			del = append(del, o)
		}
		if err := addCounter(p, offPlaceholder, -len(del)); err != nil {
			return err
		}
		return p.IndexMultiDelete(del)
	}
	return nil
}
