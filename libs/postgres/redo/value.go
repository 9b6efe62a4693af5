package redo

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// Strata record encoding: what the engine stores as the data of a WAL-record
// value (engine/value KindRecord) for one key. One tag byte, then a
// little-endian payload whose length the container delimits:
//
//	tag  kind                     payload
//	0x01 Postgres                 end_lsn u64, raw WAL record (XLogRecord header + payload)
//	0x02 ClearVisibilityMapFlags  new_heap_blk u32, old_heap_blk u32, flags u8   (0xFFFFFFFF = none)
//	0x03 TruncateVisibilityMap    trunc_byte u32, trunc_offs u8
//	0x04 ClogSetCommitted         timestamp i64, n u32, n × xid u32
//	0x05 ClogSetAborted           n u32, n × xid u32
//	0x06 MultiXactOffsetCreate    n × (mid u32, moff u32), n ≥ 1, all on one page
//	0x07 MultiXactMembersCreate   moff u32, n u32, n × (xid u32, status u32)
//
// A Postgres record applies to the block reference of the raw record that
// names the key's relation fork and block. The other kinds are Neon's
// "records applied by the pageserver itself" (neon-pageserver.md §9.4):
// ClearVisibilityMapFlags and TruncateVisibilityMap apply to a VM-fork page,
// the Clog kinds to a CLOG SLRU page, the MultiXact kinds to an offsets or
// members SLRU page; every xid, multixact id or member offset must lie on
// the key's page. Only a Postgres record whose block has WILL_INIT or an image
// to apply can start from no base image.
//
// Worked example: ClogSetAborted of xids 5 and 6 encodes as
//
//	05 02000000 05000000 06000000
//
// Unlike Neon, a CLOG page stays 8192 bytes: the commit timestamp is carried
// in the record but not appended to the page.
const (
	TagPostgres               byte = 0x01
	TagClearVisibilityMap     byte = 0x02
	TagTruncateVisibilityMap  byte = 0x03
	TagClogSetCommitted       byte = 0x04
	TagClogSetAborted         byte = 0x05
	TagMultiXactOffsetCreate  byte = 0x06
	TagMultiXactMembersCreate byte = 0x07
)

// NoBlock marks an absent heap block in ClearVisibilityMapFlags
// (InvalidBlockNumber).
const NoBlock uint32 = 0xFFFFFFFF

// Member is one multixact member: xid and MultiXactStatus (0..5).
type Member struct {
	Xid    uint32
	Status uint32
}

// EncodePostgres appends a Postgres record value to dst.
func EncodePostgres(dst []byte, end lsn.LSN, raw []byte) []byte {
	dst = append(dst, TagPostgres)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(end))
	return append(dst, raw...)
}

// EncodeClearVisibilityMap appends a ClearVisibilityMapFlags value: clear
// flags for heap blocks newHeapBlk and oldHeapBlk (either may be NoBlock).
func EncodeClearVisibilityMap(dst []byte, newHeapBlk, oldHeapBlk uint32, flags uint8) []byte {
	dst = append(dst, TagClearVisibilityMap)
	dst = binary.LittleEndian.AppendUint32(dst, newHeapBlk)
	dst = binary.LittleEndian.AppendUint32(dst, oldHeapBlk)
	return append(dst, flags)
}

// EncodeTruncateVisibilityMap appends a TruncateVisibilityMap value (see
// heapam.VMTruncatePoint for the arguments).
func EncodeTruncateVisibilityMap(dst []byte, truncByte uint32, truncOffs uint8) []byte {
	dst = append(dst, TagTruncateVisibilityMap)
	dst = binary.LittleEndian.AppendUint32(dst, truncByte)
	return append(dst, truncOffs)
}

// EncodeClogSetCommitted appends a ClogSetCommitted value. timestamp is the
// commit's PostgreSQL TimestampTz.
func EncodeClogSetCommitted(dst []byte, xids []uint32, timestamp int64) []byte {
	dst = append(dst, TagClogSetCommitted)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(timestamp))
	return appendXids(dst, xids)
}

// EncodeClogSetAborted appends a ClogSetAborted value.
func EncodeClogSetAborted(dst []byte, xids []uint32) []byte {
	return appendXids(append(dst, TagClogSetAborted), xids)
}

func appendXids(dst []byte, xids []uint32) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(xids)))
	for _, x := range xids {
		dst = binary.LittleEndian.AppendUint32(dst, x)
	}
	return dst
}

// EncodeMultiXactOffsetCreate appends a MultiXactOffsetCreate value: for each
// (mid, moff) pair, the offsets entry of multixact mid becomes moff.
//
// PostgreSQL 15.18's RecordNewMultiXact also writes the entry of mid+1
// (moff + number of members, skipping 0). Ingest passes both pairs here when
// they share a page (one value per key and LSN), and emits a second value on
// the next page when mid+1 starts one.
func EncodeMultiXactOffsetCreate(dst []byte, pairs ...[2]uint32) []byte {
	dst = append(dst, TagMultiXactOffsetCreate)
	for _, p := range pairs {
		dst = binary.LittleEndian.AppendUint32(dst, p[0])
		dst = binary.LittleEndian.AppendUint32(dst, p[1])
	}
	return dst
}

// EncodeMultiXactMembersCreate appends a MultiXactMembersCreate value: member
// i goes to member offset moff+i. All of them must be on the key's page
// (ingest splits a multixact across members pages).
func EncodeMultiXactMembersCreate(dst []byte, moff uint32, members []Member) []byte {
	dst = append(dst, TagMultiXactMembersCreate)
	dst = binary.LittleEndian.AppendUint32(dst, moff)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(members)))
	for _, m := range members {
		dst = binary.LittleEndian.AppendUint32(dst, m.Xid)
		dst = binary.LittleEndian.AppendUint32(dst, m.Status)
	}
	return dst
}

// Op is a decoded Strata record value. Slices alias the encoded bytes.
type Op struct {
	Tag byte
	// Postgres.
	EndLSN lsn.LSN
	Raw    []byte
	// ClearVisibilityMapFlags.
	NewHeapBlk, OldHeapBlk uint32
	Flags                  uint8
	// TruncateVisibilityMap.
	TruncByte uint32
	TruncOffs uint8
	// ClogSetCommitted / ClogSetAborted.
	Timestamp int64
	xids      []byte
	// MultiXactOffsetCreate (the first pair) / MultiXactMembersCreate.
	Mid, Moff uint32
	offsets   []byte // every (mid, moff) pair of a MultiXactOffsetCreate
	members   []byte
}

// NumXids returns the number of xids of a Clog op.
func (o *Op) NumXids() int { return len(o.xids) / 4 }

// Xid returns xid i of a Clog op.
func (o *Op) Xid(i int) uint32 { return binary.LittleEndian.Uint32(o.xids[4*i:]) }

// NumOffsets returns the number of (mid, moff) pairs of a MultiXactOffsetCreate op.
func (o *Op) NumOffsets() int { return len(o.offsets) / 8 }

// Offset returns pair i of a MultiXactOffsetCreate op.
func (o *Op) Offset(i int) (mid, moff uint32) {
	return binary.LittleEndian.Uint32(o.offsets[8*i:]), binary.LittleEndian.Uint32(o.offsets[8*i+4:])
}

// NumMembers returns the number of members of a MultiXactMembersCreate op.
func (o *Op) NumMembers() int { return len(o.members) / 8 }

// Member returns member i of a MultiXactMembersCreate op.
func (o *Op) Member(i int) Member {
	return Member{binary.LittleEndian.Uint32(o.members[8*i:]), binary.LittleEndian.Uint32(o.members[8*i+4:])}
}

// IsPostgres reports whether data encodes a Postgres record.
func IsPostgres(data []byte) bool { return len(data) > 0 && data[0] == TagPostgres }

// DecodeOp decodes a Strata record value, checking every length.
func DecodeOp(data []byte) (Op, error) {
	var o Op
	if len(data) == 0 {
		return o, fmt.Errorf("strata record: empty")
	}
	o.Tag = data[0]
	p := data[1:]
	short := func(want int) error {
		return fmt.Errorf("strata record tag %#x: %d payload bytes, want %d", o.Tag, len(p), want)
	}
	switch o.Tag {
	case TagPostgres:
		if len(p) < 8 {
			return o, short(8)
		}
		o.EndLSN = lsn.LSN(binary.LittleEndian.Uint64(p))
		o.Raw = p[8:]
	case TagClearVisibilityMap:
		if len(p) != 9 {
			return o, short(9)
		}
		o.NewHeapBlk, o.OldHeapBlk, o.Flags = binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:]), p[8]
	case TagTruncateVisibilityMap:
		if len(p) != 5 {
			return o, short(5)
		}
		o.TruncByte, o.TruncOffs = binary.LittleEndian.Uint32(p), p[4]
	case TagClogSetCommitted, TagClogSetAborted:
		if o.Tag == TagClogSetCommitted {
			if len(p) < 8 {
				return o, short(8)
			}
			o.Timestamp = int64(binary.LittleEndian.Uint64(p))
			p = p[8:]
		}
		if len(p) < 4 {
			return o, short(4)
		}
		n := binary.LittleEndian.Uint32(p)
		if uint64(len(p)-4) != 4*uint64(n) {
			return o, short(4 + 4*int(n))
		}
		o.xids = p[4:]
	case TagMultiXactOffsetCreate:
		if len(p) == 0 || len(p)%8 != 0 {
			return o, short(8 * (len(p)/8 + 1))
		}
		o.Mid, o.Moff = binary.LittleEndian.Uint32(p), binary.LittleEndian.Uint32(p[4:])
		o.offsets = p
	case TagMultiXactMembersCreate:
		if len(p) < 8 {
			return o, short(8)
		}
		o.Moff = binary.LittleEndian.Uint32(p)
		n := binary.LittleEndian.Uint32(p[4:])
		if uint64(len(p)-8) != 8*uint64(n) {
			return o, short(8 + 8*int(n))
		}
		o.members = p[8:]
	default:
		return o, fmt.Errorf("strata record: unknown tag %#x", o.Tag)
	}
	return o, nil
}

// String describes the op for logs and tests.
func (o *Op) String() string {
	switch o.Tag {
	case TagPostgres:
		return fmt.Sprintf("postgres(end %s, %d bytes)", o.EndLSN, len(o.Raw))
	case TagClearVisibilityMap:
		return fmt.Sprintf("clear_vm(new %d, old %d, flags %#x)", int32(o.NewHeapBlk), int32(o.OldHeapBlk), o.Flags)
	case TagTruncateVisibilityMap:
		return fmt.Sprintf("truncate_vm(byte %d, offs %d)", o.TruncByte, o.TruncOffs)
	case TagClogSetCommitted:
		return fmt.Sprintf("clog_committed(%d xids)", o.NumXids())
	case TagClogSetAborted:
		return fmt.Sprintf("clog_aborted(%d xids)", o.NumXids())
	case TagMultiXactOffsetCreate:
		return fmt.Sprintf("multixact_offset(mid %d, moff %d)", o.Mid, o.Moff)
	case TagMultiXactMembersCreate:
		return fmt.Sprintf("multixact_members(moff %d, %d members)", o.Moff, o.NumMembers())
	}
	return fmt.Sprintf("tag(%#x)", o.Tag)
}
