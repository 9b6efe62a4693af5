package redo

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// tblock is one block reference of a test record.
type tblock struct {
	id       uint8
	rel      key.RelTag
	blk      uint32
	willInit bool
	data     []byte
	image    []byte // uncompressed 8192-byte page image (no hole) if non-nil
	apply    bool
}

// trec describes a test WAL record.
type trec struct {
	rmid, info uint8
	xid        uint32
	blocks     []tblock
	main       []byte
}

// raw builds the bytes PostgreSQL would write for r (with a valid CRC).
func (r trec) raw() []byte {
	var hdr, payload []byte
	for _, b := range r.blocks {
		flags := b.rel.Fork
		if b.image != nil {
			flags |= wal.BlockHasImage
		}
		if len(b.data) > 0 {
			flags |= wal.BlockHasData
		}
		if b.willInit {
			flags |= wal.BlockWillInit
		}
		hdr = append(hdr, b.id, flags)
		hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(b.data)))
		if b.image != nil {
			hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(b.image)))
			hdr = binary.LittleEndian.AppendUint16(hdr, 0) // hole offset
			info := uint8(0)
			if b.apply {
				info |= wal.ImageApply
			}
			hdr = append(hdr, info)
			payload = append(payload, b.image...)
		}
		hdr = binary.LittleEndian.AppendUint32(hdr, b.rel.SpcNode)
		hdr = binary.LittleEndian.AppendUint32(hdr, b.rel.DbNode)
		hdr = binary.LittleEndian.AppendUint32(hdr, b.rel.RelNode)
		hdr = binary.LittleEndian.AppendUint32(hdr, b.blk)
		payload = append(payload, b.data...)
	}
	if len(r.main) > 0 {
		if len(r.main) < 256 {
			hdr = append(hdr, 255, uint8(len(r.main)))
		} else {
			hdr = append(hdr, 254)
			hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(r.main)))
		}
		payload = append(payload, r.main...)
	}
	out := make([]byte, 24, 24+len(hdr)+len(payload))
	out = append(append(out, hdr...), payload...)
	binary.LittleEndian.PutUint32(out[0:], uint32(len(out)))
	binary.LittleEndian.PutUint32(out[4:], r.xid)
	out[16], out[17] = r.info, r.rmid
	crc := crc32.Update(0, crc32.MakeTable(crc32.Castagnoli), out[24:])
	crc = crc32.Update(crc, crc32.MakeTable(crc32.Castagnoli), out[:20])
	binary.LittleEndian.PutUint32(out[20:], crc)
	return out
}

// decode builds and decodes r, ending at end.
func (r trec) decode(tb testing.TB, end lsn.LSN) *wal.Record {
	tb.Helper()
	rec, err := wal.Decode(r.raw(), end-64, end)
	if err != nil {
		tb.Fatalf("decode test record: %v", err)
	}
	return rec
}

var testRel = key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384, Fork: key.ForkMain}

func le16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
