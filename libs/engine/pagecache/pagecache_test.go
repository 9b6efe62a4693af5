package pagecache

import (
	"bytes"
	"testing"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

func TestLookupFindsTheNewestVersionAtOrBelowTheRequest(t *testing.T) {
	c := New(1 << 20)
	tl, k := id.Generate(), key.Key{Field6: 7}
	c.Insert(tl, k, 20, []byte("a"))
	c.Insert(tl, k, 40, []byte("b"))
	for _, tc := range []struct {
		name string
		at   uint64
		want string
		ok   bool
	}{
		{"below every version misses", 10, "", false},
		{"exactly a version hits it", 20, "a", true},
		{"between versions gives the older", 39, "a", true},
		{"above every version gives the newest", 100, "b", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, ok := c.Lookup(tl, k, lsnOf(tc.at))
			if ok != tc.ok || string(got) != tc.want {
				t.Fatalf("got %q, %v", got, ok)
			}
		})
	}
	if _, _, ok := c.Lookup(id.Generate(), k, 100); ok {
		t.Fatal("another timeline hit")
	}
}

func TestEvictionKeepsTheCacheWithinItsBudget(t *testing.T) {
	page := bytes.Repeat([]byte{1}, 8192)
	c := New(10 * (8192 + entryOverhead))
	tl := id.Generate()
	for i := 0; i < 100; i++ {
		c.Insert(tl, key.Key{Field6: uint32(i)}, 8, page)
		if s := c.Stats(); s.Bytes > 10*(8192+entryOverhead) {
			t.Fatalf("cache holds %d bytes", s.Bytes)
		}
	}
	if _, _, ok := c.Lookup(tl, key.Key{Field6: 0}, 8); ok {
		t.Fatal("the least recently used page survived")
	}
	if _, _, ok := c.Lookup(tl, key.Key{Field6: 99}, 8); !ok {
		t.Fatal("the newest page was evicted")
	}
	c.DropTimeline(tl)
	if s := c.Stats(); s.Pages != 0 || s.Bytes != 0 {
		t.Fatalf("after DropTimeline: %+v", s)
	}
}

func lsnOf(v uint64) lsn.LSN { return lsn.LSN(v) }
