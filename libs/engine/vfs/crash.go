package vfs

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// CrashFS is an in-memory FS that remembers what is durable, so a test can
// simulate a power loss at any moment with Crash.
//
// The model (POSIX, as strict as ext4 with data=writeback may be):
//
//	file bytes        durable up to the last File.Sync of that file
//	directory entries durable as of the last SyncDir of that directory
//	                  (create, rename, remove, mkdir of a child)
//
// A file that was synced but whose name was never made durable by SyncDir
// does not survive; a name that was made durable survives with its synced
// bytes only (possibly empty). Truncation by Create is not durable until the
// file is synced. Directories themselves survive only if their parent was
// synced after they were made.
//
// CrashFS is safe for concurrent use. Paths are cleaned; relative paths are
// taken relative to the root.
type CrashFS struct {
	mu   sync.Mutex
	root *memNode
}

type memNode struct {
	dir     bool
	data    []byte // file: current bytes
	synced  []byte // file: durable bytes; may share data's array (see shared)
	shared  bool   // synced aliases the start of data's array: copy before overwriting it
	kids    map[string]*memNode
	durable map[string]*memNode // dir: entries as of the last SyncDir
}

func newDirNode() *memNode {
	return &memNode{dir: true, kids: map[string]*memNode{}, durable: map[string]*memNode{}}
}

// NewCrashFS returns an empty CrashFS holding only the root directory.
func NewCrashFS() *CrashFS { return &CrashFS{root: newDirNode()} }

// Crash returns a new CrashFS holding only what was durable in fs at this
// moment, as after a power loss and restart. fs itself is unchanged and open
// files keep working on it, so a test can crash "in the middle" of a
// concurrent operation and inspect the result while the operation goes on.
func (fs *CrashFS) Crash() *CrashFS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return &CrashFS{root: cloneDurable(fs.root)}
}

func cloneDurable(d *memNode) *memNode {
	nd := newDirNode()
	for name, c := range d.durable {
		var nc *memNode
		if c.dir {
			nc = cloneDurable(c)
		} else {
			b := append([]byte(nil), c.synced...)
			nc = &memNode{data: b, synced: b[:len(b):len(b)], shared: true}
		}
		nd.kids[name] = nc
		nd.durable[name] = nc
	}
	return nd
}

func splitPath(name string) []string {
	p := path.Clean("/" + name)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// lookupDir returns the directory at the components; fs.mu is held.
func (fs *CrashFS) lookupDir(op, name string, comps []string) (*memNode, error) {
	d := fs.root
	for _, c := range comps {
		n, ok := d.kids[c]
		if !ok {
			return nil, &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
		}
		if !n.dir {
			return nil, &os.PathError{Op: op, Path: name, Err: fmt.Errorf("%s is not a directory", c)}
		}
		d = n
	}
	return d, nil
}

// lookupParent returns the parent directory and base name; fs.mu is held.
func (fs *CrashFS) lookupParent(op, name string) (*memNode, string, error) {
	comps := splitPath(name)
	if len(comps) == 0 {
		return nil, "", &os.PathError{Op: op, Path: name, Err: os.ErrInvalid}
	}
	d, err := fs.lookupDir(op, name, comps[:len(comps)-1])
	if err != nil {
		return nil, "", err
	}
	return d, comps[len(comps)-1], nil
}

func (fs *CrashFS) lookup(op, name string) (*memNode, error) {
	comps := splitPath(name)
	if len(comps) == 0 {
		return fs.root, nil
	}
	d, err := fs.lookupDir(op, name, comps[:len(comps)-1])
	if err != nil {
		return nil, err
	}
	n, ok := d.kids[comps[len(comps)-1]]
	if !ok {
		return nil, &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
	}
	return n, nil
}

// Create implements FS.
func (fs *CrashFS) Create(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupParent("create", name)
	if err != nil {
		return nil, err
	}
	n, ok := d.kids[base]
	switch {
	case ok && n.dir:
		return nil, &os.PathError{Op: "create", Path: name, Err: fmt.Errorf("is a directory")}
	case ok:
		n.data = nil // synced keeps the old array
		n.shared = false
	default:
		n = &memNode{}
		d.kids[base] = n
	}
	return &memFile{fs: fs, n: n, name: name, write: true}, nil
}

// Open implements FS.
func (fs *CrashFS) Open(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("is a directory")}
	}
	return &memFile{fs: fs, n: n, name: name, read: true}, nil
}

// OpenReadWrite implements FS.
func (fs *CrashFS) OpenReadWrite(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupParent("open", name)
	if err != nil {
		return nil, err
	}
	n, ok := d.kids[base]
	switch {
	case ok && n.dir:
		return nil, &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("is a directory")}
	case !ok:
		n = &memNode{}
		d.kids[base] = n
	}
	return &memFile{fs: fs, n: n, name: name, read: true, write: true}, nil
}

// Rename implements FS.
func (fs *CrashFS) Rename(oldname, newname string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	od, obase, err := fs.lookupParent("rename", oldname)
	if err != nil {
		return err
	}
	n, ok := od.kids[obase]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: os.ErrNotExist}
	}
	nd, nbase, err := fs.lookupParent("rename", newname)
	if err != nil {
		return err
	}
	if old, ok := nd.kids[nbase]; ok {
		if old == n {
			return nil
		}
		if old.dir && (!n.dir || len(old.kids) > 0) {
			return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fmt.Errorf("target is a directory")}
		}
		if !old.dir && n.dir {
			return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fmt.Errorf("target is not a directory")}
		}
	}
	delete(od.kids, obase)
	nd.kids[nbase] = n
	return nil
}

// Remove implements FS.
func (fs *CrashFS) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupParent("remove", name)
	if err != nil {
		return err
	}
	n, ok := d.kids[base]
	if !ok {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	if n.dir && len(n.kids) > 0 {
		return &os.PathError{Op: "remove", Path: name, Err: fmt.Errorf("directory not empty")}
	}
	delete(d.kids, base)
	return nil
}

// RemoveAll implements FS.
func (fs *CrashFS) RemoveAll(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupParent("removeall", name)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	delete(d.kids, base)
	return nil
}

// MkdirAll implements FS.
func (fs *CrashFS) MkdirAll(dir string, _ os.FileMode) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d := fs.root
	for _, c := range splitPath(dir) {
		n, ok := d.kids[c]
		if !ok {
			n = newDirNode()
			d.kids[c] = n
		} else if !n.dir {
			return &os.PathError{Op: "mkdir", Path: dir, Err: fmt.Errorf("%s is not a directory", c)}
		}
		d = n
	}
	return nil
}

// List implements FS.
func (fs *CrashFS) List(dir string) ([]string, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, err := fs.lookupDir("list", dir, splitPath(dir))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(d.kids))
	for name := range d.kids {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Stat implements FS.
func (fs *CrashFS) Stat(name string) (os.FileInfo, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	n, err := fs.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return memInfo{name: path.Base(path.Clean("/" + name)), dir: n.dir, size: int64(len(n.data))}, nil
}

// SyncDir implements FS.
func (fs *CrashFS) SyncDir(dir string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, err := fs.lookupDir("syncdir", dir, splitPath(dir))
	if err != nil {
		return err
	}
	d.durable = make(map[string]*memNode, len(d.kids))
	for name, n := range d.kids {
		d.durable[name] = n
	}
	return nil
}

type memFile struct {
	fs          *CrashFS
	n           *memNode
	name        string
	pos         int64
	read, write bool
	closed      bool
}

func (f *memFile) check(op string, needWrite bool) error {
	switch {
	case f.closed:
		return &os.PathError{Op: op, Path: f.name, Err: os.ErrClosed}
	case needWrite && !f.write:
		return &os.PathError{Op: op, Path: f.name, Err: fmt.Errorf("file not open for writing")}
	case !needWrite && op != "sync" && op != "stat" && !f.read:
		return &os.PathError{Op: op, Path: f.name, Err: fmt.Errorf("file not open for reading")}
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if f.pos >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: os.ErrInvalid}
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	end := f.pos + int64(len(p))
	if f.n.shared && f.pos < int64(len(f.n.synced)) {
		// An overwrite of synced bytes: give synced its own copy first.
		f.n.synced = append([]byte(nil), f.n.synced...)
		f.n.shared = false
	}
	if end > int64(len(f.n.data)) {
		if end > int64(cap(f.n.data)) {
			grown := make([]byte, end, max(end, 2*int64(cap(f.n.data))))
			copy(grown, f.n.data)
			f.n.data = grown
		} else {
			f.n.data = f.n.data[:end]
		}
	}
	copy(f.n.data[f.pos:], p)
	f.pos = end
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync", false); err != nil {
		return err
	}
	// Appends after this point never touch data[:len], so synced can share
	// the array until an overwrite (see Write) or a truncate (a new array).
	f.n.synced = f.n.data[:len(f.n.data):len(f.n.data)]
	f.n.shared = true
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false); err != nil {
		return nil, err
	}
	return memInfo{name: path.Base(f.name), size: int64(len(f.n.data))}, nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &os.PathError{Op: "close", Path: f.name, Err: os.ErrClosed}
	}
	f.closed = true
	return nil
}

type memInfo struct {
	name string
	dir  bool
	size int64
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
