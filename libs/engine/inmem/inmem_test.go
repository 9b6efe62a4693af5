package inmem

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
)

func k(n uint32) key.Key { return key.Key{Field6: n} }

func versions(l *Layer, kk key.Key, from, to lsn.LSN) string {
	var out []string
	l.Versions(kk, from, to, func(at lsn.LSN, v value.Value) bool {
		out = append(out, fmt.Sprintf("%d:%s", at, v.Data))
		return true
	})
	return strings.Join(out, " ")
}

func TestVersionsAreNewestFirstWithinTheRange(t *testing.T) {
	l := New(8)
	for _, p := range []struct {
		k  uint32
		at lsn.LSN
		d  string
	}{{1, 16, "a"}, {1, 24, "b"}, {2, 24, "x"}, {1, 32, "c"}, {1, 24, "B"}, {1, 8, "z"}} {
		if err := l.Put(k(p.k), p.at, value.Record([]byte(p.d), false)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		from, to lsn.LSN
		want     string
	}{
		{"the whole range, with the replaced version", 0, lsn.Max, "32:c 24:B 16:a 8:z"},
		{"an exclusive upper bound", 0, 32, "24:B 16:a 8:z"},
		{"an inclusive lower bound", 16, 32, "24:B 16:a"},
		{"an empty range", 17, 24, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versions(l, k(1), tc.from, tc.to); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFreezeThenIterateInKeyLSNOrder(t *testing.T) {
	l := New(8)
	big := bytes.Repeat([]byte{7}, chunkSize)
	_ = l.Put(k(3), 16, value.Image(big))
	_ = l.Put(k(1), 24, value.Record([]byte("r"), true))
	_ = l.Put(k(1), 16, value.Image([]byte("i")))
	_ = l.Put(k(2), 8, value.Image([]byte("j")))
	if err := l.Iterate(func(key.Key, lsn.LSN, value.Value) error { return nil }); err == nil {
		t.Fatal("iterate on an open layer succeeded")
	}
	if err := l.Freeze(24); err == nil {
		t.Fatal("freeze at the max LSN succeeded")
	}
	if err := l.Freeze(32); err != nil {
		t.Fatal(err)
	}
	if err := l.Put(k(1), 40, value.Image(nil)); !errors.Is(err, ErrFrozen) {
		t.Fatalf("put after freeze: %v", err)
	}
	var got []string
	_ = l.Iterate(func(kk key.Key, at lsn.LSN, v value.Value) error {
		got = append(got, fmt.Sprintf("%d@%d/%d/%v", kk.Field6, at, len(v.Data), v.WillInit))
		return nil
	})
	if want := "1@16/1/true 1@24/1/true 2@8/1/true 3@16/1048576/true"; strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	if l.Size() != int64(chunkSize+3) {
		t.Fatalf("size %d", l.Size())
	}
	if r := l.KeyRange(); r.Start != k(1) || r.End != k(4) {
		t.Fatalf("key range %v", r)
	}
}

func TestMemoryStaysNearTheValueBytes(t *testing.T) {
	l := New(8)
	val := make([]byte, 100)
	for i := 0; i < 100_000; i++ {
		_ = l.Put(k(uint32(i%1000)), lsn.LSN(8+8*i), value.Record(val, false))
	}
	if m, s := l.MemoryUsage(), l.Size(); m > 2*s {
		t.Fatalf("memory %d for %d value bytes", m, s)
	}
}
