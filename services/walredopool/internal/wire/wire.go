// Package wire is the binary protocol between walredo-pool and its redo
// worker processes, spoken over the worker's stdin (pool → worker) and stdout
// (worker → pool). docs/format/walredo-protocol.md is the specification; this
// file is its only implementation.
//
// Every message is a 16-byte header followed by a payload. All integers are
// little-endian:
//
//	 0      1      2             4             8                     16
//	+------+------+-------------+-------------+---------------------+
//	| kind | ver  | reserved=0  | payload len | request id          |
//	| u8   | u8=1 | u16         | u32         | u64                 |
//	+------+------+-------------+-------------+---------------------+
//	| payload (payload len bytes, at most MaxPayload)               |
//	+---------------------------------------------------------------+
//
// Kinds: 'W' hello (worker → pool, once, right after start), 'R' redo request
// (pool → worker), 'P' page (worker → pool), 'E' error (worker → pool). Each
// 'R' is answered by exactly one 'P' or 'E' carrying the same request id.
//
// Concurrency: the functions are pure; a Reader or a Request is for one
// goroutine at a time.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/redo"
)

// Protocol constants.
const (
	Version    = 1
	HeaderSize = 16
	// PageSize is the size of a page image (base image and result).
	PageSize = 8192
	// MaxPayload bounds every payload; a larger length is a protocol error.
	MaxPayload = 256 << 20
	// MaxErrorText bounds the text of an 'E' message.
	MaxErrorText = 4096
	// HelloSize is the payload size of 'W': pid u32, max payload u32.
	HelloSize = 8
	// RedoFixedSize is the fixed part of an 'R' payload.
	RedoFixedSize = 32
	// RecordHeaderSize precedes each record's data in an 'R' payload.
	RecordHeaderSize = 12
)

// Message kinds.
const (
	KindHello byte = 'W'
	KindRedo  byte = 'R'
	KindPage  byte = 'P'
	KindError byte = 'E'
)

// Redo flags (byte 18 of an 'R' payload).
const (
	FlagHasBase byte = 1 << 0
)

// Error codes (first payload byte of an 'E' message).
const (
	// CodeRedoFailed: the request was well formed but a record could not be
	// applied. The worker stays usable.
	CodeRedoFailed byte = 1
	// CodeBadRequest: the frame was intact but its payload is not a valid
	// redo request. The worker stays usable.
	CodeBadRequest byte = 2
	// CodeProtocol: the stream cannot be trusted any more (bad header, bad
	// length); the worker exits after sending it.
	CodeProtocol byte = 3
)

// ErrProtocol is wrapped by every framing error: the peer is not speaking
// this protocol (or is speaking it wrong) and the stream must be abandoned.
var ErrProtocol = errors.New("walredo protocol error")

// Header is a decoded message header.
type Header struct {
	Kind byte
	Len  uint32
	ID   uint64
}

// PutHeader writes h into b[:HeaderSize].
func PutHeader(b []byte, h Header) {
	_ = b[HeaderSize-1]
	b[0], b[1], b[2], b[3] = h.Kind, Version, 0, 0
	binary.LittleEndian.PutUint32(b[4:], h.Len)
	binary.LittleEndian.PutUint64(b[8:], h.ID)
}

// ParseHeader decodes and checks b[:HeaderSize]: version, reserved bytes and
// the payload bound. It does not check the kind.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: short header (%d bytes)", ErrProtocol, len(b))
	}
	h := Header{Kind: b[0], Len: binary.LittleEndian.Uint32(b[4:]), ID: binary.LittleEndian.Uint64(b[8:])}
	switch {
	case b[1] != Version:
		return h, fmt.Errorf("%w: version %d, want %d (kind 0x%02x)", ErrProtocol, b[1], Version, b[0])
	case b[2] != 0 || b[3] != 0:
		return h, fmt.Errorf("%w: reserved header bytes %02x%02x", ErrProtocol, b[2], b[3])
	case h.Len > MaxPayload:
		return h, fmt.Errorf("%w: payload of %d bytes exceeds %d", ErrProtocol, h.Len, MaxPayload)
	}
	return h, nil
}

// RecordKind says how a record's data is encoded when it is appended to a
// request.
type RecordKind uint8

const (
	// RecordStrata: Data is a Strata record value (libs/postgres/redo
	// value.go), sent as is.
	RecordStrata RecordKind = iota
	// RecordPostgres: Data is a raw PostgreSQL WAL record; it is sent as the
	// Strata Postgres value (tag 0x01, end LSN, raw bytes) without a copy.
	RecordPostgres
)

// Record is one record of a request.
type Record struct {
	LSN  lsn.LSN
	Kind RecordKind
	Data []byte
}

// EncodedSize is the number of bytes r takes in an 'R' payload.
func (r *Record) EncodedSize() int {
	n := RecordHeaderSize + len(r.Data)
	if r.Kind == RecordPostgres {
		n += 9
	}
	return n
}

// AppendRedo appends a whole 'R' message (header and payload) to dst and
// returns it. base is nil when there is no base image. The caller keeps dst
// between calls so that a steady stream of requests does not allocate. It
// fails only when the payload would exceed MaxPayload.
//
// 'R' payload:
//
//	key [18] | flags u8 | reserved u8 | nrec u32 | lsn u64      (32 bytes)
//	base image [8192]                                           (if flags & FlagHasBase)
//	nrec × ( lsn u64 | len u32 | data [len] )                   (Strata record values)
func AppendRedo(dst []byte, id uint64, k key.Key, at lsn.LSN, base []byte, records []Record) ([]byte, error) {
	size := RedoFixedSize
	if base != nil {
		if len(base) != PageSize {
			return dst, fmt.Errorf("base image has %d bytes, want %d", len(base), PageSize)
		}
		size += PageSize
	}
	for i := range records {
		size += records[i].EncodedSize()
		if size > MaxPayload {
			return dst, fmt.Errorf("redo request exceeds %d bytes at record %d", MaxPayload, i)
		}
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	PutHeader(dst[start:], Header{Kind: KindRedo, Len: uint32(size), ID: id})
	dst = k.AppendBinary(dst)
	flags := byte(0)
	if base != nil {
		flags |= FlagHasBase
	}
	dst = append(dst, flags, 0)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(records)))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(at))
	dst = append(dst, base...)
	for i := range records {
		r := &records[i]
		dst = binary.LittleEndian.AppendUint64(dst, uint64(r.LSN))
		if r.Kind == RecordPostgres {
			dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Data)+9))
			dst = redo.EncodePostgres(dst, r.LSN, r.Data)
			continue
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(r.Data)))
		dst = append(dst, r.Data...)
	}
	return dst, nil
}

// Redo is a decoded 'R' payload. Base and the records' Data alias the
// payload.
type Redo struct {
	Key     key.Key
	LSN     lsn.LSN
	Base    []byte // nil: no base image
	Records []redo.Record
}

// ParseRedo decodes an 'R' payload into r, reusing r.Records' storage. Errors
// describe what is wrong; the frame itself stays intact.
func ParseRedo(r *Redo, p []byte) error {
	if len(p) < RedoFixedSize {
		return fmt.Errorf("redo payload of %d bytes is shorter than its %d-byte fixed part", len(p), RedoFixedSize)
	}
	k, err := key.FromBinary(p[:key.Size])
	if err != nil {
		return fmt.Errorf("redo key: %w", err)
	}
	flags := p[18]
	if flags&^FlagHasBase != 0 || p[19] != 0 {
		return fmt.Errorf("redo flags 0x%02x%02x: unknown bits", flags, p[19])
	}
	n := binary.LittleEndian.Uint32(p[20:])
	r.Key, r.LSN, r.Base, r.Records = k, lsn.LSN(binary.LittleEndian.Uint64(p[24:])), nil, r.Records[:0]
	off := RedoFixedSize
	if flags&FlagHasBase != 0 {
		if len(p)-off < PageSize {
			return fmt.Errorf("redo payload ends inside the base image")
		}
		r.Base = p[off : off+PageSize : off+PageSize]
		off += PageSize
	}
	// Each record takes at least RecordHeaderSize bytes: bound n before
	// trusting it for anything.
	if uint64(n) > uint64(len(p)-off)/RecordHeaderSize {
		return fmt.Errorf("redo payload too short for %d records", n)
	}
	for i := uint32(0); i < n; i++ {
		if len(p)-off < RecordHeaderSize {
			return fmt.Errorf("redo payload ends inside the header of record %d", i)
		}
		at := lsn.LSN(binary.LittleEndian.Uint64(p[off:]))
		l := binary.LittleEndian.Uint32(p[off+8:])
		off += RecordHeaderSize
		if uint64(l) > uint64(len(p)-off) {
			return fmt.Errorf("record %d at %s claims %d bytes, %d left", i, at, l, len(p)-off)
		}
		end := off + int(l)
		r.Records = append(r.Records, redo.Record{LSN: at, Data: p[off:end:end]})
		off = end
	}
	if off != len(p) {
		return fmt.Errorf("redo payload has %d trailing bytes", len(p)-off)
	}
	return nil
}

// AppendHello appends a 'W' message.
func AppendHello(dst []byte, pid int) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	PutHeader(dst[start:], Header{Kind: KindHello, Len: HelloSize})
	dst = binary.LittleEndian.AppendUint32(dst, uint32(pid))
	return binary.LittleEndian.AppendUint32(dst, MaxPayload)
}

// ParseHello checks a 'W' message's header and payload and returns the pid
// it announces.
func ParseHello(h Header, p []byte) (int, error) {
	if h.Kind != KindHello || h.Len != HelloSize || len(p) != HelloSize || h.ID != 0 {
		return 0, fmt.Errorf("%w: want hello, got kind 0x%02x with %d bytes, id %d", ErrProtocol, h.Kind, h.Len, h.ID)
	}
	if m := binary.LittleEndian.Uint32(p[4:]); m != MaxPayload {
		return 0, fmt.Errorf("%w: worker's max payload is %d, want %d", ErrProtocol, m, MaxPayload)
	}
	return int(binary.LittleEndian.Uint32(p)), nil
}

// AppendError appends an 'E' message; text is cut to MaxErrorText bytes on a
// UTF-8 boundary.
func AppendError(dst []byte, id uint64, code byte, text string) []byte {
	if len(text) > MaxErrorText {
		cut := MaxErrorText
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	PutHeader(dst[start:], Header{Kind: KindError, Len: uint32(1 + len(text)), ID: id})
	dst = append(dst, code)
	return append(dst, text...)
}
