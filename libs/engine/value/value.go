// Package value defines Value, what Strata stores for a key at an LSN: either
// a full image of the value (an 8 KiB page or a metadata blob) or a WAL
// record that must be applied to an older version.
//
// The engine never interprets record bytes. It only needs to know whether a
// record initializes the value by itself (WillInit) so that reconstruction can
// stop collecting older versions; images always do.
//
// # Binary encoding
//
// Values are stored inside layer files and the ephemeral file as one tag byte
// followed by the payload. The length is not part of the encoding: the
// container (a layer blob, an ephemeral file entry) delimits it.
//
//	+-----+----------------------+
//	| tag | data (len(b)-1 bytes)|
//	+-----+----------------------+
//
//	tag 0x01  image            (WillInit is implied)
//	tag 0x02  record           (needs a base image)
//	tag 0x03  will_init record (applies to an empty value)
//
// Any other tag, or an empty input, is an error. Worked example: a 3-byte
// will_init record "abc" encodes as 03 61 62 63.
package value

import (
	"errors"
	"fmt"
)

// Kind says whether a Value is an image or a WAL record.
type Kind uint8

const (
	// KindImage is a full copy of the value.
	KindImage Kind = 1
	// KindRecord is a WAL record to be applied by a redo process.
	KindRecord Kind = 2
)

// String returns "image" or "record".
func (k Kind) String() string {
	switch k {
	case KindImage:
		return "image"
	case KindRecord:
		return "record"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Value is one version of a key. Data is owned by whoever built the Value;
// Decode returns Values whose Data aliases its input.
type Value struct {
	Kind     Kind
	WillInit bool
	Data     []byte
}

// Image returns an image value; images are always will_init.
func Image(b []byte) Value { return Value{Kind: KindImage, WillInit: true, Data: b} }

// Record returns a WAL record value.
func Record(b []byte, willInit bool) Value {
	return Value{Kind: KindRecord, WillInit: willInit, Data: b}
}

// IsImage reports whether v is an image.
func (v Value) IsImage() bool { return v.Kind == KindImage }

// NeedsBase reports whether v is a record that must be applied on top of an
// older version (a record without will_init).
func (v Value) NeedsBase() bool { return v.Kind == KindRecord && !v.WillInit }

// String describes the value briefly, for tests and logs.
func (v Value) String() string {
	switch {
	case v.Kind == KindImage:
		return fmt.Sprintf("image(%d bytes)", len(v.Data))
	case v.WillInit:
		return fmt.Sprintf("record(%d bytes, will_init)", len(v.Data))
	default:
		return fmt.Sprintf("record(%d bytes)", len(v.Data))
	}
}

// Encoding tags.
const (
	tagImage          = 0x01
	tagRecord         = 0x02
	tagRecordWillInit = 0x03
)

// EncodedLen returns the length of the binary encoding of v.
func (v Value) EncodedLen() int { return 1 + len(v.Data) }

// Tag returns the first byte of the binary encoding of v. A Value of an
// unknown kind is encoded as a record.
func (v Value) Tag() byte {
	switch {
	case v.Kind == KindImage:
		return tagImage
	case v.WillInit:
		return tagRecordWillInit
	}
	return tagRecord
}

// AppendBinary appends the binary encoding of v to dst.
func (v Value) AppendBinary(dst []byte) []byte {
	return append(append(dst, v.Tag()), v.Data...)
}

// ErrMalformed is returned (wrapped) by Decode for input that is not a Value.
var ErrMalformed = errors.New("value: malformed encoding")

// Decode parses the binary encoding of a value. The returned Data aliases b.
func Decode(b []byte) (Value, error) {
	if len(b) == 0 {
		return Value{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	switch b[0] {
	case tagImage:
		return Value{Kind: KindImage, WillInit: true, Data: b[1:]}, nil
	case tagRecord:
		return Value{Kind: KindRecord, Data: b[1:]}, nil
	case tagRecordWillInit:
		return Value{Kind: KindRecord, WillInit: true, Data: b[1:]}, nil
	}
	return Value{}, fmt.Errorf("%w: unknown tag 0x%02x", ErrMalformed, b[0])
}
