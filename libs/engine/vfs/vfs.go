// Package vfs is the filesystem the engine writes through: an interface small
// enough to implement in memory, the OS implementation, a crash-simulating
// in-memory implementation (CrashFS) and an error-injecting wrapper (ErrorFS).
//
// Durability follows POSIX as the engine must assume it:
//
//   - the bytes of a file are durable only up to its last File.Sync;
//   - a create, rename or remove is durable only after SyncDir of the
//     directory holding the name (both directories for a cross-directory
//     rename); MkdirAll likewise needs SyncDir of each new directory's parent.
//
// CrashFS enforces exactly these rules, so code that passes crash tests on it
// has done every fsync it needs. WriteFileAtomic is the one sanctioned way to
// replace a small file (metadata, configs): temp name, fsync, rename, fsync dir.
//
// Paths are slash-separated; FS implementations must be safe for concurrent
// use, and so must File.ReadAt.
package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File is an open file.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes the bytes written so far durable.
	Sync() error
	Stat() (os.FileInfo, error)
}

// FS is a filesystem.
type FS interface {
	// Create creates or truncates the named file and opens it write-only.
	Create(name string) (File, error)
	// Open opens the named file read-only.
	Open(name string) (File, error)
	// OpenReadWrite opens the named file for reading and writing, creating it
	// if it does not exist (it is not truncated). Writes go to the current
	// offset, which starts at 0; reads through ReadAt are independent of it.
	OpenReadWrite(name string) (File, error)
	// Rename renames a file, replacing newname if it exists.
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a path and everything under it; a missing path is not an error.
	RemoveAll(dir string) error
	// MkdirAll creates a directory and any missing parents.
	MkdirAll(dir string, perm os.FileMode) error
	// List returns the names in a directory, sorted.
	List(dir string) ([]string, error)
	// Stat describes a file or directory.
	Stat(name string) (os.FileInfo, error)
	// SyncDir makes the creates, renames and removes in a directory durable.
	SyncDir(dir string) error
}

// TempSuffix ends the names of files that are being written and are renamed
// to their final names when complete. Startup code removes leftovers with it.
const TempSuffix = ".___temp"

// IsTemp reports whether a file name (or path) ends with TempSuffix.
func IsTemp(name string) bool { return strings.HasSuffix(name, TempSuffix) }

// WriteFileAtomic replaces the file at path with data so that after a crash
// the file holds either its old content or data, never a mix: it writes
// path+TempSuffix, fsyncs it, renames it over path and fsyncs the directory.
func WriteFileAtomic(fs FS, path string, data []byte) (err error) {
	tmp := path + TempSuffix
	f, err := fs.Create(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = fs.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	if err := fs.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("sync dir of %s: %w", path, err)
	}
	return nil
}

// ReadFile reads a whole file.
func ReadFile(fs FS, name string) ([]byte, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// MkdirAllDurable creates dir and any missing parents and makes each new
// directory durable by syncing its parent.
func MkdirAllDurable(fs FS, dir string, perm os.FileMode) error {
	dir = filepath.Clean(dir)
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := fs.Stat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("mkdir %s: %w", dir, err)
		}
		missing = append(missing, d)
		if p := filepath.Dir(d); p == d {
			break
		}
	}
	if err := fs.MkdirAll(dir, perm); err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := fs.SyncDir(filepath.Dir(missing[i])); err != nil {
			return fmt.Errorf("mkdir %s: sync parent: %w", dir, err)
		}
	}
	return nil
}

// Default returns the operating system's filesystem.
func Default() FS { return osFS{} }

type osFS struct{}

func (osFS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
}

func (osFS) Open(name string) (File, error) { return os.Open(name) }

func (osFS) OpenReadWrite(name string) (File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
}

func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }
func (osFS) Remove(name string) error             { return os.Remove(name) }
func (osFS) RemoveAll(dir string) error           { return os.RemoveAll(dir) }
func (osFS) MkdirAll(dir string, perm os.FileMode) error {
	return os.MkdirAll(dir, perm)
}
func (osFS) Stat(name string) (os.FileInfo, error) { return os.Stat(name) }

func (osFS) List(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

func (osFS) SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
