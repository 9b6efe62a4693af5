package wal

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decode decodes one whole record: raw is the record as PostgreSQL wrote it
// (XLogRecord header and payload, page headers stripped), start its LSN and
// end its EndLSN. The slices of the returned Record alias raw. Decode checks
// every length and flag the way PostgreSQL's DecodeXLogRecord does, but not
// the CRC (see CheckCRC). Malformed input yields an *Error.
func Decode(raw []byte, start, end lsn.LSN) (*Record, error) {
	r := &Record{}
	if err := DecodeInto(r, raw, start, end); err != nil {
		return nil, err
	}
	return r, nil
}

// CheckCRC verifies the record's xl_crc: CRC-32C over raw[24:] then raw[0:20].
func CheckCRC(raw []byte, start lsn.LSN) error {
	if len(raw) < recordHdrSize {
		return errorf(start, KindLength, "record of %d bytes is shorter than its header", len(raw))
	}
	want := binary.LittleEndian.Uint32(raw[20:24])
	got := crc32.Update(0, castagnoli, raw[recordHdrSize:])
	got = crc32.Update(got, castagnoli, raw[:20])
	if got != want {
		return errorf(start, KindCRC, "incorrect resource manager data checksum: got %08X, record says %08X", got, want)
	}
	return nil
}

// DecodeInto is Decode into a caller-owned Record, reusing its Blocks slice.
// On error r is left in an unspecified state.
func DecodeInto(r *Record, raw []byte, start, end lsn.LSN) error {
	blocks := r.Blocks[:0]
	*r = Record{LSN: start, EndLSN: end, Raw: raw}
	if len(raw) < recordHdrSize {
		return errorf(start, KindLength, "record of %d bytes is shorter than its %d-byte header", len(raw), recordHdrSize)
	}
	r.TotLen = binary.LittleEndian.Uint32(raw[0:4])
	if uint64(r.TotLen) != uint64(len(raw)) {
		return errorf(start, KindLength, "xl_tot_len %d does not match the %d bytes given", r.TotLen, len(raw))
	}
	r.Xid = binary.LittleEndian.Uint32(raw[4:8])
	r.Prev = lsn.LSN(binary.LittleEndian.Uint64(raw[8:16]))
	r.Info = raw[16]
	r.RmID = raw[17]

	hdr := raw[recordHdrSize:]
	p := 0 // read position in hdr
	remaining := len(hdr)
	datatotal := 0
	mainLen := 0
	var rel key.RelTag
	haveRel := false
	maxID := -1
	var lens [int(maxBlockID) + 1]blockLens // image and data lengths per decoded block

	need := func(n int) error {
		if remaining-p < n {
			return errorf(start, KindLength, "record with invalid length: header field overruns the record")
		}
		return nil
	}
	u8 := func() uint8 { v := hdr[p]; p++; return v }
	u16 := func() uint16 { v := binary.LittleEndian.Uint16(hdr[p:]); p += 2; return v }
	u32 := func() uint32 { v := binary.LittleEndian.Uint32(hdr[p:]); p += 4; return v }

	for remaining-p > datatotal {
		if err := need(1); err != nil {
			return err
		}
		id := u8()
		switch {
		case id == blockIDDataSh:
			if err := need(1); err != nil {
				return err
			}
			mainLen = int(u8())
			datatotal += mainLen
		case id == blockIDDataLg:
			if err := need(4); err != nil {
				return err
			}
			mainLen = int(u32())
			if mainLen > maxRecordTotal {
				return errorf(start, KindLength, "main data length %d is impossible", mainLen)
			}
			datatotal += mainLen
		case id == blockIDOrigin:
			if err := need(2); err != nil {
				return err
			}
			r.Origin = u16()
			continue
		case id == blockIDTopXid:
			if err := need(4); err != nil {
				return err
			}
			r.TopLevelXid = u32()
			continue
		case id <= maxBlockID:
			if int(id) <= maxID {
				return errorf(start, KindBadBlock, "out-of-order block_id %d", id)
			}
			maxID = int(id)
			if err := need(3); err != nil {
				return err
			}
			b := BlockRef{ID: id}
			b.ForkFlags = u8()
			dataLen := u16()
			b.HasImage = b.ForkFlags&BlockHasImage != 0
			b.HasData = b.ForkFlags&BlockHasData != 0
			b.WillInit = b.ForkFlags&BlockWillInit != 0
			if b.HasData && dataLen == 0 {
				return errorf(start, KindBadBlock, "BKPBLOCK_HAS_DATA set, but no data included (block %d)", id)
			}
			if !b.HasData && dataLen != 0 {
				return errorf(start, KindBadBlock, "BKPBLOCK_HAS_DATA not set, but data length is %d (block %d)", dataLen, id)
			}
			datatotal += int(dataLen)
			var imgLen uint16
			if b.HasImage {
				if err := need(5); err != nil {
					return err
				}
				imgLen = u16()
				b.HoleOffset = u16()
				b.ImageInfo = u8()
				b.ApplyImage = b.ImageInfo&ImageApply != 0
				compressed := b.ImageInfo&imageCompressed != 0
				hasHole := b.ImageInfo&ImageHasHole != 0
				if compressed {
					if hasHole {
						if err := need(2); err != nil {
							return err
						}
						b.HoleLength = u16()
					}
				} else {
					b.HoleLength = uint16(BlockSize - int(imgLen)) // wraps like PostgreSQL's uint16 for bad lengths; checked below
				}
				datatotal += int(imgLen)
				switch {
				case hasHole && (b.HoleOffset == 0 || b.HoleLength == 0 || imgLen == BlockSize):
					return errorf(start, KindBadBlock, "BKPIMAGE_HAS_HOLE set, but hole offset %d length %d block image length %d (block %d)", b.HoleOffset, b.HoleLength, imgLen, id)
				case !hasHole && (b.HoleOffset != 0 || b.HoleLength != 0):
					return errorf(start, KindBadBlock, "BKPIMAGE_HAS_HOLE not set, but hole offset %d length %d (block %d)", b.HoleOffset, b.HoleLength, id)
				case compressed && imgLen == BlockSize:
					return errorf(start, KindBadBlock, "BKPIMAGE_COMPRESSED set, but block image length %d (block %d)", imgLen, id)
				case !hasHole && !compressed && imgLen != BlockSize:
					return errorf(start, KindBadBlock, "neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, but block image length is %d (block %d)", imgLen, id)
				case int(imgLen) > BlockSize || int(b.HoleOffset)+int(b.HoleLength) > BlockSize:
					return errorf(start, KindBadBlock, "block image length %d with hole %d+%d does not fit a page (block %d)", imgLen, b.HoleOffset, b.HoleLength, id)
				}
			}
			if b.ForkFlags&BlockSameRel == 0 {
				if err := need(12); err != nil {
					return err
				}
				rel.SpcNode = u32()
				rel.DbNode = u32()
				rel.RelNode = u32()
				haveRel = true
			} else if !haveRel {
				return errorf(start, KindBadBlock, "BKPBLOCK_SAME_REL set but no previous rel (block %d)", id)
			}
			rel.Fork = b.ForkFlags & BlockForkMask
			b.Rel = rel
			if err := need(4); err != nil {
				return err
			}
			b.Blk = u32()
			lens[len(blocks)] = blockLens{img: int(imgLen), data: int(dataLen)}
			blocks = append(blocks, b)
			continue
		default:
			return errorf(start, KindBadBlock, "invalid block_id %d", id)
		}
		break // main data header ends the headers
	}
	if remaining-p != datatotal {
		return errorf(start, KindLength, "record with invalid length: headers announce %d payload bytes, %d remain", datatotal, remaining-p)
	}

	payload := hdr[p:]
	q := 0
	for i := range blocks {
		b := &blocks[i]
		l := lens[i]
		if b.HasImage {
			b.ImageData = payload[q : q+l.img : q+l.img]
			q += l.img
		}
		if b.HasData {
			b.Data = payload[q : q+l.data : q+l.data]
			q += l.data
		}
	}
	if mainLen > 0 {
		r.MainData = payload[q : q+mainLen : q+mainLen]
		q += mainLen
	}
	r.Blocks = blocks
	return nil
}

type blockLens struct{ img, data int }

func crc32Update(crc uint32, p []byte) uint32 { return crc32.Update(crc, castagnoli, p) }
