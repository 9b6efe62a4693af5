package startwal

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/controlfile"
)

func TestPlaceFindsARecordBoundaryWhereTheRecordFits(t *testing.T) {
	tests := []struct {
		name string
		at   string
		want string
	}{
		{"an aligned LSN in the middle of a page is kept", "0/1511A88", "0/1511A88"},
		{"an unaligned LSN is rounded up to 8 bytes", "0/1511A81", "0/1511A88"},
		{"a page boundary moves past the short page header", "0/1512000", "0/1512018"},
		{"a segment boundary moves past the long page header", "0/2000000", "0/2000028"},
		{"too little room left in the page moves to the next page", "0/1513FC0", "0/1514018"},
		{"too little room at the end of a segment moves to the next segment", "0/1FFFFC0", "0/2000028"},
		{"exactly enough room stays", "0/1513F88", "0/1513F88"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Place(lsn.MustParse(tt.at)); got != lsn.MustParse(tt.want) {
				t.Fatalf("Place(%s) = %s, want %s", tt.at, got, tt.want)
			}
		})
	}
}

func TestBuildWritesAValidRecordAndHeaders(t *testing.T) {
	cp := controlfile.CheckPoint{ThisTimeLineID: 3, PrevTimeLineID: 3, FullPageWrites: true, NextXid: 1000, NextOid: 20000, NextMulti: 1, OldestXid: 716, OldestXidDB: 1, OldestMulti: 1, OldestMultiDB: 1}
	seg, err := Build(42, lsn.MustParse("0/3003234"), lsn.MustParse("0/3003200"), cp)
	if err != nil {
		t.Fatal(err)
	}
	if seg.Name != "000000030000000000000003" {
		t.Errorf("Name = %s", seg.Name)
	}
	if seg.CheckpointLSN != lsn.MustParse("0/3003238") || seg.CheckPoint.Redo != seg.CheckpointLSN {
		t.Errorf("CheckpointLSN = %s, redo %s", seg.CheckpointLSN, seg.CheckPoint.Redo)
	}
	if seg.EndLSN != seg.CheckpointLSN+120 {
		t.Errorf("EndLSN = %s", seg.EndLSN)
	}
	le := binary.LittleEndian
	d := seg.Data
	if le.Uint16(d[0:]) != pageMagic || le.Uint16(d[2:]) != xlpLongHeader || le.Uint64(d[8:]) != 0x3000000 || le.Uint64(d[24:]) != 42 {
		t.Error("long header of the first page is wrong")
	}
	page := d[0x2000:]
	if le.Uint16(page[2:]) != xlpFirstIsContRecord || le.Uint64(page[8:]) != 0x3002000 || le.Uint32(page[16:]) != 0x1238-24 {
		t.Errorf("page header info=%x addr=%x rem=%x", le.Uint16(page[2:]), le.Uint64(page[8:]), le.Uint32(page[16:]))
	}
	r := d[0x3238 : 0x3238+RecordSize]
	crc := crc32.Update(crc32.Checksum(r[24:], castagnoli), castagnoli, r[:20])
	if le.Uint32(r[20:]) != crc || le.Uint32(r[0:]) != RecordSize || le.Uint64(r[8:]) != 0x3003200 {
		t.Error("record header is wrong")
	}
	got, err := controlfile.DecodeCheckPoint(r[26:])
	if err != nil || got != seg.CheckPoint {
		t.Errorf("payload = %+v, %v", got, err)
	}
}

func TestBuildRejectsTimelineZero(t *testing.T) {
	if _, err := Build(1, 0x2000028, 0, controlfile.CheckPoint{}); err == nil {
		t.Fatal("Build with timeline 0 succeeded")
	}
}
