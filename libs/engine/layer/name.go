package layer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// Kind says whether a layer is a delta or an image layer.
type Kind uint8

const (
	// KindDelta layers hold versions of keys over an LSN range.
	KindDelta Kind = iota + 1
	// KindImage layers hold a snapshot of a key range at one LSN.
	KindImage
)

// String returns "delta" or "image".
func (k Kind) String() string {
	switch k {
	case KindDelta:
		return "delta"
	case KindImage:
		return "image"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// LSNRange is the half-open LSN interval [Start, End).
type LSNRange struct {
	Start, End lsn.LSN
}

// Contains reports whether l is in the range.
func (r LSNRange) Contains(l lsn.LSN) bool { return r.Start <= l && l < r.End }

// Overlaps reports whether the two ranges share an LSN.
func (r LSNRange) Overlaps(o LSNRange) bool { return r.Start < o.End && o.Start < r.End }

// IsEmpty reports whether the range holds no LSN.
func (r LSNRange) IsEmpty() bool { return r.Start >= r.End }

// String formats the range as "X/Y-X/Y".
func (r LSNRange) String() string { return r.Start.String() + "-" + r.End.String() }

// Name identifies a layer: its kind, key range and LSN range. For an image
// layer at LSN l, LSNs is [l, l+1).
type Name struct {
	Kind Kind
	Keys key.Range
	LSNs LSNRange
}

// DeltaName returns the name of a delta layer.
func DeltaName(keys key.Range, lsns LSNRange) Name {
	return Name{Kind: KindDelta, Keys: keys, LSNs: lsns}
}

// ImageName returns the name of an image layer at LSN at.
func ImageName(keys key.Range, at lsn.LSN) Name {
	return Name{Kind: KindImage, Keys: keys, LSNs: LSNRange{at, at + 1}}
}

// IsL0 reports whether n is a delta layer covering the whole key space (the
// output of one flush of an in-memory layer).
func (n Name) IsL0() bool { return n.Kind == KindDelta && n.Keys == key.All }

// LSN returns the LSN of an image layer (LSNs.Start).
func (n Name) LSN() lsn.LSN { return n.LSNs.Start }

// String returns the file name:
//
//	delta  <key start>-<key end>__<lsn start %016X>-<lsn end %016X>
//	image  <key start>-<key end>__<lsn %016X>
func (n Name) String() string {
	var b strings.Builder
	b.Grow(2*key.TextSize + 3 + 33)
	b.WriteString(n.Keys.Start.String())
	b.WriteByte('-')
	b.WriteString(n.Keys.End.String())
	b.WriteString("__")
	b.WriteString(n.LSNs.Start.Hex())
	if n.Kind != KindImage {
		b.WriteByte('-')
		b.WriteString(n.LSNs.End.Hex())
	}
	return b.String()
}

// Compare orders names by key start, key end, LSN start, LSN end, then kind.
func (n Name) Compare(o Name) int {
	if c := n.Keys.Start.Compare(o.Keys.Start); c != 0 {
		return c
	}
	if c := n.Keys.End.Compare(o.Keys.End); c != 0 {
		return c
	}
	switch {
	case n.LSNs.Start != o.LSNs.Start:
		return cmpLSN(n.LSNs.Start, o.LSNs.Start)
	case n.LSNs.End != o.LSNs.End:
		return cmpLSN(n.LSNs.End, o.LSNs.End)
	}
	return int(n.Kind) - int(o.Kind)
}

func cmpLSN(a, b lsn.LSN) int {
	if a < b {
		return -1
	}
	return 1
}

// Validate reports why n cannot name a layer: an unknown kind, an empty key
// or LSN range, or an image whose LSN range is not [l, l+1).
func (n Name) Validate() error {
	switch n.Kind {
	case KindDelta, KindImage:
	default:
		return fmt.Errorf("layer name: unknown kind %d", n.Kind)
	}
	if n.Keys.IsEmpty() {
		return fmt.Errorf("layer name: empty key range %s", n.Keys)
	}
	if n.LSNs.IsEmpty() {
		return fmt.Errorf("layer name: empty LSN range %s", n.LSNs)
	}
	if n.Kind == KindImage && n.LSNs.End != n.LSNs.Start+1 {
		return fmt.Errorf("layer name: image LSN range %s is not one LSN", n.LSNs)
	}
	return nil
}

// ErrBadName is wrapped by every ParseName error.
var ErrBadName = errors.New("not a layer file name")

// ParseName parses a layer file name. It accepts exactly the two forms String
// produces (upper-case hex, no directory, no suffix): anything else, including
// temp names and names with an empty key or LSN range, is an error wrapping
// ErrBadName.
func ParseName(s string) (Name, error) {
	const keysLen = 2*key.TextSize + 1
	const deltaLen = keysLen + 2 + 16 + 1 + 16
	const imageLen = keysLen + 2 + 16
	bad := func(why string) (Name, error) {
		return Name{}, fmt.Errorf("%w: %q: %s", ErrBadName, s, why)
	}
	if len(s) != deltaLen && len(s) != imageLen {
		return bad("wrong length")
	}
	if s[key.TextSize] != '-' || s[keysLen:keysLen+2] != "__" {
		return bad("want <key>-<key>__<lsn>[-<lsn>]")
	}
	start, ok1 := parseKey(s[:key.TextSize])
	end, ok2 := parseKey(s[key.TextSize+1 : keysLen])
	if !ok1 || !ok2 {
		return bad("keys must be 36 upper-case hex digits")
	}
	lsn1, ok := parseLSN(s[keysLen+2 : keysLen+18])
	if !ok {
		return bad("LSNs must be 16 upper-case hex digits")
	}
	n := Name{Kind: KindImage, Keys: key.Range{Start: start, End: end}, LSNs: LSNRange{lsn1, lsn1 + 1}}
	if len(s) == deltaLen {
		if s[keysLen+18] != '-' {
			return bad("want <lsn>-<lsn>")
		}
		lsn2, ok := parseLSN(s[keysLen+19:])
		if !ok {
			return bad("LSNs must be 16 upper-case hex digits")
		}
		n.Kind = KindDelta
		n.LSNs.End = lsn2
	} else if lsn1 == lsn.Max {
		return bad("image LSN has no successor")
	}
	if n.Keys.IsEmpty() {
		return bad("key start is not below key end")
	}
	if n.LSNs.IsEmpty() {
		return bad("LSN start is not below LSN end")
	}
	return n, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func parseKey(s string) (key.Key, bool) {
	var b [key.Size]byte
	for i := range b {
		hi, ok1 := hexDigit(s[2*i])
		lo, ok2 := hexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return key.Key{}, false
		}
		b[i] = hi<<4 | lo
	}
	k, err := key.FromBinary(b[:])
	return k, err == nil
}

func parseLSN(s string) (lsn.LSN, bool) {
	var v uint64
	for i := 0; i < len(s); i++ {
		d, ok := hexDigit(s[i])
		if !ok {
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return lsn.LSN(v), true
}

// IsTempName reports whether a file name is one the writers use before the
// final rename (vfs.TempSuffix). Such files are incomplete; startup deletes them.
func IsTempName(s string) bool { return vfs.IsTemp(s) }

const tempAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// tempName returns a fresh temp file name for a layer being written.
func tempName(base string) string {
	var r [8]byte
	for i := range r {
		r[i] = tempAlphabet[rand.IntN(len(tempAlphabet))]
	}
	return base + "." + string(r[:]) + vfs.TempSuffix
}
