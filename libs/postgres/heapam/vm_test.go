package heapam

import (
	"testing"

	"github.com/stratadb/strata/libs/postgres/page"
)

func TestVisibilityMapBitPositions(t *testing.T) {
	if HeapBlocksPerVMPage != 32672 {
		t.Fatalf("HeapBlocksPerVMPage = %d", HeapBlocksPerVMPage)
	}
	pg := make(page.Page, page.Size)
	_ = pg.Init(0)
	hb := uint32(HeapBlocksPerVMPage + 6) // vm block 1, byte 1, bits 4-5
	changed, err := VMSet(pg, 1, hb, VMAllVisible|VMAllFrozen)
	if err != nil || !changed || pg[24+1] != 0x30 {
		t.Fatalf("set: %v %v byte %#x", changed, err, pg[25])
	}
	if changed, _ := VMSet(pg, 1, hb, VMAllVisible|VMAllFrozen); changed {
		t.Fatal("setting bits already set reported a change")
	}
	if err := VMClear(pg, 1, hb, VMAllFrozen); err != nil || pg[25] != 0x10 {
		t.Fatalf("clear: %v byte %#x", err, pg[25])
	}
	if bits, _ := VMGet(pg, 1, hb); bits != VMAllVisible {
		t.Fatalf("bits %d", bits)
	}
	if err := VMClear(pg, 0, hb, VMValidBits); err == nil {
		t.Fatal("heap block of another VM page accepted")
	}
	if err := VMTruncate(pg, VMMapSize, 0); err == nil {
		t.Fatal("truncation byte beyond the map accepted")
	}
}

func TestInfobitsMapToInfomask(t *testing.T) {
	tup := make(tuple, TupleHeaderLen)
	tup.setInfomask(xmaxIsMulti | xmaxLockOnly | 0x0003)
	tup.setInfomask2(keysUpdated | 5)
	tup.fixInfobits(xlhlXmaxExclLck | xlhlXmaxKeyshr)
	if tup.infomask() != xmaxExclLock|xmaxKeyshrLock|0x0003 || tup.infomask2() != 5 {
		t.Fatalf("infomask %#x infomask2 %#x", tup.infomask(), tup.infomask2())
	}
	if !xmaxIsLockedOnly(xmaxExclLock) || xmaxIsLockedOnly(xmaxExclLock|xmaxKeyshrLock) || !xmaxIsLockedOnly(xmaxLockOnly) {
		t.Fatal("HEAP_XMAX_IS_LOCKED_ONLY")
	}
}
