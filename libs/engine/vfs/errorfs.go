package vfs

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// Op names an FS or File operation, for error injection.
type Op uint8

// Operations seen by an Injector.
const (
	OpCreate Op = iota + 1
	OpOpen
	OpOpenReadWrite
	OpRename
	OpRemove
	OpRemoveAll
	OpMkdirAll
	OpList
	OpStat
	OpSyncDir
	OpRead // File.Read and File.ReadAt
	OpWrite
	OpSync
	OpClose
	OpFileStat
)

var opNames = [...]string{
	OpCreate: "create", OpOpen: "open", OpOpenReadWrite: "open-rw", OpRename: "rename",
	OpRemove: "remove", OpRemoveAll: "removeall", OpMkdirAll: "mkdirall", OpList: "list",
	OpStat: "stat", OpSyncDir: "syncdir", OpRead: "read", OpWrite: "write", OpSync: "sync",
	OpClose: "close", OpFileStat: "fstat",
}

// String returns the operation's lower-case name.
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// IsMutation reports whether the operation changes the filesystem or makes
// changes durable (the steps a crash test wants to interrupt).
func (o Op) IsMutation() bool {
	switch o {
	case OpCreate, OpOpenReadWrite, OpRename, OpRemove, OpRemoveAll, OpMkdirAll, OpSyncDir, OpWrite, OpSync:
		return true
	}
	return false
}

// ErrInjected is wrapped by every error an Injector made up.
var ErrInjected = errors.New("vfs: injected error")

// Injector decides whether an operation fails. For a rename, path is the old name.
type Injector interface {
	MaybeError(op Op, path string) error
}

// InjectorFunc adapts a function to Injector.
type InjectorFunc func(op Op, path string) error

// MaybeError implements Injector.
func (f InjectorFunc) MaybeError(op Op, path string) error { return f(op, path) }

// Matcher selects the operations an injector counts.
type Matcher func(op Op, path string) bool

// Mutations matches the operations for which Op.IsMutation is true.
func Mutations(op Op, _ string) bool { return op.IsMutation() }

// OnOps matches the listed operations.
func OnOps(ops ...Op) Matcher {
	return func(op Op, _ string) bool {
		for _, o := range ops {
			if o == op {
				return true
			}
		}
		return false
	}
}

// Counter is an Injector that never fails and counts the operations its
// matcher selects: run a scenario once with it to learn how many steps to
// inject failures at.
type Counter struct {
	match Matcher
	mu    sync.Mutex
	n     int
}

// CountOps returns a Counter of the operations match selects (all if nil).
func CountOps(match Matcher) *Counter { return &Counter{match: match} }

// MaybeError implements Injector.
func (c *Counter) MaybeError(op Op, path string) error {
	if c.match == nil || c.match(op, path) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return nil
}

// Count returns the number of matching operations so far.
func (c *Counter) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// FailNth returns an Injector under which the nth (1-based) operation that
// match selects (all if nil) fails; with sticky, every later one fails too
// (a disk that died at step n).
func FailNth(n int, match Matcher, sticky bool) Injector {
	var mu sync.Mutex
	seen := 0
	return InjectorFunc(func(op Op, path string) error {
		if match != nil && !match(op, path) {
			return nil
		}
		mu.Lock()
		seen++
		k := seen
		mu.Unlock()
		if k == n || (sticky && k > n) {
			return fmt.Errorf("%s %s (step %d): %w", op, path, k, ErrInjected)
		}
		return nil
	})
}

// NewErrorFS wraps inner so that every operation first asks inj whether to
// fail. A failed operation has no effect.
func NewErrorFS(inner FS, inj Injector) FS { return &errorFS{inner: inner, inj: inj} }

type errorFS struct {
	inner FS
	inj   Injector
}

func (fs *errorFS) wrap(f File, err error, name string) (File, error) {
	if err != nil {
		return nil, err
	}
	return &errorFile{inner: f, name: name, inj: fs.inj}, nil
}

func (fs *errorFS) Create(name string) (File, error) {
	if err := fs.inj.MaybeError(OpCreate, name); err != nil {
		return nil, err
	}
	f, err := fs.inner.Create(name)
	return fs.wrap(f, err, name)
}

func (fs *errorFS) Open(name string) (File, error) {
	if err := fs.inj.MaybeError(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := fs.inner.Open(name)
	return fs.wrap(f, err, name)
}

func (fs *errorFS) OpenReadWrite(name string) (File, error) {
	if err := fs.inj.MaybeError(OpOpenReadWrite, name); err != nil {
		return nil, err
	}
	f, err := fs.inner.OpenReadWrite(name)
	return fs.wrap(f, err, name)
}

func (fs *errorFS) Rename(oldname, newname string) error {
	if err := fs.inj.MaybeError(OpRename, oldname); err != nil {
		return err
	}
	return fs.inner.Rename(oldname, newname)
}

func (fs *errorFS) Remove(name string) error {
	if err := fs.inj.MaybeError(OpRemove, name); err != nil {
		return err
	}
	return fs.inner.Remove(name)
}

func (fs *errorFS) RemoveAll(dir string) error {
	if err := fs.inj.MaybeError(OpRemoveAll, dir); err != nil {
		return err
	}
	return fs.inner.RemoveAll(dir)
}

func (fs *errorFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := fs.inj.MaybeError(OpMkdirAll, dir); err != nil {
		return err
	}
	return fs.inner.MkdirAll(dir, perm)
}

func (fs *errorFS) List(dir string) ([]string, error) {
	if err := fs.inj.MaybeError(OpList, dir); err != nil {
		return nil, err
	}
	return fs.inner.List(dir)
}

func (fs *errorFS) Stat(name string) (os.FileInfo, error) {
	if err := fs.inj.MaybeError(OpStat, name); err != nil {
		return nil, err
	}
	return fs.inner.Stat(name)
}

func (fs *errorFS) SyncDir(dir string) error {
	if err := fs.inj.MaybeError(OpSyncDir, dir); err != nil {
		return err
	}
	return fs.inner.SyncDir(dir)
}

type errorFile struct {
	inner File
	name  string
	inj   Injector
}

func (f *errorFile) Read(p []byte) (int, error) {
	if err := f.inj.MaybeError(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.inner.Read(p)
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.inj.MaybeError(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.inner.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	if err := f.inj.MaybeError(OpWrite, f.name); err != nil {
		return 0, err
	}
	return f.inner.Write(p)
}

func (f *errorFile) Sync() error {
	if err := f.inj.MaybeError(OpSync, f.name); err != nil {
		return err
	}
	return f.inner.Sync()
}

func (f *errorFile) Stat() (os.FileInfo, error) {
	if err := f.inj.MaybeError(OpFileStat, f.name); err != nil {
		return nil, err
	}
	return f.inner.Stat()
}

// Close always closes the underlying file, even when it reports an injected
// error, so tests do not leak handles.
func (f *errorFile) Close() error {
	err := f.inj.MaybeError(OpClose, f.name)
	if cerr := f.inner.Close(); err == nil {
		err = cerr
	}
	return err
}
