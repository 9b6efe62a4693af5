// Package metadata defines the durable metadata of a timeline and its file
// format (docs/format/metadata.md).
//
// The file is small, versioned and checksummed:
//
//	offset  size  field
//	0       4     magic "STMD"
//	4       2     format version, u16 BE (1)
//	6       2     body length N, u16 BE (89 for version 1)
//	8       N     body (all integers big-endian):
//	                0   u8   flags: bit 0 = prev_record_lsn present, bit 1 = ancestor present
//	                1   u64  disk_consistent_lsn
//	                9   u64  prev_record_lsn (0 unless flag bit 0)
//	                17  [16] ancestor_timeline (zero unless flag bit 1)
//	                33  u64  ancestor_lsn
//	                41  u64  latest_gc_cutoff_lsn
//	                49  u64  initdb_lsn
//	                57  u64  remote_consistent_lsn
//	                65  u32  pg_version
//	                69  [20] reserved, zero
//	8+N     4     CRC-32C (Castagnoli) of bytes [0, 8+N), u32 BE
//
// Decode rejects a wrong magic, an unknown version, a length that does not
// match the file, a checksum mismatch, trailing bytes, an unaligned
// disk_consistent_lsn and inconsistent flags. The file is always replaced as
// a whole (temp file, fsync, rename, fsync directory): unlike Neon's metadata
// file, which is overwritten in place with one 512-byte write, a torn write
// can never be observed.
package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// FileName is the name of the metadata file in a timeline directory.
const FileName = "metadata"

// Version is the format version Encode writes.
const Version = 1

const (
	magic      = "STMD"
	headerSize = 8
	bodySize   = 89
	fileSize   = headerSize + bodySize + 4

	flagPrev     = 1 << 0
	flagAncestor = 1 << 1
)

// ErrCorrupt is returned (wrapped) by Decode for a file that is not a valid
// metadata file.
var ErrCorrupt = errors.New("corrupt timeline metadata")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Metadata is the durable state of a timeline. The zero value is a root
// timeline with nothing on disk.
type Metadata struct {
	// DiskConsistentLSN: every record at or below it is in local layer files.
	DiskConsistentLSN lsn.LSN
	// PrevRecordLSN is the start of the last record when DiskConsistentLSN is
	// the tip of the timeline; Invalid when unknown.
	PrevRecordLSN lsn.LSN
	// Ancestor is the parent timeline; zero for a root timeline.
	Ancestor id.ID
	// AncestorLSN is the branch point: reads at or below it go to Ancestor.
	AncestorLSN lsn.LSN
	// LatestGCCutoffLSN: reads and branches below it are refused.
	LatestGCCutoffLSN lsn.LSN
	// InitDBLSN is the LSN of the initial import, inherited by branches.
	InitDBLSN lsn.LSN
	// RemoteConsistentLSN is DiskConsistentLSN of the last index uploaded to
	// object storage (Invalid if none).
	RemoteConsistentLSN lsn.LSN
	// PGVersion is the PostgreSQL major version (15).
	PGVersion uint32
}

// Encode returns the file bytes of m.
func (m Metadata) Encode() []byte {
	b := make([]byte, fileSize)
	copy(b, magic)
	binary.BigEndian.PutUint16(b[4:], Version)
	binary.BigEndian.PutUint16(b[6:], bodySize)
	body := b[headerSize : headerSize+bodySize]
	var flags byte
	if m.PrevRecordLSN.IsValid() {
		flags |= flagPrev
	}
	if !m.Ancestor.IsZero() {
		flags |= flagAncestor
	}
	body[0] = flags
	binary.BigEndian.PutUint64(body[1:], uint64(m.DiskConsistentLSN))
	binary.BigEndian.PutUint64(body[9:], uint64(m.PrevRecordLSN))
	copy(body[17:33], m.Ancestor[:])
	binary.BigEndian.PutUint64(body[33:], uint64(m.AncestorLSN))
	binary.BigEndian.PutUint64(body[41:], uint64(m.LatestGCCutoffLSN))
	binary.BigEndian.PutUint64(body[49:], uint64(m.InitDBLSN))
	binary.BigEndian.PutUint64(body[57:], uint64(m.RemoteConsistentLSN))
	binary.BigEndian.PutUint32(body[65:], m.PGVersion)
	binary.BigEndian.PutUint32(b[headerSize+bodySize:], crc32.Checksum(b[:headerSize+bodySize], castagnoli))
	return b
}

// Decode parses file bytes written by Encode. Errors wrap ErrCorrupt.
func Decode(b []byte) (Metadata, error) {
	var m Metadata
	if len(b) < headerSize+4 || string(b[:4]) != magic {
		return m, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	if v := binary.BigEndian.Uint16(b[4:]); v != Version {
		return m, fmt.Errorf("%w: unknown format version %d", ErrCorrupt, v)
	}
	n := int(binary.BigEndian.Uint16(b[6:]))
	if n != bodySize || len(b) != headerSize+n+4 {
		return m, fmt.Errorf("%w: body length %d does not match file length %d", ErrCorrupt, n, len(b))
	}
	if want, got := binary.BigEndian.Uint32(b[headerSize+n:]), crc32.Checksum(b[:headerSize+n], castagnoli); want != got {
		return m, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, want, got)
	}
	body := b[headerSize : headerSize+n]
	flags := body[0]
	if flags&^(flagPrev|flagAncestor) != 0 {
		return m, fmt.Errorf("%w: unknown flags %#x", ErrCorrupt, flags)
	}
	m.DiskConsistentLSN = lsn.LSN(binary.BigEndian.Uint64(body[1:]))
	m.PrevRecordLSN = lsn.LSN(binary.BigEndian.Uint64(body[9:]))
	copy(m.Ancestor[:], body[17:33])
	m.AncestorLSN = lsn.LSN(binary.BigEndian.Uint64(body[33:]))
	m.LatestGCCutoffLSN = lsn.LSN(binary.BigEndian.Uint64(body[41:]))
	m.InitDBLSN = lsn.LSN(binary.BigEndian.Uint64(body[49:]))
	m.RemoteConsistentLSN = lsn.LSN(binary.BigEndian.Uint64(body[57:]))
	m.PGVersion = binary.BigEndian.Uint32(body[65:])
	switch {
	case (flags&flagPrev != 0) != m.PrevRecordLSN.IsValid():
		return m, fmt.Errorf("%w: prev_record_lsn flag disagrees with its value", ErrCorrupt)
	case (flags&flagAncestor != 0) != !m.Ancestor.IsZero():
		return m, fmt.Errorf("%w: ancestor flag disagrees with its value", ErrCorrupt)
	case !m.DiskConsistentLSN.IsAligned():
		return m, fmt.Errorf("%w: disk_consistent_lsn %s is not 8-byte aligned", ErrCorrupt, m.DiskConsistentLSN)
	}
	for _, c := range body[69:] {
		if c != 0 {
			return m, fmt.Errorf("%w: reserved bytes are not zero", ErrCorrupt)
		}
	}
	return m, nil
}
