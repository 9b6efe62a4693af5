package mask

import "encoding/binary"

// Heap tuple header (HeapTupleHeaderData) offsets and bits.
const (
	htCid       = 8  // t_cid (t_field3)
	htCtidBlkHi = 12 // t_ctid.ip_blkid.bi_hi
	htCtidPos   = 16 // t_ctid.ip_posid
	htInfomask  = 20 // t_infomask
	htMinSize   = 23 // through t_hoff

	heapXminCommitted = 0x0100
	heapXminInvalid   = 0x0200
	heapXminFrozen    = heapXminCommitted | heapXminInvalid
	heapXmaxCommitted = 0x0400
	heapXmaxInvalid   = 0x0800
	heapXactMask      = 0xFFF0

	specTokenOffsetNumber = 0xfffe
)

// Heap is heap_mask (Heap and Heap2 records; also applied to the
// visibility-map page of Heap2 VISIBLE).
func Heap(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	HintBits(p)
	if err := UnusedSpace(p); err != nil {
		return err
	}
	for off := 1; off <= maxOffset(p); off++ {
		id := itemID(p, off)
		item, n := lpOff(id), lpLen(id)
		if lpFlags(id) == lpNormal && item+htMinSize <= PageSize {
			im := binary.LittleEndian.Uint16(p[item+htInfomask:])
			if im&heapXminFrozen != heapXminFrozen {
				im &^= heapXactMask
			} else {
				im &^= heapXmaxInvalid | heapXmaxCommitted
			}
			binary.LittleEndian.PutUint16(p[item+htInfomask:], im)
			clear(p[item+htCid : item+htCid+4])
			if binary.LittleEndian.Uint16(p[item+htCtidPos:]) == specTokenOffsetNumber {
				// ItemPointerSet(&t_ctid, blkno, off)
				binary.LittleEndian.PutUint16(p[item+htCtidBlkHi:], uint16(blkno>>16))
				binary.LittleEndian.PutUint16(p[item+htCtidBlkHi+2:], uint16(blkno))
				binary.LittleEndian.PutUint16(p[item+htCtidPos:], uint16(off))
			}
		}
		if n != 0 { // ItemIdHasStorage: mask the padding up to MAXALIGN
			if end, pad := item+n, (8-n%8)%8; pad > 0 && end+pad <= PageSize {
				clear(p[end : end+pad])
			}
		}
	}
	return nil
}

// Btree opaque (BTPageOpaqueData at pd_special, 16 bytes).
const (
	btFlags      = 12
	btCycleID    = 14
	btpLeaf      = 1 << 0
	btpSplitEnd  = 1 << 5
	btpHasGarbge = 1 << 6
)

// Btree is btree_mask.
func Btree(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	HintBits(p)
	if err := UnusedSpace(p); err != nil {
		return err
	}
	s, err := specialArea(p, 16)
	if err != nil {
		return err
	}
	flags := u16(p, s+btFlags)
	if flags&btpLeaf != 0 {
		LPFlags(p)
	}
	put16(p, s+btFlags, flags&^(btpHasGarbge|btpSplitEnd))
	put16(p, s+btCycleID, 0)
	return nil
}

// Hash opaque (HashPageOpaqueData at pd_special, 16 bytes).
const (
	hashFlag            = 12
	lhOverflowPage      = 1 << 0
	lhBucketPage        = 1 << 1
	lhPageType          = 0x0F
	lhPageHasDeadTuples = 1 << 7
)

// Hash is hash_mask.
func Hash(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	HintBits(p)
	if err := UnusedSpace(p); err != nil {
		return err
	}
	s, err := specialArea(p, 16)
	if err != nil {
		return err
	}
	switch u16(p, s+hashFlag) & lhPageType {
	case 0: // LH_UNUSED_PAGE
		PageContent(p)
	case lhBucketPage, lhOverflowPage:
		LPFlags(p)
	}
	// The opaque is masked after the content, as PostgreSQL does: on an
	// unused page it was just zeroed, so this is a no-op there.
	put16(p, s+hashFlag, u16(p, s+hashFlag)&^lhPageHasDeadTuples)
	return nil
}

const ginDeleted = 1 << 2 // GinPageOpaqueData.flags (offset 6) bit

// Gin is gin_mask.
func Gin(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	s, err := specialArea(p, 8)
	if err != nil {
		return err
	}
	HintBits(p)
	if u16(p, s+6)&ginDeleted != 0 {
		PageContent(p)
		return nil
	}
	if lower(p) > pageHeaderSize {
		return UnusedSpace(p)
	}
	return nil
}

// Gist opaque (GISTPageOpaqueData at pd_special, 16 bytes: nsn u64,
// rightlink u32, flags u16, page id u16).
const (
	gistFlags      = 12
	gistLeaf       = 1 << 0
	gistFollowRt   = 1 << 3
	gistHasGarbage = 1 << 4
)

// Gist is gist_mask.
func Gist(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	HintBits(p)
	if err := UnusedSpace(p); err != nil {
		return err
	}
	s, err := specialArea(p, 16)
	if err != nil {
		return err
	}
	clear(p[s : s+8]) // NSN
	flags := u16(p, s+gistFlags) | gistFollowRt
	put16(p, s+gistFlags, flags)
	if flags&gistLeaf != 0 {
		LPFlags(p)
	}
	put16(p, s+gistFlags, u16(p, s+gistFlags)&^gistHasGarbage)
	return nil
}

// SPGist is spg_mask.
func SPGist(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	HintBits(p)
	if lower(p) >= pageHeaderSize {
		return UnusedSpace(p)
	}
	return nil
}

// BRIN special space: the last 8 bytes of the page region at pd_special;
// the page type is its last u16, the flags the one before.
const (
	brinTypeMeta     = 0xF091
	brinTypeRegular  = 0xF093
	brinEvacuatePage = 1 << 0
)

// BRIN is brin_mask.
func BRIN(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	HintBits(p)
	s, err := specialArea(p, 8)
	if err != nil {
		return err
	}
	typ := u16(p, s+6)
	if typ == brinTypeRegular || typ == brinTypeMeta && lower(p) > pageHeaderSize {
		if err := UnusedSpace(p); err != nil {
			return err
		}
	}
	put16(p, s+4, u16(p, s+4)&^brinEvacuatePage)
	return nil
}

// Seq is seq_mask.
func Seq(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	return UnusedSpace(p)
}

// Generic is generic_mask.
func Generic(p []byte, blkno uint32) error {
	if err := checkSize(p); err != nil {
		return err
	}
	PageLSNAndChecksum(p)
	return UnusedSpace(p)
}
