package controlfile

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// CheckPointSize is the size of PostgreSQL 15's CheckPoint struct on x86_64.
const CheckPointSize = 88

// CheckPoint is PostgreSQL's CheckPoint struct: the payload of a checkpoint
// WAL record and the checkPointCopy inside pg_control. Layout (little-endian,
// C alignment on x86_64):
//
//	off size field
//	  0    8 Redo               REDO start point
//	  8    4 ThisTimeLineID
//	 12    4 PrevTimeLineID
//	 16    1 FullPageWrites     (+7 padding)
//	 24    8 NextXid            FullTransactionId: epoch << 32 | xid
//	 32    4 NextOid
//	 36    4 NextMulti
//	 40    4 NextMultiOffset
//	 44    4 OldestXid
//	 48    4 OldestXidDB
//	 52    4 OldestMulti
//	 56    4 OldestMultiDB      (+4 padding)
//	 64    8 Time               pg_time_t, seconds since the Unix epoch
//	 72    4 OldestCommitTsXid
//	 76    4 NewestCommitTsXid
//	 80    4 OldestActiveXid    (+4 padding)
type CheckPoint struct {
	Redo              lsn.LSN
	ThisTimeLineID    uint32
	PrevTimeLineID    uint32
	FullPageWrites    bool
	NextXid           uint64
	NextOid           uint32
	NextMulti         uint32
	NextMultiOffset   uint32
	OldestXid         uint32
	OldestXidDB       uint32
	OldestMulti       uint32
	OldestMultiDB     uint32
	Time              int64
	OldestCommitTsXid uint32
	NewestCommitTsXid uint32
	OldestActiveXid   uint32
}

// DecodeCheckPoint parses the 88-byte CheckPoint struct.
func DecodeCheckPoint(b []byte) (CheckPoint, error) {
	if len(b) < CheckPointSize {
		return CheckPoint{}, fmt.Errorf("checkpoint: %d bytes, want %d", len(b), CheckPointSize)
	}
	le := binary.LittleEndian
	return CheckPoint{
		Redo:              lsn.LSN(le.Uint64(b[0:])),
		ThisTimeLineID:    le.Uint32(b[8:]),
		PrevTimeLineID:    le.Uint32(b[12:]),
		FullPageWrites:    b[16] != 0,
		NextXid:           le.Uint64(b[24:]),
		NextOid:           le.Uint32(b[32:]),
		NextMulti:         le.Uint32(b[36:]),
		NextMultiOffset:   le.Uint32(b[40:]),
		OldestXid:         le.Uint32(b[44:]),
		OldestXidDB:       le.Uint32(b[48:]),
		OldestMulti:       le.Uint32(b[52:]),
		OldestMultiDB:     le.Uint32(b[56:]),
		Time:              int64(le.Uint64(b[64:])),
		OldestCommitTsXid: le.Uint32(b[72:]),
		NewestCommitTsXid: le.Uint32(b[76:]),
		OldestActiveXid:   le.Uint32(b[80:]),
	}, nil
}

// Encode returns the 88-byte struct with zeroed padding.
func (c CheckPoint) Encode() []byte {
	b := make([]byte, CheckPointSize)
	c.put(b)
	return b
}

func (c CheckPoint) put(b []byte) {
	_ = b[CheckPointSize-1]
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(c.Redo))
	le.PutUint32(b[8:], c.ThisTimeLineID)
	le.PutUint32(b[12:], c.PrevTimeLineID)
	b[16] = boolByte(c.FullPageWrites)
	le.PutUint64(b[24:], c.NextXid)
	le.PutUint32(b[32:], c.NextOid)
	le.PutUint32(b[36:], c.NextMulti)
	le.PutUint32(b[40:], c.NextMultiOffset)
	le.PutUint32(b[44:], c.OldestXid)
	le.PutUint32(b[48:], c.OldestXidDB)
	le.PutUint32(b[52:], c.OldestMulti)
	le.PutUint32(b[56:], c.OldestMultiDB)
	le.PutUint64(b[64:], uint64(c.Time))
	le.PutUint32(b[72:], c.OldestCommitTsXid)
	le.PutUint32(b[76:], c.NewestCommitTsXid)
	le.PutUint32(b[80:], c.OldestActiveXid)
}

// NextXidEpoch and NextXidValue split the 64-bit NextXid.
func (c CheckPoint) NextXidEpoch() uint32 { return uint32(c.NextXid >> 32) }

// NextXidValue is the 32-bit transaction id part of NextXid.
func (c CheckPoint) NextXidValue() uint32 { return uint32(c.NextXid) }

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
