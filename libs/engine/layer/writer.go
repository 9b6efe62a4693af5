package layer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

// Desc describes a finished layer file.
type Desc struct {
	Name Name
	Size int64 // file size in bytes
}

// writeBufferSize is the size of the writers' buffer.
const writeBufferSize = 256 << 10

var errFinished = errors.New("layer writer already finished or aborted")

// writer is the part shared by DeltaWriter and ImageWriter: it appends blobs,
// cuts leaf blocks after maxLeafEntries entries, and finishes the file.
type writer struct {
	fs      vfs.FS
	dir     string
	tmp     string
	f       vfs.File
	buf     []byte // bytes not yet written to f
	kind    Kind
	ks      int
	off     int64  // bytes written so far
	leaf    []byte // current leaf entries in full form
	nleaf   int
	fence   []byte
	leaves  uint32
	entries uint64
	maxBlob uint32
	last    [key.Size + 8]byte // key of the last entry
	ek      [key.Size + 8]byte // key of the entry being added
	small   [crcSize]byte      // tag and checksum bytes
	block   []byte             // leaf block being encoded
	first   key.Key
	lastKey key.Key
	done    bool
	err     error // sticky write error
}

func newWriter(fs vfs.FS, dir, tmp string, kind Kind) (*writer, error) {
	path := filepath.Join(dir, tmp)
	f, err := fs.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create layer %s: %w", path, err)
	}
	w := &writer{fs: fs, dir: dir, tmp: path, f: f, kind: kind, ks: entryKeySize(kind)}
	w.buf = make([]byte, 0, writeBufferSize)
	w.leaf = make([]byte, 0, maxLeafEntries*(w.ks+refSize))
	w.block = make([]byte, 0, maxLeafSize(w.ks))
	p := preamble(kind)
	w.write(p[:]) // buffered: cannot fail
	return w, nil
}

// write appends b to the file through the buffer; large writes bypass it.
func (w *writer) write(b []byte) {
	if w.err != nil {
		return
	}
	w.off += int64(len(b))
	if len(w.buf)+len(b) <= cap(w.buf) {
		w.buf = append(w.buf, b...)
		return
	}
	w.flushBuf()
	if len(b) >= cap(w.buf)/2 {
		w.writeFile(b)
		return
	}
	w.buf = append(w.buf, b...)
}

func (w *writer) flushBuf() {
	if len(w.buf) > 0 {
		w.writeFile(w.buf)
		w.buf = w.buf[:0]
	}
}

func (w *writer) writeFile(b []byte) {
	if w.err != nil {
		return
	}
	if _, err := w.f.Write(b); err != nil {
		w.err = fmt.Errorf("write layer %s: %w", w.tmp, err)
	}
}

// add appends one entry whose sortable key is in w.ek: the blob is tag (if
// non-zero) followed by data, then its checksum.
func (w *writer) add(k key.Key, tag byte, data []byte, willInit bool) error {
	ek := w.ek[:w.ks]
	switch {
	case w.done:
		return errFinished
	case w.err != nil:
		return w.err
	case w.entries > 0 && bytes.Compare(ek, w.last[:w.ks]) <= 0:
		return fmt.Errorf("layer writer: entry %x is not above the previous %x", ek, w.last[:w.ks])
	}
	size := len(data)
	if tag != 0 {
		size++
	}
	if size > maxBlobSize {
		return fmt.Errorf("layer writer: value of %d bytes too large", size)
	}
	if w.off+int64(size)+crcSize > maxOffset {
		return fmt.Errorf("layer writer: file too large")
	}
	off := w.off
	c := crc32.Update(0, castagnoli, ek)
	if len(w.buf)+size+crcSize <= cap(w.buf) {
		// The common case: the blob goes into the buffer, and its checksum
		// is computed there in one pass.
		start := len(w.buf)
		if tag != 0 {
			w.buf = append(w.buf, tag)
		}
		w.buf = append(w.buf, data...)
		w.buf = binary.LittleEndian.AppendUint32(w.buf, crc32.Update(c, castagnoli, w.buf[start:]))
		w.off += int64(size) + crcSize
	} else {
		if tag != 0 {
			w.small[0] = tag
			c = crc32.Update(c, castagnoli, w.small[:1])
			w.write(w.small[:1])
		}
		c = crc32.Update(c, castagnoli, data)
		w.write(data)
		binary.LittleEndian.PutUint32(w.small[:], c)
		w.write(w.small[:])
	}
	if w.err != nil {
		return w.err
	}
	if w.entries == 0 {
		w.first = k
	}
	w.lastKey = k
	copy(w.last[:], ek)
	w.entries++
	w.maxBlob = max(w.maxBlob, uint32(size))

	n := len(w.leaf)
	w.leaf = append(w.leaf, ek...)
	w.leaf = w.leaf[:n+w.ks+refSize]
	putRef(w.leaf[n+w.ks:], off, uint32(size), willInit)
	w.nleaf++
	if w.nleaf == maxLeafEntries {
		w.flushLeaf()
	}
	return w.err
}

// flushLeaf writes the current leaf block and adds it to the fence.
func (w *writer) flushLeaf() {
	if w.nleaf == 0 || w.err != nil {
		return
	}
	off := w.off
	block := appendLeaf(w.block[:0], w.leaf, w.nleaf, w.ks)
	w.write(block)
	w.fence = append(w.fence, w.leaf[:w.ks]...)
	w.fence = binary.LittleEndian.AppendUint64(w.fence, uint64(off))
	w.fence = binary.LittleEndian.AppendUint32(w.fence, uint32(len(block)))
	w.leaves++
	w.leaf = w.leaf[:0]
	w.nleaf = 0
}

// finish writes the index and summary, syncs, renames the file to its name
// and syncs the directory.
func (w *writer) finish(n Name) (Desc, error) {
	if w.done {
		return Desc{}, errFinished
	}
	if err := n.Validate(); err != nil {
		w.abort()
		return Desc{}, err
	}
	if w.entries > 0 && (!n.Keys.Contains(w.first) || !n.Keys.Contains(w.lastKey)) {
		w.abort()
		return Desc{}, fmt.Errorf("layer writer: keys %s..%s outside key range %s", w.first, w.lastKey, n.Keys)
	}
	w.flushLeaf()
	s := summary{kind: w.kind, keys: n.Keys, lsns: n.LSNs, entries: w.entries,
		fenceOff: w.off, leaves: w.leaves, maxBlob: w.maxBlob}
	w.fence = binary.LittleEndian.AppendUint32(w.fence, crc(w.fence))
	s.fenceLen = uint32(len(w.fence))
	w.write(w.fence)
	w.write(s.encode())
	w.flushBuf()
	if w.err == nil {
		if err := w.f.Sync(); err != nil {
			w.err = fmt.Errorf("sync layer %s: %w", w.tmp, err)
		}
	}
	if w.err != nil {
		err := w.err
		w.abort()
		return Desc{}, err
	}
	w.done = true
	if err := w.f.Close(); err != nil {
		_ = w.fs.Remove(w.tmp)
		return Desc{}, fmt.Errorf("close layer %s: %w", w.tmp, err)
	}
	final := filepath.Join(w.dir, n.String())
	if err := w.fs.Rename(w.tmp, final); err != nil {
		_ = w.fs.Remove(w.tmp)
		return Desc{}, fmt.Errorf("rename layer %s: %w", final, err)
	}
	if err := w.fs.SyncDir(w.dir); err != nil {
		return Desc{}, fmt.Errorf("sync dir %s after writing layer %s: %w", w.dir, n, err)
	}
	return Desc{Name: n, Size: w.off}, nil
}

func (w *writer) abort() error {
	if w.done {
		return nil
	}
	w.done = true
	cerr := w.f.Close()
	if err := w.fs.Remove(w.tmp); err != nil {
		return fmt.Errorf("abort layer %s: %w", w.tmp, err)
	}
	if cerr != nil && w.err == nil {
		return fmt.Errorf("abort layer %s: %w", w.tmp, cerr)
	}
	return nil
}

// DeltaWriter writes a delta layer. Entries are added in strictly increasing
// (key, LSN) order; the key range is given at Finish. Not safe for
// concurrent use.
type DeltaWriter struct {
	w    *writer
	lsns LSNRange
}

// NewDeltaWriter starts a delta layer for the LSN range in dir, under a temp
// name (IsTempName) until Finish.
func NewDeltaWriter(fs vfs.FS, dir string, lsns LSNRange) (*DeltaWriter, error) {
	if lsns.IsEmpty() {
		return nil, fmt.Errorf("new delta layer: empty LSN range %s", lsns)
	}
	w, err := newWriter(fs, dir, tempName("delta__"+lsns.Start.Hex()+"-"+lsns.End.Hex()), KindDelta)
	if err != nil {
		return nil, err
	}
	return &DeltaWriter{w: w, lsns: lsns}, nil
}

// Put adds version v of k at LSN at. (k, at) must be above the previous Put
// and at inside the writer's LSN range. v.Data is not retained.
func (d *DeltaWriter) Put(k key.Key, at lsn.LSN, v value.Value) error {
	if !d.lsns.Contains(at) {
		return fmt.Errorf("delta layer put: LSN %s outside %s", at, d.lsns)
	}
	if v.Kind != value.KindImage && v.Kind != value.KindRecord {
		return fmt.Errorf("delta layer put: value of unknown kind %d", v.Kind)
	}
	k.PutBinary(d.w.ek[:])
	binary.BigEndian.PutUint64(d.w.ek[key.Size:], uint64(at))
	return d.w.add(k, v.Tag(), v.Data, v.IsImage() || v.WillInit)
}

// Len returns the number of entries written so far.
func (d *DeltaWriter) Len() int { return int(d.w.entries) }

// Size returns the number of bytes written so far.
func (d *DeltaWriter) Size() int64 { return d.w.off }

// Finish completes the layer with the key range keys, which must contain
// every key written: it writes the index and summary, fsyncs, renames the
// file to its final name and fsyncs the directory. On error the temp file is
// removed (unless the failure was the final directory sync).
func (d *DeltaWriter) Finish(keys key.Range) (Desc, error) {
	return d.w.finish(DeltaName(keys, d.lsns))
}

// Abort discards the layer and removes its temp file.
func (d *DeltaWriter) Abort() error { return d.w.abort() }

// ImageWriter writes an image layer: keys in strictly increasing order,
// inside the key range given at creation. Not safe for concurrent use.
type ImageWriter struct {
	w    *writer
	name Name
}

// NewImageWriter starts an image layer of keys at LSN at in dir, under a temp
// name until Finish.
func NewImageWriter(fs vfs.FS, dir string, keys key.Range, at lsn.LSN) (*ImageWriter, error) {
	n := ImageName(keys, at)
	if err := n.Validate(); err != nil || at == lsn.Max {
		return nil, fmt.Errorf("new image layer %s: invalid range", n)
	}
	w, err := newWriter(fs, dir, tempName(n.String()), KindImage)
	if err != nil {
		return nil, err
	}
	return &ImageWriter{w: w, name: n}, nil
}

// Put adds the image of k. k must be above the previous Put and inside the
// key range. img is not retained.
func (iw *ImageWriter) Put(k key.Key, img []byte) error {
	if !iw.name.Keys.Contains(k) {
		return fmt.Errorf("image layer put: key %s outside %s", k, iw.name.Keys)
	}
	k.PutBinary(iw.w.ek[:])
	return iw.w.add(k, 0, img, true)
}

// Len returns the number of images written so far.
func (iw *ImageWriter) Len() int { return int(iw.w.entries) }

// Size returns the number of bytes written so far.
func (iw *ImageWriter) Size() int64 { return iw.w.off }

// Finish completes the layer (see DeltaWriter.Finish).
func (iw *ImageWriter) Finish() (Desc, error) { return iw.w.finish(iw.name) }

// Abort discards the layer and removes its temp file.
func (iw *ImageWriter) Abort() error { return iw.w.abort() }
