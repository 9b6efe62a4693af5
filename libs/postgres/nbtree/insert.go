package nbtree

import (
	"fmt"

	"github.com/stratadb/strata/libs/postgres/wal"
)

// redoInsert replays INSERT_LEAF/UPPER/META/POST. Main data is
// xl_btree_insert {offnum u16}; block 0 data is the new tuple, preceded by
// the posting-list split offset (u16) for INSERT_POST; block 2 data (META)
// is an xl_btree_metadata.
func redoInsert(pg []byte, rec *wal.Record, blk *wal.BlockRef, isLeaf, isMeta, posting bool) error {
	switch {
	case blk.ID == 1 && !isLeaf:
		return clearIncompleteSplit(pg)
	case blk.ID == 2 && isMeta:
		return restoreMeta(pg, blk.Data)
	case blk.ID != 0:
		return errUnexpectedBlock
	}
	md, err := mainData(rec, 2)
	if err != nil {
		return err
	}
	offnum := int(u16(md, 0))
	data := blk.Data
	if !posting {
		return addItem(pg, data, offnum)
	}
	if len(data) < 2 {
		return fmt.Errorf("posting split offset missing")
	}
	postingoff := int(u16(data, 0))
	data = data[2:]
	if err := checkPage(pg); err != nil {
		return err
	}
	oposting, err := tupleAt(pg, offnum-1)
	if err != nil {
		return fmt.Errorf("posting list to split: %w", err)
	}
	if len(data) < indexTupleHeader || tupleSize(data) != len(data) {
		return fmt.Errorf("new item size does not match its %d bytes of data", len(data))
	}
	newitem := append([]byte(nil), data...)
	nposting, err := swapPosting(newitem, oposting, postingoff)
	if err != nil {
		return err
	}
	// Replace the posting list in place (MAXALIGN(size) bytes).
	start, _, _ := itemID(pg, offnum-1)
	end := start + maxAlign(len(nposting))
	if end > blockSize {
		return fmt.Errorf("posting list at %d overruns the page", start)
	}
	copy(pg[start:end], append(nposting, make([]byte, end-start-len(nposting))...))
	return addItem(pg, newitem, offnum)
}

// redoSplit replays SPLIT_L (newItemOnLeft) and SPLIT_R. Main data is
// xl_btree_split {level u32, firstrightoff u16, newitemoff u16, postingoff
// u16}.
func redoSplit(pg []byte, rec *wal.Record, blk *wal.BlockRef, newItemOnLeft bool) error {
	md, err := mainData(rec, 10)
	if err != nil {
		return err
	}
	level := u32(md, 0)
	firstRight := int(u16(md, 4))
	newItemOff := int(u16(md, 6))
	postingOff := int(u16(md, 8))
	isLeaf := level == 0
	orig, right := rec.Block(0), rec.Block(1)
	if orig == nil || right == nil {
		return fmt.Errorf("split record without blocks 0 and 1")
	}
	switch blk.ID {
	case 0:
		return splitLeft(pg, blk.Data, right.Blk, isLeaf, newItemOnLeft, firstRight, newItemOff, postingOff)
	case 1:
		var sib uint32 = pNone
		if s := rec.Block(2); s != nil {
			sib = s.Blk
		}
		o := pageInitBT(pg)
		o.setPrev(orig.Blk)
		o.setNext(sib)
		o.setLevel(level)
		if isLeaf {
			o.setFlags(FlagLeaf)
		}
		return restorePage(pg, blk.Data)
	case 2:
		o, err := btOpaque(pg)
		if err != nil {
			return err
		}
		o.setPrev(right.Blk)
		return nil
	case 3:
		if isLeaf {
			return errUnexpectedBlock
		}
		return clearIncompleteSplit(pg)
	}
	return errUnexpectedBlock
}

// splitLeft rebuilds the left half of a split on a temporary page, in item
// order, the way _bt_split built it on the primary.
func splitLeft(pg, data []byte, rightBlk uint32, isLeaf, newItemOnLeft bool, firstRight, newItemOff, postingOff int) error {
	if err := checkPage(pg); err != nil {
		return err
	}
	oo, err := btOpaque(pg)
	if err != nil {
		return err
	}
	var newitem, nposting []byte
	replacePostingOff := -1
	if newItemOnLeft || postingOff != 0 {
		t, rest, err := tupleFrom(data)
		if err != nil {
			return fmt.Errorf("new item: %w", err)
		}
		newitem, data = t, rest
		if postingOff != 0 {
			replacePostingOff = newItemOff - 1
			newitem = append([]byte(nil), newitem...)
			oposting, err := tupleAt(pg, replacePostingOff)
			if err != nil {
				return fmt.Errorf("posting list to split: %w", err)
			}
			if nposting, err = swapPosting(newitem, oposting, postingOff); err != nil {
				return err
			}
			nposting = padTo(nposting, maxAlign(len(nposting)))
		}
	}
	hikey, _, err := tupleFrom(data)
	if err != nil {
		return fmt.Errorf("left high key: %w", err)
	}
	left, err := tempCopySpecial(pg)
	if err != nil {
		return err
	}
	if err := addItem(left, hikey, pHikey); err != nil {
		return fmt.Errorf("left high key: %w", err)
	}
	leftOff := pHikey + 1
	off := oo.firstDataKey()
	for ; off < firstRight; off++ {
		if off == replacePostingOff {
			if err := addItem(left, nposting, leftOff); err != nil {
				return fmt.Errorf("replacement posting list: %w", err)
			}
			leftOff++
			continue
		} else if newItemOnLeft && off == newItemOff {
			if err := addItem(left, newitem, leftOff); err != nil {
				return fmt.Errorf("new item: %w", err)
			}
			leftOff++
		}
		item, err := getItem(pg, off)
		if err != nil {
			return err
		}
		if err := addItem(left, item, leftOff); err != nil {
			return fmt.Errorf("old item %d: %w", off, err)
		}
		leftOff++
	}
	if newItemOnLeft && off == newItemOff {
		if err := addItem(left, newitem, leftOff); err != nil {
			return fmt.Errorf("new item at end: %w", err)
		}
	}
	copy(pg, left)
	o := opaque(pg[pgSpecial(pg) : pgSpecial(pg)+opaqueSize])
	flags := FlagIncompleteSplit
	if isLeaf {
		flags |= FlagLeaf
	}
	o.setFlags(flags)
	o.setNext(rightBlk)
	o.setCycleID(0)
	return nil
}

func padTo(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	return append(b, make([]byte, n-len(b))...)
}
