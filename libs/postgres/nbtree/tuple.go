package nbtree

import "fmt"

// IndexTupleData (itup.h) and the nbtree tuple encodings (nbtree.h):
//
//	0 t_tid.bi_hi  u16  \ heap block (or posting offset, downlink, top parent)
//	2 t_tid.bi_lo  u16  /
//	4 t_tid.ip_posid u16  heap offset, or status bits + count for pivots/postings
//	6 t_info       u16  size (low 13 bits) | 0x2000 INDEX_ALT_TID_MASK | ...
//	8 key data ...
//
// A posting tuple has INDEX_ALT_TID_MASK set and BT_IS_POSTING in ip_posid;
// its low 12 bits of ip_posid hold the number of heap TIDs and its t_tid
// block number holds the byte offset of the TID array inside the tuple.
const (
	indexTupleHeader = 8
	tidSize          = 6
	indexSizeMask    = 0x1FFF
	indexAltTIDMask  = 0x2000
	btOffsetMask     = 0x0FFF
	btIsPosting      = 0x2000
)

func tupleSize(t []byte) int { return int(u16(t, 6) & indexSizeMask) }

func tidBlock(t []byte) uint32 { return uint32(u16(t, 0))<<16 | uint32(u16(t, 2)) }

func setTIDBlock(t []byte, blk uint32) {
	put16(t, 0, uint16(blk>>16))
	put16(t, 2, uint16(blk))
}

func isPosting(t []byte) bool {
	return u16(t, 6)&indexAltTIDMask != 0 && u16(t, 4)&btIsPosting != 0
}

// postingList returns the number of heap TIDs of posting tuple t and the
// byte offset of its TID array, checking that the array lies inside t.
func postingList(t []byte) (n, off int, err error) {
	if !isPosting(t) {
		return 0, 0, fmt.Errorf("tuple is not a posting list tuple")
	}
	n = int(u16(t, 4) & btOffsetMask)
	off = int(tidBlock(t))
	if off < indexTupleHeader || off+n*tidSize > len(t) {
		return 0, 0, fmt.Errorf("posting list of %d TIDs at offset %d does not fit in a %d-byte tuple", n, off, len(t))
	}
	return n, off, nil
}

// tupleAt returns the index tuple at line pointer off, IndexTupleSize bytes
// long (as PostgreSQL reads it through PageGetItem).
func tupleAt(pg []byte, off int) ([]byte, error) {
	if off < 1 || off > maxOffset(pg) {
		return nil, fmt.Errorf("item offset %d out of range 1..%d", off, maxOffset(pg))
	}
	o, _, _ := itemID(pg, off)
	if o < pageHeaderSize || o+indexTupleHeader > blockSize {
		return nil, fmt.Errorf("corrupted line pointer %d: offset %d", off, o)
	}
	sz := tupleSize(pg[o:])
	if sz < indexTupleHeader || o+sz > blockSize {
		return nil, fmt.Errorf("index tuple at offset %d has impossible size %d", off, sz)
	}
	return pg[o : o+sz : o+sz], nil
}

// tupleFrom reads one MAXALIGNed index tuple from the front of data and
// returns it and the rest.
func tupleFrom(data []byte) (tup, rest []byte, err error) {
	if len(data) < indexTupleHeader {
		return nil, nil, fmt.Errorf("index tuple truncated: %d bytes", len(data))
	}
	sz := maxAlign(tupleSize(data))
	if sz < indexTupleHeader || sz > len(data) {
		return nil, nil, fmt.Errorf("index tuple of size %d in %d bytes of data", sz, len(data))
	}
	return data[:sz:sz], data[sz:], nil
}

// swapPosting is _bt_swap_posting: it returns a copy of oposting with
// newitem's heap TID put in at postingoff (dropping the largest TID), and
// gives newitem (modified in place) that largest TID.
func swapPosting(newitem, oposting []byte, postingoff int) ([]byte, error) {
	n, off, err := postingList(oposting)
	if err != nil {
		return nil, err
	}
	if postingoff <= 0 || postingoff >= n {
		return nil, fmt.Errorf("posting list tuple with %d items cannot be split at offset %d", n, postingoff)
	}
	if len(newitem) < indexTupleHeader {
		return nil, fmt.Errorf("new item truncated: %d bytes", len(newitem))
	}
	np := append([]byte(nil), oposting...)
	rp := off + postingoff*tidSize
	copy(np[rp+tidSize:], np[rp:off+(n-1)*tidSize])
	copy(np[rp:rp+tidSize], newitem[:tidSize])
	maxTID := off + (n-1)*tidSize
	copy(newitem[:tidSize], oposting[maxTID:maxTID+tidSize])
	return np, nil
}

// formPosting is _bt_form_posting: a tuple with base's key and the given
// heap TIDs (a plain tuple when there is one TID).
func formPosting(base []byte, htids []byte) ([]byte, error) {
	keysize := tupleSize(base)
	if isPosting(base) {
		keysize = int(tidBlock(base))
	}
	if keysize < indexTupleHeader || keysize > len(base) {
		return nil, fmt.Errorf("posting base key size %d outside a %d-byte tuple", keysize, len(base))
	}
	return buildPosting(base[:keysize], htids)
}

// buildPosting builds a tuple from key bytes (header included) and the heap
// TIDs in htids (6 bytes each).
func buildPosting(key []byte, htids []byte) ([]byte, error) {
	keysize := len(key)
	n := len(htids) / tidSize
	if n < 1 {
		return nil, fmt.Errorf("posting tuple with no heap TIDs")
	}
	newsize := keysize
	if n > 1 {
		newsize = maxAlign(keysize + n*tidSize)
	}
	if newsize > indexSizeMask || n > btOffsetMask {
		return nil, fmt.Errorf("posting tuple of %d bytes with %d TIDs is too large", newsize, n)
	}
	t := make([]byte, newsize)
	copy(t, key)
	put16(t, 6, u16(t, 6)&^indexSizeMask|uint16(newsize))
	if n > 1 {
		put16(t, 6, u16(t, 6)|indexAltTIDMask)
		put16(t, 4, uint16(n)|btIsPosting)
		setTIDBlock(t, uint32(keysize))
		copy(t[keysize:], htids)
	} else {
		put16(t, 6, u16(t, 6)&^indexAltTIDMask)
		copy(t[:tidSize], htids)
	}
	return t, nil
}

// updatePosting is _bt_update_posting: orig without the TIDs at the
// (ascending) posting-list positions in del.
func updatePosting(orig []byte, del []uint16) ([]byte, error) {
	n, off, err := postingList(orig)
	if err != nil {
		return nil, err
	}
	keep := n - len(del)
	if keep <= 0 {
		return nil, fmt.Errorf("deleting %d of %d posting list TIDs", len(del), n)
	}
	htids := make([]byte, 0, keep*tidSize)
	d := 0
	for i := 0; i < n; i++ {
		if d < len(del) && int(del[d]) == i {
			d++
			continue
		}
		htids = append(htids, orig[off+i*tidSize:off+(i+1)*tidSize]...)
	}
	if d != len(del) || len(htids) != keep*tidSize {
		return nil, fmt.Errorf("posting list TIDs to delete are not ascending positions below %d", n)
	}
	return buildPosting(orig[:off], htids)
}
