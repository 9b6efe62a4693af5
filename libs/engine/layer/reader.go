package layer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"sync"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// Reader reads one layer file. Open checks the summary against the name and
// loads the fence (the first key of every leaf block) into memory; leaf
// blocks and blobs are read and checked on demand. A Reader is safe for
// concurrent use; each call borrows a scratch buffer from a pool, so reads
// do not allocate in the steady state.
type Reader struct {
	name      Name
	path      string
	f         vfs.File
	size      int64
	sum       summary
	ks        int
	fenceKeys []byte   // leaves x ks
	leafOff   []int64  // offset of each leaf block
	leafLen   []uint32 // length of each leaf block
	pool      sync.Pool
}

type scratch struct {
	leaf []byte
	blob []byte
	ek   [key.Size + 8]byte
}

// Open opens the layer n in dir.
func Open(fs vfs.FS, dir string, n Name) (*Reader, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, n.String())
	f, err := fs.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open layer %s: %w", path, err)
	}
	r, err := open(f, path, n)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open layer %s: %w", path, err)
	}
	return r, nil
}

func open(f vfs.File, path string, n Name) (*Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	r := &Reader{name: n, path: path, f: f, size: st.Size(), ks: entryKeySize(n.Kind)}
	if r.size < preambleSize+summarySize {
		return nil, corruptf("file of %d bytes is too short", r.size)
	}
	var head [preambleSize]byte
	if err := r.readAt(head[:], 0); err != nil {
		return nil, err
	}
	if head != preamble(n.Kind) {
		return nil, corruptf("bad magic %q", head[:])
	}
	var tail [summarySize]byte
	if err := r.readAt(tail[:], r.size-summarySize); err != nil {
		return nil, err
	}
	if r.sum, err = decodeSummary(tail[:], r.size, n); err != nil {
		return nil, err
	}
	fence := make([]byte, r.sum.fenceLen)
	if err := r.readAt(fence, r.sum.fenceOff); err != nil {
		return nil, err
	}
	body := fence[:len(fence)-crcSize]
	if got, want := binary.LittleEndian.Uint32(fence[len(body):]), crc(body); got != want {
		return nil, corruptf("fence checksum %08x, want %08x", got, want)
	}
	nl := int(r.sum.leaves)
	r.fenceKeys = make([]byte, 0, nl*r.ks)
	r.leafOff = make([]int64, nl)
	r.leafLen = make([]uint32, nl)
	lo := int64(preambleSize)
	w := r.ks + fenceRefSize
	for i := 0; i < nl; i++ {
		e := body[i*w : (i+1)*w]
		k := e[:r.ks]
		off := int64(binary.LittleEndian.Uint64(e[r.ks:]))
		ln := binary.LittleEndian.Uint32(e[r.ks+8:])
		if off < lo || ln > uint32(maxLeafSize(r.ks)) || off+int64(ln) > r.sum.fenceOff {
			return nil, corruptf("leaf %d at %d+%d out of place", i, off, ln)
		}
		if i > 0 && bytes.Compare(k, r.fenceKeys[(i-1)*r.ks:]) <= 0 {
			return nil, corruptf("fence keys out of order at leaf %d", i)
		}
		r.fenceKeys = append(r.fenceKeys, k...)
		r.leafOff[i], r.leafLen[i] = off, ln
		lo = off + int64(ln)
	}
	if lo != r.sum.fenceOff {
		return nil, corruptf("index does not end at the fence")
	}
	leafCap, blobCap := maxLeafSize(r.ks), int(r.sum.maxBlob)+crcSize
	r.pool.New = func() any {
		return &scratch{leaf: make([]byte, leafCap), blob: make([]byte, blobCap)}
	}
	return r, nil
}

// Name returns the layer's name.
func (r *Reader) Name() Name { return r.name }

// Size returns the file size in bytes.
func (r *Reader) Size() int64 { return r.size }

// Len returns the number of entries (versions or images) in the layer.
func (r *Reader) Len() int { return int(r.sum.entries) }

// Close closes the file. Reads after Close fail.
func (r *Reader) Close() error { return r.f.Close() }

func (r *Reader) readAt(b []byte, off int64) error {
	n, err := r.f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return corruptf("short read of %d bytes at %d", len(b), off)
	}
	return fmt.Errorf("read layer %s: %w", r.path, err)
}

func (r *Reader) wrap(err error) error {
	return fmt.Errorf("layer %s: %w", r.name, err)
}

// blobBounds returns the region [lo, hi) that holds the blobs of leaf i.
func (r *Reader) blobBounds(i int) (lo, hi int64) {
	lo = preambleSize
	if i > 0 {
		lo = r.leafOff[i-1] + int64(r.leafLen[i-1])
	}
	return lo, r.leafOff[i]
}

// loadLeaf reads and checks leaf i into s.leaf.
func (r *Reader) loadLeaf(i int, s *scratch) (leaf, error) {
	buf := s.leaf[:r.leafLen[i]]
	if err := r.readAt(buf, r.leafOff[i]); err != nil {
		return leaf{}, err
	}
	l, err := parseLeaf(buf, r.ks)
	if err != nil {
		return l, fmt.Errorf("leaf %d: %w", i, err)
	}
	fk := r.fenceKeys[i*r.ks : (i+1)*r.ks]
	if !bytes.Equal(l.prefix, fk[:len(l.prefix)]) || !bytes.Equal(l.suffix(0), fk[len(l.prefix):]) {
		return l, corruptf("leaf %d does not start at its fence key", i)
	}
	return l, nil
}

// readValue reads, checks and decodes the blob of entry j of leaf l (leaf
// number i) whose full key is ek. The value aliases s.blob.
func (r *Reader) readValue(s *scratch, i int, l *leaf, j int, ek []byte, region []byte, regionOff int64) (value.Value, error) {
	off, size, willInit := l.ref(j)
	lo, hi := r.blobBounds(i)
	if size > r.sum.maxBlob || off < lo || off+int64(size)+crcSize > hi {
		return value.Value{}, corruptf("blob at %d+%d outside %d..%d", off, size, lo, hi)
	}
	var buf []byte
	if region != nil {
		buf = region[off-regionOff : off-regionOff+int64(size)+crcSize]
	} else {
		buf = s.blob[:size+crcSize]
		if err := r.readAt(buf, off); err != nil {
			return value.Value{}, err
		}
	}
	payload := buf[:size]
	c := crc32.Update(crc32.Update(0, castagnoli, ek), castagnoli, payload)
	if got := binary.LittleEndian.Uint32(buf[size:]); got != c {
		return value.Value{}, corruptf("blob at %d: checksum %08x, want %08x", off, got, c)
	}
	if r.name.Kind == KindImage {
		return value.Image(payload), nil
	}
	v, err := value.Decode(payload)
	if err != nil {
		return v, corruptf("blob at %d: %v", off, err)
	}
	if v.IsImage() || v.WillInit {
		if !willInit {
			return v, corruptf("blob at %d: will_init disagrees with the index", off)
		}
	} else if willInit {
		return v, corruptf("blob at %d: will_init disagrees with the index", off)
	}
	return v, nil
}

// findLeaf returns the last leaf whose first key is below target, or -1.
func (r *Reader) findLeaf(target []byte) int {
	lo, hi := 0, len(r.leafOff)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(r.fenceKeys[m*r.ks:(m+1)*r.ks], target) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// Versions calls fn for the versions of k with LSN in lsns, newest first,
// until fn returns false. For an image layer that is the single image at the
// layer's LSN, if k is present and the LSN is in lsns. v.Data is valid only
// during fn.
func (r *Reader) Versions(k key.Key, lsns LSNRange, fn func(at lsn.LSN, v value.Value) bool) error {
	if lsns.IsEmpty() || !r.name.Keys.Contains(k) || !lsns.Overlaps(r.name.LSNs) {
		return nil
	}
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	if r.name.Kind == KindImage {
		return r.image(s, k, fn)
	}
	// Search for (k, lsns.End): the entries just below it are the newest
	// versions of k in range.
	var target [key.Size + 8]byte
	k.PutBinary(target[:])
	binary.BigEndian.PutUint64(target[key.Size:], uint64(lsns.End))
	i := r.findLeaf(target[:])
	if i < 0 {
		return nil
	}
	l, err := r.loadLeaf(i, s)
	if err != nil {
		return r.wrap(err)
	}
	j := l.search(target[:]) - 1
	ek := s.ek[:r.ks]
	for {
		if j < 0 {
			if i--; i < 0 {
				return nil
			}
			if l, err = r.loadLeaf(i, s); err != nil {
				return r.wrap(err)
			}
			j = l.count - 1
		}
		l.fullKey(j, ek)
		if !bytes.Equal(ek[:key.Size], target[:key.Size]) {
			return nil
		}
		at := lsn.LSN(binary.BigEndian.Uint64(ek[key.Size:]))
		if at < lsns.Start {
			return nil
		}
		v, err := r.readValue(s, i, &l, j, ek, nil, 0)
		if err != nil {
			return r.wrap(err)
		}
		if !fn(at, v) {
			return nil
		}
		j--
	}
}

func (r *Reader) image(s *scratch, k key.Key, fn func(at lsn.LSN, v value.Value) bool) error {
	ek := s.ek[:key.Size]
	k.PutBinary(ek)
	// The leaf holding k is the last one whose first key is <= k.
	var next [key.Size + 1]byte
	copy(next[:], ek)
	i := r.findLeaf(next[:])
	if i < 0 {
		return nil
	}
	l, err := r.loadLeaf(i, s)
	if err != nil {
		return r.wrap(err)
	}
	j := l.search(ek)
	if j == l.count || !bytes.Equal(l.suffix(j), ek[len(l.prefix):]) {
		return nil
	}
	v, err := r.readValue(s, i, &l, j, ek, nil, 0)
	if err != nil {
		return r.wrap(err)
	}
	fn(r.name.LSNs.Start, v)
	return nil
}

// maxIterRegion bounds the buffer Iterate reads a leaf's blobs into at once.
const maxIterRegion = 4 << 20

// Iterate calls fn for every entry in (key, LSN) order until fn returns
// false. For an image layer at is the layer's LSN. v.Data is valid only
// during fn. Every block and blob read is checked, so a complete Iterate
// verifies the whole file.
func (r *Reader) Iterate(fn func(k key.Key, at lsn.LSN, v value.Value) bool) error {
	return r.iterate(key.All, true, fn)
}

// IterateRange is Iterate restricted to the keys in keys.
func (r *Reader) IterateRange(keys key.Range, fn func(k key.Key, at lsn.LSN, v value.Value) bool) error {
	return r.iterate(keys, false, fn)
}

func (r *Reader) iterate(keys key.Range, all bool, fn func(k key.Key, at lsn.LSN, v value.Value) bool) error {
	if keys.IsEmpty() && !all {
		return nil
	}
	s := r.pool.Get().(*scratch)
	defer r.pool.Put(s)
	var region []byte
	ek := s.ek[:r.ks]
	first := 0
	if !all {
		// The first leaf that can hold keys.Start: the last one whose first
		// entry is below (keys.Start, 0).
		var target [key.Size]byte
		keys.Start.PutBinary(target[:])
		first = max(0, r.findLeaf(target[:]))
	}
	for i := first; i < len(r.leafOff); i++ {
		l, err := r.loadLeaf(i, s)
		if err != nil {
			return r.wrap(err)
		}
		lo, hi := r.blobBounds(i)
		var reg []byte
		if hi-lo <= maxIterRegion {
			if int64(cap(region)) < hi-lo {
				region = make([]byte, hi-lo)
			}
			reg = region[:hi-lo]
			if err := r.readAt(reg, lo); err != nil {
				return r.wrap(err)
			}
		}
		for j := 0; j < l.count; j++ {
			l.fullKey(j, ek)
			k, _ := key.FromBinary(ek[:key.Size])
			if !all && !keys.Contains(k) {
				if k.Less(keys.Start) {
					continue
				}
				return nil
			}
			at := r.name.LSNs.Start
			if r.name.Kind == KindDelta {
				at = lsn.LSN(binary.BigEndian.Uint64(ek[key.Size:]))
			}
			if !r.name.Keys.Contains(k) || !r.name.LSNs.Contains(at) {
				return r.wrap(corruptf("entry %s@%s outside the layer", k, at))
			}
			v, err := r.readValue(s, i, &l, j, ek, reg, lo)
			if err != nil {
				return r.wrap(err)
			}
			if !fn(k, at, v) {
				return nil
			}
		}
	}
	return nil
}

// Verify reads and checks every block and blob of the layer.
func (r *Reader) Verify() error {
	return r.Iterate(func(key.Key, lsn.LSN, value.Value) bool { return true })
}
