// Package id defines ID, the 16-byte identifier of tenants and timelines.
//
// Its text form is 32 lower-case hex digits, as in Neon
// ("ad50847381e248feaac9876cc71ae418"); that form names tenant and timeline
// directories. The zero ID means "none".
package id

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// ID identifies a tenant or a timeline. The zero value means "none".
type ID [16]byte

// Generate returns a random ID.
func Generate() ID {
	var v ID
	_, _ = rand.Read(v[:]) // crypto/rand.Read never fails
	return v
}

// String returns the 32 lower-case hex digits of the ID.
func (v ID) String() string { return hex.EncodeToString(v[:]) }

// IsZero reports whether v is the zero ID.
func (v ID) IsZero() bool { return v == ID{} }

// Parse reads an ID from 32 hex digits.
func Parse(s string) (ID, error) {
	var v ID
	if len(s) != 32 {
		return v, fmt.Errorf("invalid id %q: want 32 hex digits", s)
	}
	if _, err := hex.Decode(v[:], []byte(s)); err != nil {
		return v, fmt.Errorf("invalid id %q: want 32 hex digits", s)
	}
	return v, nil
}

// MarshalText implements encoding.TextMarshaler.
func (v ID) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *ID) UnmarshalText(b []byte) error {
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}
