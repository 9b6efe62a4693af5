package slru

import (
	"encoding/binary"
	"testing"
)

func TestClogStatusBitsPackLowFirst(t *testing.T) {
	pg := make([]byte, PageSize)
	for xid, st := range map[uint32]uint8{4: StatusCommitted, 5: StatusAborted, 6: StatusSubCommitted, 7: StatusCommitted} {
		if err := ClogSetStatus(pg, 0, xid, st); err != nil {
			t.Fatal(err)
		}
	}
	// byte 1 holds xids 4..7: 01 | 10<<2 | 11<<4 | 01<<6
	if pg[1] != 0x01|0x02<<2|0x03<<4|0x01<<6 {
		t.Fatalf("byte 1 = %08b", pg[1])
	}
	if err := ClogSetStatus(pg, 0, 5, StatusCommitted); err != nil {
		t.Fatal(err)
	}
	if st, _ := ClogStatus(pg, 0, 5); st != StatusCommitted {
		t.Fatalf("status %d", st)
	}
	if err := ClogSetStatus(pg, 0, ClogXactsPerPage, StatusCommitted); err == nil {
		t.Fatal("xid of the next page accepted")
	}
	if err := ClogSetStatus(pg, 1, ClogXactsPerPage+3, StatusAborted); err != nil {
		t.Fatal(err)
	}
	if pg[0]>>6 != StatusAborted {
		t.Fatalf("xid 32771 landed in byte 0 bits %08b", pg[0])
	}
}

func TestMultiXactOffsetsAreUint32PerID(t *testing.T) {
	pg := make([]byte, PageSize)
	if err := MultiXactSetOffset(pg, 1, 2048+3, 99); err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint32(pg[12:]); got != 99 {
		t.Fatalf("entry 3 = %d", got)
	}
	if err := MultiXactSetOffset(pg, 0, 2048, 1); err == nil {
		t.Fatal("id of another page accepted")
	}
}

func TestMultiXactMembersUseTwentyByteGroups(t *testing.T) {
	pg := make([]byte, PageSize)
	// offset 1636+6 is page 1, group 1, member 2.
	off := uint32(MultiXactMembersPerPage + 6)
	if err := MultiXactSetMember(pg, 1, off, 1234, 5); err != nil {
		t.Fatal(err)
	}
	if pg[20+2] != 5 || binary.LittleEndian.Uint32(pg[20+4+8:]) != 1234 {
		t.Fatalf("group bytes % x", pg[20:40])
	}
	if xid, st, err := MultiXactMember(pg, 1, off); err != nil || xid != 1234 || st != 5 {
		t.Fatalf("read back %d %d %v", xid, st, err)
	}
	if err := MultiXactSetMember(pg, 1, off, 1, 6); err == nil {
		t.Fatal("invalid status accepted")
	}
	if MultiXactMembersPerPage != 1636 || MultiXactGroupsPerPage != 409 {
		t.Fatal("layout constants")
	}
}

func TestShortPagesAreErrors(t *testing.T) {
	short := make([]byte, 10)
	if ClogSetStatus(short, 0, 1, 1) == nil || MultiXactSetOffset(short, 0, 1, 1) == nil || MultiXactSetMember(short, 0, 1, 1, 1) == nil {
		t.Fatal("short page accepted")
	}
}
