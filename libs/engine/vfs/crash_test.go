package vfs

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
)

func writeFile(t testing.TB, fs FS, name, data string, sync bool) {
	t.Helper()
	f, err := fs.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustDir(t testing.TB, fs FS, dir string) {
	t.Helper()
	if err := MkdirAllDurable(fs, dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// content returns the file's content, or "<missing>".
func content(t testing.TB, fs FS, name string) string {
	t.Helper()
	b, err := ReadFile(fs, name)
	if errors.Is(err, os.ErrNotExist) {
		return "<missing>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCrashFSKeepsOnlyWhatWasSynced(t *testing.T) {
	tests := []struct {
		name  string
		steps func(t testing.TB, fs FS)
		want  string // content of /d/f after a crash
	}{
		{"a created file vanishes without a directory sync", func(t testing.TB, fs FS) {
			writeFile(t, fs, "/d/f", "data", true)
		}, "<missing>"},
		{"a file whose name was synced but bytes were not is empty", func(t testing.TB, fs FS) {
			writeFile(t, fs, "/d/f", "data", false)
			must(t, fs.SyncDir("/d"))
		}, ""},
		{"a synced file in a synced directory survives", func(t testing.TB, fs FS) {
			writeFile(t, fs, "/d/f", "data", true)
			must(t, fs.SyncDir("/d"))
		}, "data"},
		{"bytes written after the last sync are lost", func(t testing.TB, fs FS) {
			f, err := fs.Create("/d/f")
			must(t, err)
			_, _ = f.Write([]byte("abc"))
			must(t, f.Sync())
			_, _ = f.Write([]byte("def"))
			must(t, fs.SyncDir("/d"))
		}, "abc"},
		{"an unsynced rename is undone", func(t testing.TB, fs FS) {
			writeFile(t, fs, "/d/f", "old", true)
			writeFile(t, fs, "/d/g", "new", true)
			must(t, fs.SyncDir("/d"))
			must(t, fs.Rename("/d/g", "/d/f"))
		}, "old"},
		{"a synced rename is kept", func(t testing.TB, fs FS) {
			writeFile(t, fs, "/d/f", "old", true)
			must(t, fs.SyncDir("/d"))
			writeFile(t, fs, "/d/g", "new", true)
			must(t, fs.Rename("/d/g", "/d/f"))
			must(t, fs.SyncDir("/d"))
		}, "new"},
		{"an unsynced remove is undone", func(t testing.TB, fs FS) {
			writeFile(t, fs, "/d/f", "data", true)
			must(t, fs.SyncDir("/d"))
			must(t, fs.Remove("/d/f"))
		}, "data"},
		{"truncation by Create is not durable until sync", func(t testing.TB, fs FS) {
			writeFile(t, fs, "/d/f", "data", true)
			must(t, fs.SyncDir("/d"))
			writeFile(t, fs, "/d/f", "xy", false)
		}, "data"},
		{"WriteFileAtomic is durable", func(t testing.TB, fs FS) {
			writeFile(t, fs, "/d/f", "old", true)
			must(t, fs.SyncDir("/d"))
			must(t, WriteFileAtomic(fs, "/d/f", []byte("new")))
		}, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := NewCrashFS()
			mustDir(t, fs, "/d")
			tt.steps(t, fs)
			if got := content(t, fs.Crash(), "/d/f"); got != tt.want {
				t.Fatalf("after crash /d/f = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCrashFSDirectoriesNeedParentSync(t *testing.T) {
	fs := NewCrashFS()
	must(t, fs.MkdirAll("/a/b", 0o755))
	writeFile(t, fs, "/a/b/f", "x", true)
	must(t, fs.SyncDir("/a/b"))
	if _, err := fs.Crash().Stat("/a"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unsynced directory survived a crash: %v", err)
	}
	must(t, fs.SyncDir("/"))
	must(t, fs.SyncDir("/a"))
	if got := content(t, fs.Crash(), "/a/b/f"); got != "x" {
		t.Fatalf("after syncing parents /a/b/f = %q", got)
	}
}

func TestCrashFSCrashedCopyIsIndependent(t *testing.T) {
	fs := NewCrashFS()
	mustDir(t, fs, "/d")
	writeFile(t, fs, "/d/f", "one", true)
	must(t, fs.SyncDir("/d"))
	c := fs.Crash()
	writeFile(t, c, "/d/f", "two", true)
	if got := content(t, fs, "/d/f"); got != "one" {
		t.Fatalf("original changed to %q", got)
	}
	names, err := c.List("/d")
	must(t, err)
	if !reflect.DeepEqual(names, []string{"f"}) {
		t.Fatalf("List = %v", names)
	}
}

func TestFilesHonourOpenModes(t *testing.T) {
	fs := NewCrashFS()
	writeFile(t, fs, "/f", "abc", false)
	r, err := fs.Open("/f")
	must(t, err)
	if _, err := r.Write([]byte("x")); err == nil {
		t.Fatal("write to a read-only file succeeded")
	}
	w, err := fs.OpenReadWrite("/f")
	must(t, err)
	if _, err := w.Write([]byte("X")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := w.ReadAt(buf, 0); err != nil || string(buf) != "Xbc" {
		t.Fatalf("ReadAt = %q, %v", buf, err)
	}
	must(t, w.Close())
	if _, err := w.Write([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestErrorFSFailsTheNthOperation(t *testing.T) {
	c := CountOps(Mutations)
	must(t, WriteFileAtomic(NewErrorFS(NewCrashFS(), c), "/f", []byte("x")))
	steps := c.Count()
	if steps != 5 { // create, write, sync, rename, syncdir
		t.Fatalf("WriteFileAtomic has %d mutating steps, want 5", steps)
	}
	for i := 1; i <= steps; i++ {
		base := NewCrashFS()
		writeFile(t, base, "/f", "old", true)
		must(t, base.SyncDir("/"))
		err := WriteFileAtomic(NewErrorFS(base, FailNth(i, Mutations, true)), "/f", []byte("new"))
		if !errors.Is(err, ErrInjected) {
			t.Fatalf("step %d: error = %v, want ErrInjected", i, err)
		}
		if got := content(t, base.Crash(), "/f"); got != "old" && got != "new" {
			t.Fatalf("step %d: after crash /f = %q", i, got)
		}
	}
}

func TestOSFSListsSorted(t *testing.T) {
	dir := t.TempDir()
	fs := Default()
	for _, n := range []string{"b", "a", "c"} {
		writeFile(t, fs, dir+"/"+n, n, true)
	}
	must(t, fs.SyncDir(dir))
	names, err := fs.List(dir)
	must(t, err)
	if !reflect.DeepEqual(names, []string{"a", "b", "c"}) {
		t.Fatalf("List = %v", names)
	}
	must(t, WriteFileAtomic(fs, dir+"/a", []byte("z")))
	if got := content(t, fs, dir+"/a"); got != "z" {
		t.Fatalf("a = %q", got)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCrashFSOverwritesAfterSyncAreNotDurable(t *testing.T) {
	fs := NewCrashFS()
	f, err := fs.OpenReadWrite("/f")
	must(t, err)
	_, _ = f.Write([]byte("abcdef"))
	must(t, f.Sync())
	must(t, fs.SyncDir("/"))
	_, _ = f.Write([]byte("gh")) // an append
	f2, err := fs.OpenReadWrite("/f")
	must(t, err)
	_, _ = f2.Write([]byte("XY")) // an overwrite of synced bytes
	c := fs.Crash()
	if got := content(t, c, "/f"); got != "abcdef" {
		t.Fatalf("after crash /f = %q, want the synced bytes", got)
	}
	if got := content(t, fs, "/f"); got != "XYcdefgh" {
		t.Fatalf("live /f = %q", got)
	}
	// The crashed copy is writable and its own durable state is separate.
	g, err := c.OpenReadWrite("/f")
	must(t, err)
	_, _ = g.Write([]byte("Z"))
	if got := content(t, c.Crash(), "/f"); got != "abcdef" {
		t.Fatalf("second crash /f = %q", got)
	}
}

func TestCrashFSCrossDirectoryRenameNeedsBothDirectories(t *testing.T) {
	fs := NewCrashFS()
	mustDir(t, fs, "/a")
	mustDir(t, fs, "/b")
	writeFile(t, fs, "/a/f", "x", true)
	must(t, fs.SyncDir("/a"))
	must(t, fs.Rename("/a/f", "/b/f"))
	must(t, fs.SyncDir("/b"))
	c := fs.Crash()
	if content(t, c, "/b/f") != "x" || content(t, c, "/a/f") != "x" {
		t.Fatal("with only the target synced, the file is in both directories")
	}
	must(t, fs.SyncDir("/a"))
	if got := content(t, fs.Crash(), "/a/f"); got != "<missing>" {
		t.Fatalf("after syncing both, /a/f = %q", got)
	}
}

func TestCrashFSIsSafeForConcurrentUse(t *testing.T) {
	fs := NewCrashFS()
	mustDir(t, fs, "/d")
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				name := fmt.Sprintf("/d/%d-%d", g, i)
				err = WriteFileAtomic(fs, name, []byte(name))
				if err == nil {
					_, err = fs.List("/d")
				}
				if err == nil && i%10 == 0 {
					_ = fs.Crash()
				}
			}
			done <- err
		}()
	}
	for g := 0; g < 4; g++ {
		must(t, <-done)
	}
	names, err := fs.Crash().List("/d")
	must(t, err)
	if len(names) != 200 {
		t.Fatalf("%d files survived, want 200", len(names))
	}
}

func TestErrorFSInjectsIntoFileOperations(t *testing.T) {
	for _, op := range []Op{OpWrite, OpSync, OpRead, OpClose, OpFileStat} {
		t.Run("a failing "+op.String()+" reports ErrInjected", func(t *testing.T) {
			fs := NewErrorFS(NewCrashFS(), FailNth(1, OnOps(op), false))
			f, err := fs.OpenReadWrite("/f")
			must(t, err)
			var got error
			switch op {
			case OpWrite:
				_, got = f.Write([]byte("x"))
			case OpSync:
				got = f.Sync()
			case OpRead:
				_, got = f.ReadAt(make([]byte, 1), 0)
			case OpClose:
				got = f.Close()
			case OpFileStat:
				_, got = f.Stat()
			}
			if !errors.Is(got, ErrInjected) {
				t.Fatalf("error = %v, want ErrInjected", got)
			}
		})
	}
}
