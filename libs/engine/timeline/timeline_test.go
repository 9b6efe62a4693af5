package timeline

import (
	"context"
	"errors"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

func TestFlushRequestsSayWhyTheLoopIsNotRunning(t *testing.T) {
	fsys := vfs.NewCrashFS()
	_ = vfs.MkdirAllDurable(fsys, "/t", 0o755)
	tl, err := Create(fsys, "/t", nameID("x"), metadataForTest(), nil, Options{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := tl.FreezeAndFlush(ctx); !errors.Is(err, ErrFlushLoopNotStarted) {
		t.Fatalf("before start: %v", err)
	}
	if err := tl.StartFlushLoop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tl.StartFlushLoop(ctx); err == nil {
		t.Fatal("started the flush loop twice")
	}
	if err := tl.FreezeAndFlush(ctx); err != nil {
		t.Fatalf("while running: %v", err)
	}
	cancel()
	<-tl.FlushLoopDone()
	if err := tl.FreezeAndFlush(context.Background()); !errors.Is(err, ErrFlushLoopExited) {
		t.Fatalf("after exit: %v", err)
	}
	if err := tl.StartFlushLoop(context.Background()); !errors.Is(err, ErrFlushLoopExited) {
		t.Fatalf("restart after exit: %v", err)
	}
}

func TestCheckpointTimeoutFlushesAnIdleTimeline(t *testing.T) {
	e := newEnv(t, vfs.NewCrashFS(), Options{CheckpointTimeout: 20 * time.Millisecond})
	flushed := make(chan LayerFlushedInfo, 10)
	e.deps.Events.LayerFlushed = func(i LayerFlushedInfo) { flushed <- i }
	tl := e.createRoot("main", 0x100)
	w := tl.Writer()
	_ = w.Put(key.Key{Field6: 1}, 0x100, value.Image([]byte("A")))
	_ = w.FinishWrite(0x100)
	w.Close()
	select {
	case i := <-flushed:
		if i.DiskConsistentLSN != 0x100 || tl.DiskConsistentLSN() != 0x100 {
			t.Fatalf("flushed to %s, timeline at %s", i.DiskConsistentLSN, tl.DiskConsistentLSN())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("idle data was not flushed")
	}
}

func TestOpenRemovesTempFilesAndSetsAsideLayersFromTheFuture(t *testing.T) {
	fsys := vfs.NewCrashFS()
	var rec []RecoveryInfo
	e := newEnv(t, fsys, Options{})
	e.deps.Events.Recovered = func(i RecoveryInfo) { rec = append(rec, i) }
	tl := e.createRoot("main", 0x100)
	w := tl.Writer()
	_ = w.Put(key.Key{Field6: 1}, 0x100, value.Image([]byte("A")))
	_ = w.FinishWrite(0x100)
	w.Close()
	if err := tl.FreezeAndFlush(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.stop(false)
	dir := tl.Dir()
	future := layer.DeltaName(key.All, layer.LSNRange{Start: 0x101, End: 0x200}).String()
	for _, n := range []string{future, future + ".0.old", "x.___temp", "notes.txt"} {
		writeFile(t, fsys, path.Join(dir, n), []byte("junk"))
	}
	_ = fsys.SyncDir(dir)
	e.reopen(fsys)
	names, _ := fsys.List(dir)
	for _, want := range []string{future + ".0.old", future + ".1.old", "notes.txt"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s missing after recovery: %v", want, names)
		}
	}
	for _, gone := range []string{future, "x.___temp"} {
		if slices.Contains(names, gone) {
			t.Errorf("%s still there after recovery", gone)
		}
	}
	if len(rec) != 1 || len(rec[0].SetAside) != 1 || len(rec[0].TempRemoved) != 1 || rec[0].Loaded != 1 {
		t.Fatalf("recovery event: %+v", rec)
	}
	got, err := e.tls["main"].Get(e.ctx, key.Key{Field6: 1}, 0x100)
	if err != nil || string(got) != "A" {
		t.Fatalf("read after recovery: %q, %v", got, err)
	}
}

func TestOptionsValidateReportsEveryProblem(t *testing.T) {
	err := Options{CheckpointDistance: -1, CheckpointTimeout: -1, WaitLSNTimeout: -1, PageCacheSize: -1, CompactionTargetSize: -1}.Validate()
	for _, want := range []string{"checkpoint_distance", "checkpoint_timeout", "wait_lsn_timeout", "page_cache_size", "compaction_target_size"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
	if err := (Options{}).EnsureDefaults().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestWritesAreValidated(t *testing.T) {
	e := newEnv(t, vfs.NewCrashFS(), Options{})
	tl := e.createRoot("main", 0x100)
	w := tl.Writer()
	defer w.Close()
	if err := w.Put(key.Key{}, 0x100, value.Image(nil)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"an unaligned finish", w.FinishWrite(0x101)},
		{"a finish below the batch", w.FinishWrite(0xF8)},
	} {
		if !errors.Is(tc.err, ErrInvalidLSN) {
			t.Errorf("%s: got %v", tc.name, tc.err)
		}
	}
	if err := w.FinishWrite(0x100); err != nil {
		t.Fatal(err)
	}
	if err := w.Put(key.Key{}, 0x100, value.Image(nil)); !errors.Is(err, ErrInvalidLSN) {
		t.Errorf("put at last_record_lsn: %v", err)
	}
	tl.SetBroken("test", nil)
	if err := w.Put(key.Key{}, 0x108, value.Image(nil)); !errors.Is(err, ErrBroken) {
		t.Errorf("put on a broken timeline: %v", err)
	}
	if _, err := tl.Get(e.ctx, key.Key{}, lsn.LSN(0x100)); !errors.Is(err, ErrBroken) {
		t.Errorf("read on a broken timeline: %v", err)
	}
}
