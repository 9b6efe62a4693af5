package nbtree

import (
	"fmt"

	"github.com/stratadb/strata/libs/postgres/wal"
)

// dedupState is BTDedupStateData, reduced to what redo needs: the pending
// posting list being built from consecutive tuples.
type dedupState struct {
	base        []byte // first tuple of the pending group
	baseOff     int
	baseTupSize int    // key size of base (posting offset or tuple size)
	htids       []byte // heap TIDs gathered so far, 6 bytes each
	nitems      int
	nintervals  int
}

// startPending is _bt_dedup_start_pending.
func (s *dedupState) startPending(base []byte, off int) error {
	s.htids = s.htids[:0]
	if isPosting(base) {
		n, po, err := postingList(base)
		if err != nil {
			return err
		}
		s.htids = append(s.htids, base[po:po+n*tidSize]...)
		s.baseTupSize = po
	} else {
		s.htids = append(s.htids, base[:tidSize]...)
		s.baseTupSize = tupleSize(base)
	}
	s.nitems = 1
	s.base = base
	s.baseOff = off
	return nil
}

// saveHTID is _bt_dedup_save_htid: merge itup's TIDs into the pending list
// if the result stays within maxPostingSize.
func (s *dedupState) saveHTID(itup []byte) (bool, error) {
	var tids []byte
	if isPosting(itup) {
		n, po, err := postingList(itup)
		if err != nil {
			return false, err
		}
		tids = itup[po : po+n*tidSize]
	} else {
		tids = itup[:tidSize]
	}
	merged := maxAlign(s.baseTupSize + len(s.htids) + len(tids))
	if merged > maxPostingSize {
		return false, nil
	}
	s.nitems++
	s.htids = append(s.htids, tids...)
	return true, nil
}

// finishPending is _bt_dedup_finish_pending: add the pending group to
// newpage as one tuple (unchanged if it had a single item).
func (s *dedupState) finishPending(newpage []byte) error {
	off := maxOffset(newpage) + 1
	if s.nitems == 1 {
		if err := addItem(newpage, s.base, off); err != nil {
			return fmt.Errorf("dedup: %w", err)
		}
	} else {
		final, err := formPosting(s.base, s.htids)
		if err != nil {
			return err
		}
		if err := addItem(newpage, final, off); err != nil {
			return fmt.Errorf("dedup: %w", err)
		}
		s.nintervals++
	}
	s.htids = s.htids[:0]
	s.nitems = 0
	return nil
}

// redoDedup replays DEDUP: main data xl_btree_dedup {nintervals u16};
// block 0 data is an array of BTDedupInterval {baseoff u16, nitems u16}.
// The page is rebuilt by merging, for each interval, nitems consecutive
// tuples starting at baseoff into one posting list tuple.
func redoDedup(pg []byte, rec *wal.Record, blk *wal.BlockRef) error {
	if blk.ID != 0 {
		return errUnexpectedBlock
	}
	md, err := mainData(rec, 2)
	if err != nil {
		return err
	}
	nint := int(u16(md, 0))
	iv, _, err := u16s(blk.Data, 2*nint)
	if err != nil {
		return fmt.Errorf("dedup intervals: %w", err)
	}
	if err := checkPage(pg); err != nil {
		return err
	}
	o, err := btOpaque(pg)
	if err != nil {
		return err
	}
	minOff, maxOff := o.firstDataKey(), maxOffset(pg)
	newpage, err := tempCopySpecial(pg)
	if err != nil {
		return err
	}
	if !o.rightmost() {
		hk, err := getItem(pg, pHikey)
		if err != nil {
			return fmt.Errorf("high key: %w", err)
		}
		if err := addItem(newpage, hk, pHikey); err != nil {
			return fmt.Errorf("high key: %w", err)
		}
	}
	s := &dedupState{htids: make([]byte, 0, maxPostingSize)}
	started := false
	for off := minOff; off <= maxOff; off++ {
		itup, err := tupleAt(pg, off)
		if err != nil {
			return err
		}
		switch {
		case off == minOff:
			err = s.startPending(itup, off)
			started = true
		case s.nintervals < nint && s.baseOff == int(iv[2*s.nintervals]) && s.nitems < int(iv[2*s.nintervals+1]):
			var ok bool
			if ok, err = s.saveHTID(itup); err == nil && !ok {
				err = fmt.Errorf("deduplication failed to add heap tid to pending posting list")
			}
		default:
			if err = s.finishPending(newpage); err == nil {
				err = s.startPending(itup, off)
			}
		}
		if err != nil {
			return fmt.Errorf("item %d: %w", off, err)
		}
	}
	if !started {
		return fmt.Errorf("dedup of a page without data items")
	}
	if err := s.finishPending(newpage); err != nil {
		return err
	}
	if s.nintervals != nint {
		return fmt.Errorf("dedup produced %d intervals, record has %d", s.nintervals, nint)
	}
	no := opaque(newpage[pgSpecial(newpage) : pgSpecial(newpage)+opaqueSize])
	if no.hasFlag(FlagHasGarbage) {
		no.setFlags(no.flags() &^ FlagHasGarbage)
	}
	copy(pg, newpage)
	return nil
}
