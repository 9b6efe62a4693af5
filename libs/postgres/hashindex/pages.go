package hashindex

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/stratadb/strata/libs/postgres/page"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// spareIndex is _hash_spareindex: the splitpoint phase that holds bucket
// numBucket-1.
func spareIndex(numBucket uint32) uint32 {
	group := ceilLog2(numBucket)
	if group < 10 {
		return group
	}
	phases := uint32(10) + (group-10)<<2
	phases += ((numBucket - 1) >> (group - 3)) & 3
	return phases
}

// totalBuckets is _hash_get_totalbuckets.
func totalBuckets(phase uint32) uint32 {
	if phase < 10 {
		return 1 << phase
	}
	group := uint32(10) + (phase-10)>>2
	total := uint32(1) << (group - 1)
	within := ((phase - 10) & 3) + 1
	return total + ((uint32(1)<<(group-1))>>2)*within
}

// ceilLog2 is pg_ceil_log2_32.
func ceilLog2(n uint32) uint32 {
	if n <= 1 {
		return 0
	}
	return uint32(32 - bits.LeadingZeros32(n-1))
}

// nextPower2 is pg_nextpower2_32.
func nextPower2(n uint32) uint32 {
	if n&(n-1) == 0 {
		return n
	}
	return 1 << (32 - bits.LeadingZeros32(n))
}

// initMetaPage is _hash_init_metabuffer with initpage.
func initMetaPage(pg page.Page, numTuples float64, procID uint32, ffactor uint16) error {
	if ffactor == 0 {
		return fmt.Errorf("hash fill factor 0")
	}
	var numBuckets uint32
	d := numTuples / float64(ffactor)
	switch {
	case d <= 2.0 || math.IsNaN(d):
		numBuckets = 2
	case d >= float64(0x40000000):
		numBuckets = 0x40000000
	default:
		numBuckets = totalBuckets(spareIndex(uint32(d)))
	}
	spare := spareIndex(numBuckets)
	if spare >= maxSplitPoints {
		return fmt.Errorf("spare index %d out of range", spare)
	}
	if err := initBuf(pg, invalidBlock, invalidBlock, PageMeta); err != nil {
		return err
	}
	const bsize = page.Size - (page.HeaderSize + opaqueSize) // HashGetMaxBitmapSize
	lshift := uint16(31 - bits.LeadingZeros32(bsize))
	put32(pg, mdMagic, hashMagic)
	put32(pg, mdVersion, hashVersion)
	put16(pg, mdFFactor, ffactor)
	put16(pg, mdBSize, bsize)
	put16(pg, mdBMSize, 1<<lshift)
	put16(pg, mdBMShift, lshift+3)
	put32(pg, mdProcID, procID)
	put32(pg, mdMaxBucket, numBuckets-1)
	high := nextPower2(numBuckets+1) - 1
	put32(pg, mdHighMask, high)
	put32(pg, mdLowMask, high>>1)
	put32(pg, mdSpares+4*int(spare), 1)
	put32(pg, mdOvflPoint, spare)
	pg.SetLower(mdBase + metaSize)
	return nil
}

// metaIndex is the page offset of element i of a metapage uint32 array
// (spares or mapp) of n elements starting at base.
func metaIndex(base, i, n uint32) (int, error) {
	if i >= n {
		return 0, fmt.Errorf("metapage array index %d out of range %d", i, n)
	}
	return int(base + 4*i), nil
}

// redoAddOvflPage replays ADD_OVFL_PAGE: main data {bmsize u16,
// bmpage_found bool}; block 0 data is the bucket number (u32), block 2 data
// the bitmap bit to set (u32), block 4 data the new hashm_firstfree (u32).
func redoAddOvflPage(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if len(md) < 3 {
		return fmt.Errorf("main data is %d bytes, want 3", len(md))
	}
	ovfl, left := rec.Block(0), rec.Block(1)
	if ovfl == nil || left == nil {
		return fmt.Errorf("record without blocks 0 and 1")
	}
	switch blk.ID {
	case 0:
		if len(blk.Data) < 4 {
			return fmt.Errorf("bucket number missing")
		}
		if err := initBuf(pg, invalidBlock, u32(blk.Data, 0), PageOverflow); err != nil {
			return err
		}
		opaque(pg[page.Size-opaqueSize:]).setPrev(left.Blk)
		return nil
	case 1:
		o, err := hashOpaque(pg)
		if err != nil {
			return err
		}
		o.setNext(ovfl.Blk)
		return nil
	case 2:
		return setBitmapBit(pg, blk.Data, true)
	case 3:
		return initBitmapPage(pg, int(u16(md, 0)))
	case 4:
		if len(blk.Data) < 4 {
			return fmt.Errorf("first free overflow page missing")
		}
		if err := checkMeta(pg); err != nil {
			return err
		}
		put32(pg, mdFirstFree, u32(blk.Data, 0))
		if md[2] == 0 { // !bmpage_found
			ovp := u32(pg, mdOvflPoint)
			at, err := metaIndex(mdSpares, ovp, maxSplitPoints)
			if err != nil {
				return err
			}
			put32(pg, at, u32(pg, at)+1)
			if nb := rec.Block(3); nb != nil {
				nmaps := u32(pg, mdNMaps)
				m, err := metaIndex(mdMapp, nmaps, maxBitmaps)
				if err != nil {
					return err
				}
				put32(pg, m, nb.Blk)
				put32(pg, mdNMaps, nmaps+1)
				put32(pg, at, u32(pg, at)+1)
			}
		}
		return nil
	}
	return errUnexpectedBlock
}

// setBitmapBit sets (or clears) the bit numbered by data's u32 in the
// bitmap page's uint32 words.
func setBitmapBit(pg page.Page, data []byte, set bool) error {
	if len(data) < 4 {
		return fmt.Errorf("bitmap bit missing")
	}
	bit := u32(data, 0)
	at := page.HeaderSize + 4*int(bit/32)
	if at+4 > pg.Special() || pg.Special() > page.Size {
		return fmt.Errorf("bitmap bit %d beyond the page", bit)
	}
	w := u32(pg, at)
	if set {
		w |= 1 << (bit % 32)
	} else {
		w &^= 1 << (bit % 32)
	}
	put32(pg, at, w)
	return nil
}

// redoSplitAllocate replays SPLIT_ALLOCATE_PAGE: main data {new_bucket u32,
// old_bucket_flag u16, new_bucket_flag u16, flags u8}; block 2 data holds
// the new masks and/or splitpoint as flagged.
func redoSplitAllocate(pg page.Page, rec *wal.Record, blk *wal.BlockRef) error {
	md := rec.MainData
	if len(md) < 9 {
		return fmt.Errorf("main data is %d bytes, want 9", len(md))
	}
	newBucket := u32(md, 0)
	switch blk.ID {
	case 0:
		o, err := hashOpaque(pg)
		if err != nil {
			return err
		}
		o.setFlag(u16(md, 4))
		o.setPrev(newBucket)
		return nil
	case 1:
		return initBuf(pg, newBucket, newBucket, u16(md, 6))
	case 2:
		if err := checkMeta(pg); err != nil {
			return err
		}
		put32(pg, mdMaxBucket, newBucket)
		data := blk.Data
		if md[8]&splitMetaUpdateMasks != 0 {
			if len(data) < 8 {
				return fmt.Errorf("masks missing")
			}
			put32(pg, mdLowMask, u32(data, 0))
			put32(pg, mdHighMask, u32(data, 4))
			data = data[8:]
		}
		if md[8]&splitMetaUpdateSplitpoint != 0 {
			if len(data) < 8 {
				return fmt.Errorf("splitpoint missing")
			}
			ovp := u32(data, 0)
			at, err := metaIndex(mdSpares, ovp, maxSplitPoints)
			if err != nil {
				return err
			}
			put32(pg, at, u32(data, 4))
			put32(pg, mdOvflPoint, ovp)
		}
		return nil
	}
	return errUnexpectedBlock
}

// redoMoveOrSqueeze replays MOVE_PAGE_CONTENTS and SQUEEZE_PAGE. Block 1
// data is ntups target offsets (u16) followed by the MAXALIGNed tuples;
// block 2 data (MOVE) the offsets to delete. SQUEEZE also frees block 2 and
// relinks the chain (prevSame: the write page is the freed page's
// predecessor).
func redoMoveOrSqueeze(pg page.Page, rec *wal.Record, blk *wal.BlockRef, ntups int, squeeze, prevSame bool, nextBlk uint32) error {
	md := rec.MainData
	switch {
	case blk.ID == 0:
		return nil // primary bucket page, only cleanup-locked
	case blk.ID == 1:
		if ntups > 0 {
			data := blk.Data
			if len(data) < 2*ntups {
				return fmt.Errorf("%d target offsets do not fit in %d bytes", ntups, len(data))
			}
			offs, data := data[:2*ntups], data[2*ntups:]
			for n := 0; len(data) > 0; n++ {
				if len(data) < 8 {
					return fmt.Errorf("tuple %d truncated", n)
				}
				sz := (int(u16(data, 6)&0x1FFF) + 7) &^ 7
				if sz == 0 || sz > len(data) {
					return fmt.Errorf("tuple %d of size %d in %d bytes", n, sz, len(data))
				}
				if n >= ntups {
					return fmt.Errorf("more tuples than the %d target offsets", ntups)
				}
				if _, err := pg.AddItem(data[:sz], u16(offs, 2*n), 0); err != nil {
					return fmt.Errorf("tuple %d: %w", n, err)
				}
				data = data[sz:]
			}
		}
		if squeeze && prevSame {
			o, err := hashOpaque(pg)
			if err != nil {
				return err
			}
			o.setNext(nextBlk)
		}
		return nil
	case blk.ID == 2 && !squeeze:
		return multiDelete(pg, blk.Data)
	case !squeeze:
		return errUnexpectedBlock
	}
	switch blk.ID {
	case 2:
		return initBuf(pg, invalidBlock, invalidBlock, PageUnused)
	case 3:
		if prevSame {
			return errUnexpectedBlock
		}
		o, err := hashOpaque(pg)
		if err != nil {
			return err
		}
		o.setNext(nextBlk)
		return nil
	case 4:
		o, err := hashOpaque(pg)
		if err != nil {
			return err
		}
		o.setPrev(u32(md, 0))
		return nil
	case 5:
		return setBitmapBit(pg, blk.Data, false)
	case 6:
		if len(blk.Data) < 4 {
			return fmt.Errorf("first free overflow page missing")
		}
		if err := checkMeta(pg); err != nil {
			return err
		}
		put32(pg, mdFirstFree, u32(blk.Data, 0))
		return nil
	}
	return errUnexpectedBlock
}
