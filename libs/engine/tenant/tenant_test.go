package tenant

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/engine/value"
	"github.com/stratadb/strata/libs/engine/vfs"
)

func TestTransitionsFollowTheDiagram(t *testing.T) {
	for _, tc := range []struct {
		name  string
		path  []State
		fails bool
	}{
		{"loading becomes active then stops", []State{Active, Stopping}, false},
		{"loading can stop before activating", []State{Stopping}, false},
		{"stopping cannot become active again", []State{Active, Stopping, Active}, true},
		{"active cannot go back to loading", []State{Active, Loading}, true},
		{"loading cannot become attaching", []State{Attaching}, true},
		{"broken is sticky", []State{Broken, Active}, true},
		{"stopping a broken tenant keeps it broken", []State{Broken, Stopping}, false},
		{"a stopping tenant can still break", []State{Stopping, Broken}, false},
		{"setting the same state is a no-op", []State{Active, Active}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(Loading)
			var err error
			for _, s := range tc.path {
				if err = m.set(s, "boom"); err != nil {
					break
				}
			}
			if (err != nil) != tc.fails {
				t.Fatalf("got %v, want failure %v", err, tc.fails)
			}
			if err != nil && !errors.Is(err, ErrInvalidTransition) {
				t.Fatalf("error %v is not ErrInvalidTransition", err)
			}
		})
	}
}

func TestBrokenKeepsItsFirstReason(t *testing.T) {
	m := newMachine(Active)
	_ = m.set(Broken, "first")
	_ = m.set(Broken, "second")
	if s, r := m.get(); s != Broken || r != "first" {
		t.Fatalf("got %s %q", s, r)
	}
}

func TestWaitUntilActive(t *testing.T) {
	for _, tc := range []struct {
		name string
		to   State
		want error
	}{
		{"returns once the tenant activates", Active, nil},
		{"fails when the tenant breaks", Broken, ErrBroken},
		{"fails when the tenant stops", Stopping, ErrStopping},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(Attaching)
			done := make(chan error, 1)
			go func() { done <- m.waitActive(context.Background()) }()
			_ = m.set(tc.to, "reason")
			if err := <-done; !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	m := newMachine(Loading)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.waitActive(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestParseStateAcceptsPausedAsStopping(t *testing.T) {
	if s, err := ParseState("Paused"); err != nil || s != Stopping {
		t.Fatalf("got %s, %v", s, err)
	}
	for s := Loading; s <= Broken; s++ {
		if p, err := ParseState(s.String()); err != nil || p != s {
			t.Fatalf("%s: got %s, %v", s, p, err)
		}
	}
}

type appendRedoer struct{}

func (appendRedoer) Redo(_ context.Context, _ key.Key, _ lsn.LSN, base []byte, _ lsn.LSN, recs []timeline.Record) ([]byte, error) {
	out := append([]byte(nil), base...)
	for _, r := range recs {
		out = append(out, r.Data...)
	}
	return out, nil
}

func put(t *testing.T, tl *timeline.Timeline, k uint32, at lsn.LSN, v value.Value) {
	t.Helper()
	w := tl.Writer()
	defer w.Close()
	if err := w.Put(key.Key{Field6: k}, at, v); err != nil {
		t.Fatal(err)
	}
	if err := w.FinishWrite(at); err != nil {
		t.Fatal(err)
	}
}

func TestCreateBranchShutdownAndLoad(t *testing.T) {
	ctx := context.Background()
	fsys := vfs.NewCrashFS()
	deps := timeline.Deps{Redoer: appendRedoer{}}
	tid := id.Generate()
	tn, err := Load(ctx, fsys, "/tenants/"+tid.String(), tid, timeline.Options{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.CreateTimeline(ctx, id.Generate(), 0x100, 15, nil); err == nil {
		t.Fatal("created a timeline in a Loading tenant")
	}
	if err := tn.Activate(); err != nil {
		t.Fatal(err)
	}
	main := id.Generate()
	tl, err := tn.CreateTimeline(ctx, main, 0x100, 15, func(ctx context.Context, tl *timeline.Timeline) error {
		put(t, tl, 1, 0x100, value.Image([]byte("A")))
		return tl.FreezeAndFlush(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, tl, 1, 0x108, value.Record([]byte("b"), false))
	// The branch point is above disk_consistent_lsn: the ancestor is flushed.
	child := id.Generate()
	ctl, err := tn.CreateBranch(ctx, child, main, lsn.Invalid)
	if err != nil {
		t.Fatal(err)
	}
	if tl.DiskConsistentLSN() != 0x108 {
		t.Fatalf("ancestor not flushed to the branch point: %s", tl.DiskConsistentLSN())
	}
	put(t, ctl, 1, 0x110, value.Record([]byte("c"), false))
	if _, err := tn.CreateBranch(ctx, child, main, lsn.Invalid); !errors.Is(err, ErrTimelineExists) {
		t.Fatalf("duplicate branch: %v", err)
	}
	if err := tn.Shutdown(ctx, true); err != nil {
		t.Fatal(err)
	}
	if s, _ := tn.State(); s != Stopping {
		t.Fatalf("state %s after shutdown", s)
	}
	for _, x := range tn.Timelines() {
		select {
		case <-x.FlushLoopDone():
		default:
			t.Fatalf("flush loop of %s still running after shutdown", x.ID())
		}
	}

	tn2, err := Load(ctx, fsys.Crash(), "/tenants/"+tid.String(), tid, timeline.Options{}, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := tn2.Activate(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tn2.Shutdown(ctx, false) }()
	c2, err := tn2.Timeline(child)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c2.Get(ctx, key.Key{Field6: 1}, 0x110)
	if err != nil || string(got) != "Abc" {
		t.Fatalf("child read after restart: %q, %v", got, err)
	}
	if err := tn2.WaitUntilActive(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLoadRemovesHalfCreatedTimelinesAndBreaksOnBadMetadata(t *testing.T) {
	ctx := context.Background()
	fsys := vfs.NewCrashFS()
	tid := id.Generate()
	dir := "/tenants/" + tid.String()
	half := id.Generate()
	if err := vfs.MkdirAllDurable(fsys, dir+"/timelines/"+half.String(), 0o755); err != nil {
		t.Fatal(err)
	}
	f, _ := fsys.Create(dir + "/timelines/" + half.String() + timeline.UninitSuffix)
	_ = f.Close()
	tn, err := Load(ctx, fsys, dir, tid, timeline.Options{}, timeline.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := fsys.List(dir + "/timelines"); len(names) != 0 {
		t.Fatalf("half-created timeline left: %v", names)
	}
	_ = tn.Shutdown(ctx, false)

	bad := id.Generate()
	if err := vfs.MkdirAllDurable(fsys, dir+"/timelines/"+bad.String(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := vfs.WriteFileAtomic(fsys, dir+"/timelines/"+bad.String()+"/metadata", []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	tn, err = Load(ctx, fsys, dir, tid, timeline.Options{}, timeline.Deps{})
	if err == nil {
		t.Fatal("loaded a tenant with corrupt metadata")
	}
	if s, reason := tn.State(); s != Broken || reason == "" {
		t.Fatalf("got %s %q, want Broken with a reason", s, reason)
	}
	ctx2, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := tn.WaitUntilActive(ctx2); !errors.Is(err, ErrBroken) {
		t.Fatalf("wait on a broken tenant: %v", err)
	}
}
