package wal

import (
	"errors"
	"fmt"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// Kind classifies a malformed-WAL error.
type Kind uint8

// Error kinds.
const (
	// KindLength: an impossible record or field length.
	KindLength Kind = iota + 1
	// KindCRC: the record's CRC-32C does not match.
	KindCRC
	// KindBadBlock: an invalid block reference header.
	KindBadBlock
	// KindPageHeader: a WAL page header is invalid (magic, flags, address,
	// segment size, system id, continuation length).
	KindPageHeader
	// KindTimeline: a page carries an unexpected timeline.
	KindTimeline
	// KindPrevLink: xl_prev does not point at the previous record, or points
	// forward.
	KindPrevLink
	// KindBackwards: input bytes arrived for an LSN before the decoder's
	// position, or left a gap.
	KindBackwards
	// KindImage: a page image does not decompress to the announced size.
	KindImage
	// KindRmgr: an invalid resource manager id.
	KindRmgr
)

var kindNames = map[Kind]string{
	KindLength: "length", KindCRC: "crc", KindBadBlock: "block header", KindPageHeader: "page header",
	KindTimeline: "timeline", KindPrevLink: "prev link", KindBackwards: "position", KindImage: "image",
	KindRmgr: "rmgr",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is malformed WAL: it names the LSN of the record (or page) at fault.
// Corruption is never retried: the same bytes give the same error.
type Error struct {
	LSN    lsn.LSN
	Kind   Kind
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid WAL at %s: %s", e.LSN, e.Reason)
}

func errorf(at lsn.LSN, k Kind, format string, args ...any) *Error {
	return &Error{LSN: at, Kind: k, Reason: fmt.Sprintf(format, args...)}
}

// ErrEndOfWAL is returned by Decoder.Next at the clean end of the WAL: a zero
// xl_tot_len where a record should start, or a zero or recycled page (page
// address of an older segment) where a new page should start.
var ErrEndOfWAL = errors.New("end of WAL")

// ErrNeedData is returned by Decoder.Next when the bytes fed so far hold no
// further complete record.
var ErrNeedData = errors.New("need more WAL data")
