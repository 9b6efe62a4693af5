package wal

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/stratadb/strata/libs/engine/key"
)

// testBlock describes one block reference for buildRecord.
type testBlock struct {
	id        uint8
	rel       key.RelTag
	blk       uint32
	sameRel   bool
	willInit  bool
	image     []byte // stored image bytes
	imageInfo uint8
	holeOff   uint16
	holeLen   uint16 // written only when compressed with a hole
	data      []byte
}

// buildRecord assembles a record the way XLogRecordAssemble lays it out,
// with a correct CRC.
func buildRecord(xid uint32, prev uint64, info, rmid uint8, blocks []testBlock, main []byte, origin uint16, topXid uint32) []byte {
	var hdr, payload []byte
	for _, b := range blocks {
		flags := b.rel.Fork
		if b.image != nil {
			flags |= BlockHasImage
		}
		if b.data != nil {
			flags |= BlockHasData
		}
		if b.willInit {
			flags |= BlockWillInit
		}
		if b.sameRel {
			flags |= BlockSameRel
		}
		hdr = append(hdr, b.id, flags)
		hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(b.data)))
		if b.image != nil {
			hdr = binary.LittleEndian.AppendUint16(hdr, uint16(len(b.image)))
			hdr = binary.LittleEndian.AppendUint16(hdr, b.holeOff)
			hdr = append(hdr, b.imageInfo)
			if b.imageInfo&imageCompressed != 0 && b.imageInfo&ImageHasHole != 0 {
				hdr = binary.LittleEndian.AppendUint16(hdr, b.holeLen)
			}
			payload = append(payload, b.image...)
		}
		if !b.sameRel {
			hdr = binary.LittleEndian.AppendUint32(hdr, b.rel.SpcNode)
			hdr = binary.LittleEndian.AppendUint32(hdr, b.rel.DbNode)
			hdr = binary.LittleEndian.AppendUint32(hdr, b.rel.RelNode)
		}
		hdr = binary.LittleEndian.AppendUint32(hdr, b.blk)
		payload = append(payload, b.data...)
	}
	if origin != 0 {
		hdr = append(hdr, blockIDOrigin)
		hdr = binary.LittleEndian.AppendUint16(hdr, origin)
	}
	if topXid != 0 {
		hdr = append(hdr, blockIDTopXid)
		hdr = binary.LittleEndian.AppendUint32(hdr, topXid)
	}
	if len(main) > 255 {
		hdr = append(hdr, blockIDDataLg)
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(len(main)))
	} else if len(main) > 0 {
		hdr = append(hdr, blockIDDataSh, uint8(len(main)))
	}
	payload = append(payload, main...)
	rec := make([]byte, recordHdrSize, recordHdrSize+len(hdr)+len(payload))
	rec = append(rec, hdr...)
	rec = append(rec, payload...)
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(rec)))
	binary.LittleEndian.PutUint32(rec[4:], xid)
	binary.LittleEndian.PutUint64(rec[8:], prev)
	rec[16] = info
	rec[17] = rmid
	crc := crc32.Update(0, castagnoli, rec[recordHdrSize:])
	crc = crc32.Update(crc, castagnoli, rec[:20])
	binary.LittleEndian.PutUint32(rec[20:], crc)
	return rec
}
