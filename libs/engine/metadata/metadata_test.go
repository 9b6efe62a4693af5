package metadata

import (
	"errors"
	"testing"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
)

func TestEncodeDecodeRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    Metadata
	}{
		{"a fresh root timeline", Metadata{}},
		{"a root timeline at its tip", Metadata{DiskConsistentLSN: 0x16960E8, PrevRecordLSN: 0x1696070, LatestGCCutoffLSN: 0x1696070, InitDBLSN: 0x1696070, PGVersion: 15}},
		{"a branch", Metadata{DiskConsistentLSN: 0x2000000, Ancestor: id.Generate(), AncestorLSN: 0x1800000, InitDBLSN: 0x1696070, RemoteConsistentLSN: 0x1F00000, PGVersion: 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.m.Encode())
			if err != nil || got != tc.m {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.m)
			}
		})
	}
}

func TestDecodeRejectsEverySingleByteFlipAndTruncation(t *testing.T) {
	b := Metadata{DiskConsistentLSN: lsn.LSN(0x16960E8), PGVersion: 15}.Encode()
	for i := range b {
		for _, bit := range []byte{0x01, 0x80} {
			c := append([]byte(nil), b...)
			c[i] ^= bit
			if _, err := Decode(c); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip of bit %#x in byte %d: got %v, want ErrCorrupt", bit, i, err)
			}
		}
	}
	for n := 0; n < len(b); n++ {
		if _, err := Decode(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncation to %d bytes: got %v", n, err)
		}
	}
	if _, err := Decode(append(b, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing byte accepted: %v", err)
	}
}

func TestDecodeRejectsAnUnalignedDiskConsistentLSN(t *testing.T) {
	if _, err := Decode(Metadata{DiskConsistentLSN: 0x16960E9}.Encode()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
}
