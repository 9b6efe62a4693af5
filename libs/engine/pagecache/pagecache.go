// Package pagecache keeps materialized pages: the results of WAL redo, keyed
// by (timeline, key, LSN), bounded by a byte budget with LRU eviction.
//
// A page cached under LSN c is the value of the key at c; the read path uses
// the newest cached version at or below a request LSN as its base image and
// only looks for records above c. Cached slices are shared and must never be
// modified by callers. A Cache is safe for concurrent use.
package pagecache

import (
	"container/list"
	"slices"
	"sync"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// entryOverhead approximates the bookkeeping bytes of one cached page.
const entryOverhead = 96

type pageKey struct {
	timeline id.ID
	key      key.Key
}

type entry struct {
	pk   pageKey
	at   lsn.LSN
	data []byte
	elem *list.Element
}

// Cache is an LRU cache of materialized pages. The zero Cache is not usable;
// use New.
type Cache struct {
	mu       sync.Mutex
	capacity int
	used     int
	lru      list.List            // front = most recently used; values are *entry
	pages    map[pageKey][]*entry // sorted by LSN ascending
	hits     uint64
	misses   uint64
}

// New returns a cache holding at most capacity bytes (page bytes plus a small
// per-entry overhead). A capacity ≤ 0 disables caching.
func New(capacity int) *Cache {
	return &Cache{capacity: capacity, pages: make(map[pageKey][]*entry)}
}

// Lookup returns the newest cached version of k on timeline tl at or below
// at, and its LSN.
func (c *Cache) Lookup(tl id.ID, k key.Key, at lsn.LSN) (data []byte, cachedAt lsn.LSN, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	es := c.pages[pageKey{tl, k}]
	i, _ := slices.BinarySearchFunc(es, at, func(e *entry, t lsn.LSN) int {
		if e.at <= t {
			return -1
		}
		return 1
	})
	if i == 0 {
		c.misses++
		return nil, lsn.Invalid, false
	}
	e := es[i-1]
	c.lru.MoveToFront(e.elem)
	c.hits++
	return e.data, e.at, true
}

// Insert caches a copy of data as the value of k on tl at LSN at. Inserting
// an existing version is a no-op.
func (c *Cache) Insert(tl id.ID, k key.Key, at lsn.LSN, data []byte) {
	size := len(data) + entryOverhead
	if size > c.capacity {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pk := pageKey{tl, k}
	es := c.pages[pk]
	i, found := slices.BinarySearchFunc(es, at, func(e *entry, t lsn.LSN) int {
		switch {
		case e.at < t:
			return -1
		case e.at > t:
			return 1
		}
		return 0
	})
	if found {
		c.lru.MoveToFront(es[i].elem)
		return
	}
	e := &entry{pk: pk, at: at, data: slices.Clone(data)}
	e.elem = c.lru.PushFront(e)
	c.pages[pk] = slices.Insert(es, i, e)
	c.used += size
	for c.used > c.capacity {
		c.remove(c.lru.Back().Value.(*entry))
	}
}

func (c *Cache) remove(e *entry) {
	c.lru.Remove(e.elem)
	c.used -= len(e.data) + entryOverhead
	es := c.pages[e.pk]
	i := slices.Index(es, e)
	es = slices.Delete(es, i, i+1)
	if len(es) == 0 {
		delete(c.pages, e.pk)
	} else {
		c.pages[e.pk] = es
	}
}

// DropTimeline removes every page of a timeline (on delete or detach).
func (c *Cache) DropTimeline(tl id.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.lru.Front(); e != nil; {
		next := e.Next()
		if ent := e.Value.(*entry); ent.pk.timeline == tl {
			c.remove(ent)
		}
		e = next
	}
}

// Stats reports the cache's size and hit counters.
type Stats struct {
	Bytes, Pages int
	Hits, Misses uint64
}

// Stats returns current statistics.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Bytes: c.used, Pages: c.lru.Len(), Hits: c.hits, Misses: c.misses}
}
