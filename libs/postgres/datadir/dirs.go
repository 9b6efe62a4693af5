package datadir

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/stratadb/strata/libs/engine/key"
)

// Directory values are metadata images stored under the directory keys of
// package key. Each starts with a format byte; entries are sorted, so equal
// directories encode to equal bytes. All integers are big-endian.
//
//	DbDir        01 | n u32 | n × (spc u32, db u32, has_relmap u8)
//	RelDir       01 | n u32 | n × (relnode u32, fork u8)
//	SlruDir      01 | n u32 | n × segno u32
//	TwoPhaseDir  01 | n u32 | n × xid u32
//
// Sizes (RelSize, SlruSegSize keys) are u32 little-endian block counts, as
// in Neon.
const dirFormat = 1

// DB names a database directory: its tablespace and database OIDs.
type DB struct{ Spc, Db uint32 }

// relEntry is one relation fork of a database directory.
type relEntry struct {
	Rel  uint32
	Fork uint8
}

func encodeDbDir(m map[DB]bool) []byte {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b DB) int {
		if a.Spc != b.Spc {
			return cmpU32(a.Spc, b.Spc)
		}
		return cmpU32(a.Db, b.Db)
	})
	b := header(len(keys), 9)
	for _, k := range keys {
		b = binary.BigEndian.AppendUint32(b, k.Spc)
		b = binary.BigEndian.AppendUint32(b, k.Db)
		b = append(b, boolByte(m[k]))
	}
	return b
}

func decodeDbDir(b []byte) (map[DB]bool, error) {
	n, body, err := entries(b, 9, "database directory")
	if err != nil {
		return nil, err
	}
	m := make(map[DB]bool, n)
	for i := 0; i < n; i++ {
		e := body[i*9:]
		m[DB{binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:])}] = e[8] != 0
	}
	return m, nil
}

func encodeRelDir(m map[relEntry]struct{}) []byte {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b relEntry) int {
		if a.Rel != b.Rel {
			return cmpU32(a.Rel, b.Rel)
		}
		return int(a.Fork) - int(b.Fork)
	})
	b := header(len(keys), 5)
	for _, k := range keys {
		b = binary.BigEndian.AppendUint32(b, k.Rel)
		b = append(b, k.Fork)
	}
	return b
}

func decodeRelDir(b []byte) (map[relEntry]struct{}, error) {
	n, body, err := entries(b, 5, "relation directory")
	if err != nil {
		return nil, err
	}
	m := make(map[relEntry]struct{}, n)
	for i := 0; i < n; i++ {
		e := body[i*5:]
		m[relEntry{binary.BigEndian.Uint32(e), e[4]}] = struct{}{}
	}
	return m, nil
}

// encodeSet encodes an SLRU or two-phase directory: a set of u32.
func encodeSet(m map[uint32]struct{}) []byte {
	keys := slices.Sorted(maps.Keys(m))
	b := header(len(keys), 4)
	for _, k := range keys {
		b = binary.BigEndian.AppendUint32(b, k)
	}
	return b
}

func decodeSet(b []byte, what string) (map[uint32]struct{}, error) {
	n, body, err := entries(b, 4, what)
	if err != nil {
		return nil, err
	}
	m := make(map[uint32]struct{}, n)
	for i := 0; i < n; i++ {
		m[binary.BigEndian.Uint32(body[i*4:])] = struct{}{}
	}
	return m, nil
}

func header(n, size int) []byte {
	b := make([]byte, 0, 5+n*size)
	b = append(b, dirFormat)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

func entries(b []byte, size int, what string) (int, []byte, error) {
	if len(b) < 5 || b[0] != dirFormat {
		return 0, nil, fmt.Errorf("datadir: %s value is malformed (%d bytes)", what, len(b))
	}
	n := int(binary.BigEndian.Uint32(b[1:]))
	if len(b)-5 != n*size {
		return 0, nil, fmt.Errorf("datadir: %s value has %d bytes for %d entries", what, len(b), n)
	}
	return n, b[5:], nil
}

func encodeSize(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }

func decodeSize(b []byte, k key.Key) (uint32, error) {
	if len(b) != 4 {
		return 0, fmt.Errorf("datadir: size value of %s has %d bytes, want 4", k, len(b))
	}
	return binary.LittleEndian.Uint32(b), nil
}

func cmpU32(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
