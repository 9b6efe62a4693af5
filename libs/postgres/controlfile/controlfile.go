// Package controlfile reads and writes PostgreSQL 15's pg_control file and
// the CheckPoint struct it embeds.
//
// pg_control is an 8192-byte file; only its first 292 bytes carry data. The
// layout on x86_64 (little-endian, C alignment), with the CRC-32C of bytes
// [0, 288) stored at offset 288:
//
//	off size field                      off size field
//	  0    8 SystemIdentifier           192    4 MaxPreparedXacts
//	  8    4 PgControlVersion (1300)    196    4 MaxLocksPerXact
//	 12    4 CatalogVersionNo           200    1 TrackCommitTimestamp
//	 16    4 State (DBState)            204    4 MaxAlign
//	 24    8 Time                       208    8 FloatFormat (1234567.0)
//	 32    8 CheckPointLoc              216    4 BlockSize
//	 40   88 CheckPointCopy             220    4 RelSegSize
//	128    8 UnloggedLSN                224    4 XLogBlockSize
//	136    8 MinRecoveryPoint           228    4 XLogSegSize
//	144    4 MinRecoveryPointTLI        232    4 NameDataLen
//	152    8 BackupStartPoint           236    4 IndexMaxKeys
//	160    8 BackupEndPoint             240    4 ToastMaxChunkSize
//	168    1 BackupEndRequired          244    4 LOBlockSize
//	172    4 WalLevel                   248    1 Float8ByVal
//	176    1 WalLogHints                252    4 DataChecksumVersion
//	180    4 MaxConnections             256   32 MockAuthNonce
//	184    4 MaxWorkerProcesses         288    4 CRC
//	188    4 MaxWalSenders
//
// Decode verifies the CRC and the format version; Encode writes the whole
// 8192-byte file with a fresh CRC. Padding bytes are written as zeros.
package controlfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/stratadb/strata/libs/engine/lsn"
)

const (
	// FileSize is the size of the pg_control file.
	FileSize = 8192
	// Version is PG_CONTROL_VERSION of PostgreSQL 15.
	Version = 1300
	// crcOffset is where the CRC-32C of the preceding bytes is stored.
	crcOffset = 288
	// floatFormat is the FLOATFORMAT_VALUE sentinel.
	floatFormat = 1234567.0
)

// DBState is PostgreSQL's DBState enum.
type DBState uint32

// DBState values.
const (
	StateStartup DBState = iota
	StateShutdowned
	StateShutdownedInRecovery
	StateShutdowning
	StateInCrashRecovery
	StateInArchiveRecovery
	StateInProduction
)

// ErrCorrupt is wrapped by Decode errors about bad CRCs or sizes.
var ErrCorrupt = errors.New("pg_control is corrupt")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ControlFile is PostgreSQL 15's ControlFileData.
type ControlFile struct {
	SystemIdentifier     uint64
	PgControlVersion     uint32
	CatalogVersionNo     uint32
	State                DBState
	Time                 int64
	CheckPointLoc        lsn.LSN
	CheckPointCopy       CheckPoint
	UnloggedLSN          lsn.LSN
	MinRecoveryPoint     lsn.LSN
	MinRecoveryPointTLI  uint32
	BackupStartPoint     lsn.LSN
	BackupEndPoint       lsn.LSN
	BackupEndRequired    bool
	WalLevel             int32
	WalLogHints          bool
	MaxConnections       int32
	MaxWorkerProcesses   int32
	MaxWalSenders        int32
	MaxPreparedXacts     int32
	MaxLocksPerXact      int32
	TrackCommitTimestamp bool
	MaxAlign             uint32
	FloatFormat          float64
	BlockSize            uint32
	RelSegSize           uint32
	XLogBlockSize        uint32
	XLogSegSize          uint32
	NameDataLen          uint32
	IndexMaxKeys         uint32
	ToastMaxChunkSize    uint32
	LOBlockSize          uint32
	Float8ByVal          bool
	DataChecksumVersion  uint32
	MockAuthNonce        [32]byte
}

// Decode parses pg_control bytes (at least 292; normally the 8192-byte file)
// and checks the CRC and the format version.
func Decode(b []byte) (*ControlFile, error) {
	if len(b) < crcOffset+4 {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrCorrupt, len(b), crcOffset+4)
	}
	le := binary.LittleEndian
	if got, want := le.Uint32(b[crcOffset:]), crc32.Checksum(b[:crcOffset], castagnoli); got != want {
		return nil, fmt.Errorf("%w: CRC %08x, computed %08x", ErrCorrupt, got, want)
	}
	cp, err := DecodeCheckPoint(b[40:128])
	if err != nil {
		return nil, err
	}
	c := &ControlFile{
		SystemIdentifier:     le.Uint64(b[0:]),
		PgControlVersion:     le.Uint32(b[8:]),
		CatalogVersionNo:     le.Uint32(b[12:]),
		State:                DBState(le.Uint32(b[16:])),
		Time:                 int64(le.Uint64(b[24:])),
		CheckPointLoc:        lsn.LSN(le.Uint64(b[32:])),
		CheckPointCopy:       cp,
		UnloggedLSN:          lsn.LSN(le.Uint64(b[128:])),
		MinRecoveryPoint:     lsn.LSN(le.Uint64(b[136:])),
		MinRecoveryPointTLI:  le.Uint32(b[144:]),
		BackupStartPoint:     lsn.LSN(le.Uint64(b[152:])),
		BackupEndPoint:       lsn.LSN(le.Uint64(b[160:])),
		BackupEndRequired:    b[168] != 0,
		WalLevel:             int32(le.Uint32(b[172:])),
		WalLogHints:          b[176] != 0,
		MaxConnections:       int32(le.Uint32(b[180:])),
		MaxWorkerProcesses:   int32(le.Uint32(b[184:])),
		MaxWalSenders:        int32(le.Uint32(b[188:])),
		MaxPreparedXacts:     int32(le.Uint32(b[192:])),
		MaxLocksPerXact:      int32(le.Uint32(b[196:])),
		TrackCommitTimestamp: b[200] != 0,
		MaxAlign:             le.Uint32(b[204:]),
		FloatFormat:          math.Float64frombits(le.Uint64(b[208:])),
		BlockSize:            le.Uint32(b[216:]),
		RelSegSize:           le.Uint32(b[220:]),
		XLogBlockSize:        le.Uint32(b[224:]),
		XLogSegSize:          le.Uint32(b[228:]),
		NameDataLen:          le.Uint32(b[232:]),
		IndexMaxKeys:         le.Uint32(b[236:]),
		ToastMaxChunkSize:    le.Uint32(b[240:]),
		LOBlockSize:          le.Uint32(b[244:]),
		Float8ByVal:          b[248] != 0,
		DataChecksumVersion:  le.Uint32(b[252:]),
	}
	copy(c.MockAuthNonce[:], b[256:288])
	if c.PgControlVersion != Version {
		return nil, fmt.Errorf("pg_control version %d is not PostgreSQL 15's %d", c.PgControlVersion, Version)
	}
	if c.FloatFormat != floatFormat {
		return nil, fmt.Errorf("%w: float format sentinel %v", ErrCorrupt, c.FloatFormat)
	}
	return c, nil
}

// Encode returns the 8192-byte pg_control file with its CRC.
func (c *ControlFile) Encode() []byte {
	b := make([]byte, FileSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], c.SystemIdentifier)
	le.PutUint32(b[8:], c.PgControlVersion)
	le.PutUint32(b[12:], c.CatalogVersionNo)
	le.PutUint32(b[16:], uint32(c.State))
	le.PutUint64(b[24:], uint64(c.Time))
	le.PutUint64(b[32:], uint64(c.CheckPointLoc))
	c.CheckPointCopy.put(b[40:128])
	le.PutUint64(b[128:], uint64(c.UnloggedLSN))
	le.PutUint64(b[136:], uint64(c.MinRecoveryPoint))
	le.PutUint32(b[144:], c.MinRecoveryPointTLI)
	le.PutUint64(b[152:], uint64(c.BackupStartPoint))
	le.PutUint64(b[160:], uint64(c.BackupEndPoint))
	b[168] = boolByte(c.BackupEndRequired)
	le.PutUint32(b[172:], uint32(c.WalLevel))
	b[176] = boolByte(c.WalLogHints)
	le.PutUint32(b[180:], uint32(c.MaxConnections))
	le.PutUint32(b[184:], uint32(c.MaxWorkerProcesses))
	le.PutUint32(b[188:], uint32(c.MaxWalSenders))
	le.PutUint32(b[192:], uint32(c.MaxPreparedXacts))
	le.PutUint32(b[196:], uint32(c.MaxLocksPerXact))
	b[200] = boolByte(c.TrackCommitTimestamp)
	le.PutUint32(b[204:], c.MaxAlign)
	le.PutUint64(b[208:], math.Float64bits(c.FloatFormat))
	le.PutUint32(b[216:], c.BlockSize)
	le.PutUint32(b[220:], c.RelSegSize)
	le.PutUint32(b[224:], c.XLogBlockSize)
	le.PutUint32(b[228:], c.XLogSegSize)
	le.PutUint32(b[232:], c.NameDataLen)
	le.PutUint32(b[236:], c.IndexMaxKeys)
	le.PutUint32(b[240:], c.ToastMaxChunkSize)
	le.PutUint32(b[244:], c.LOBlockSize)
	b[248] = boolByte(c.Float8ByVal)
	le.PutUint32(b[252:], c.DataChecksumVersion)
	copy(b[256:288], c.MockAuthNonce[:])
	le.PutUint32(b[crcOffset:], crc32.Checksum(b[:crcOffset], castagnoli))
	return b
}

// ForStartAt returns a copy of c prepared for a stock PostgreSQL 15 to start
// from a shutdown checkpoint record at loc whose payload is cp: the cluster is
// "shut down", the last checkpoint is at loc, and no recovery or backup state
// is pending. Everything else (system identifier, sizes, nonce, parameters)
// is kept from c.
func (c *ControlFile) ForStartAt(loc lsn.LSN, cp CheckPoint) *ControlFile {
	n := *c
	n.State = StateShutdowned
	n.Time = cp.Time
	n.CheckPointLoc = loc
	n.CheckPointCopy = cp
	n.MinRecoveryPoint = 0
	n.MinRecoveryPointTLI = 0
	n.BackupStartPoint = 0
	n.BackupEndPoint = 0
	n.BackupEndRequired = false
	return &n
}
