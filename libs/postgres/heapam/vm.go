package heapam

import (
	"fmt"

	"github.com/stratadb/strata/libs/postgres/page"
)

// Visibility map layout (visibilitymap.c): after the MAXALIGNed page header,
// two bits per heap block, four heap blocks per byte, low bits first.
const (
	VMAllVisible = 0x01 // VISIBILITYMAP_ALL_VISIBLE
	VMAllFrozen  = 0x02 // VISIBILITYMAP_ALL_FROZEN
	VMValidBits  = 0x03 // VISIBILITYMAP_VALID_BITS

	vmContents = page.HeaderSize // MAXALIGN(SizeOfPageHeaderData)
	// VMMapSize is the number of bitmap bytes on a VM page.
	VMMapSize = page.Size - vmContents
	// HeapBlocksPerVMPage is how many heap blocks one VM page covers.
	HeapBlocksPerVMPage = VMMapSize * 4
)

// VMBlock returns the VM block that holds heapBlk's bits.
func VMBlock(heapBlk uint32) uint32 { return heapBlk / HeapBlocksPerVMPage }

// vmPos returns the byte (relative to the page) and bit shift of heapBlk.
func vmPos(heapBlk uint32) (int, uint) {
	return vmContents + int(heapBlk%HeapBlocksPerVMPage)/4, uint(heapBlk%4) * 2
}

func checkVM(pg page.Page, vmBlk, heapBlk uint32) error {
	if len(pg) != page.Size {
		return fmt.Errorf("vm page has %d bytes, want %d", len(pg), page.Size)
	}
	if VMBlock(heapBlk) != vmBlk {
		return fmt.Errorf("heap block %d maps to vm block %d, not %d", heapBlk, VMBlock(heapBlk), vmBlk)
	}
	return nil
}

// VMClear clears flags for heapBlk on VM page vmBlk (visibilitymap_clear).
// Like PostgreSQL, it does not change the page LSN.
func VMClear(pg page.Page, vmBlk, heapBlk uint32, flags uint8) error {
	if err := checkVM(pg, vmBlk, heapBlk); err != nil {
		return err
	}
	b, shift := vmPos(heapBlk)
	pg[b] &^= (flags & VMValidBits) << shift
	return nil
}

// VMGet returns heapBlk's bits on VM page vmBlk.
func VMGet(pg page.Page, vmBlk, heapBlk uint32) (uint8, error) {
	if err := checkVM(pg, vmBlk, heapBlk); err != nil {
		return 0, err
	}
	b, shift := vmPos(heapBlk)
	return pg[b] >> shift & VMValidBits, nil
}

// VMSet ORs flags into heapBlk's bits (visibilitymap_set during recovery). It
// reports whether the bits differed, in which case PostgreSQL also sets the
// page LSN.
func VMSet(pg page.Page, vmBlk, heapBlk uint32, flags uint8) (bool, error) {
	if err := checkVM(pg, vmBlk, heapBlk); err != nil {
		return false, err
	}
	b, shift := vmPos(heapBlk)
	if flags == pg[b]>>shift&VMValidBits {
		return false, nil
	}
	pg[b] |= flags << shift
	return true, nil
}

// VMTruncate clears the bits of every heap block from the truncation point on
// the last remaining VM page (visibilitymap_prepare_truncate): bytes after
// truncByte are zeroed, and in truncByte only the bits below truncOffs are
// kept. truncByte is relative to the bitmap (0..VMMapSize-1), truncOffs is a
// bit offset (0, 2, 4 or 6).
func VMTruncate(pg page.Page, truncByte uint32, truncOffs uint8) error {
	if len(pg) != page.Size {
		return fmt.Errorf("vm page has %d bytes, want %d", len(pg), page.Size)
	}
	if truncByte >= VMMapSize || truncOffs >= 8 {
		return fmt.Errorf("vm truncate at byte %d offset %d out of range", truncByte, truncOffs)
	}
	m := pg[vmContents:]
	clear(m[truncByte+1:])
	m[truncByte] &= byte(1)<<truncOffs - 1
	return nil
}

// VMTruncatePoint returns the VM block, byte and bit offset where a heap
// truncated to nHeapBlocks blocks cuts its visibility map. When byte and
// offset are both 0 the VM simply ends before block vmBlk and no page is
// modified.
func VMTruncatePoint(nHeapBlocks uint32) (vmBlk, truncByte uint32, truncOffs uint8) {
	return VMBlock(nHeapBlocks), (nHeapBlocks % HeapBlocksPerVMPage) / 4, uint8(nHeapBlocks%4) * 2
}
