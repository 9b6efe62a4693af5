package pool

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// TestNoZombies puts one pool through every way a worker can end — SIGKILL
// mid-request (from inside and outside), garbage output, a hang past the
// timeout, a caller giving up, idle quiescing, a launch failing after the
// process started, and Close while a request runs — and then requires that
// the process table holds no child of the test process: no defunct entry
// (a worker never waited for) and no live one (a leaked worker).
func TestNoZombies(t *testing.T) {
	p, dir := testPool(t, modeOK, Config{Workers: 3, Timeout: 500 * time.Millisecond, IdleTimeout: 100 * time.Millisecond})
	req, want := chain(t, 10, 0)
	at := func(l lsn.LSN) *Request { r := *req; r.LSN = l; return &r }

	redoOK(t, p, at(lsnKillOnce), want)
	redoOK(t, p, at(lsnGarbageOnce), want)
	redoOK(t, p, at(lsnExitOnce), want)
	go func() {
		waitFor(t, "the worker to hang", func() bool { return exists(filepath.Join(dir, "hang")) })
		for _, pid := range p.PIDs() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}()
	redoOK(t, p, at(lsnHangOnce), want)
	if _, err := p.Redo(context.Background(), nil, at(lsnHang)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("hang past the timeout: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := p.Redo(ctx, nil, at(lsnHang))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrTimeout) {
		t.Fatalf("caller deadline mid-request: %v", err)
	}
	redoOK(t, p, req, want)
	waitFor(t, "idle workers to stop", func() bool { return len(p.PIDs()) == 0 })

	bad, _ := testPool(t, modeBadHello, Config{LaunchTimeout: 200 * time.Millisecond})
	if _, err := bad.Redo(context.Background(), nil, req); !errors.Is(err, ErrLaunch) {
		t.Fatalf("launch with a garbled hello: %v", err)
	}
	silent, _ := testPool(t, modeSilent, Config{LaunchTimeout: 200 * time.Millisecond})
	if _, err := silent.Redo(context.Background(), nil, req); !errors.Is(err, ErrLaunch) {
		t.Fatalf("launch without a hello: %v", err)
	}

	errc := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := p.Redo(context.Background(), nil, at(lsnHang))
			errc <- err
		}()
	}
	waitFor(t, "two workers to serve", func() bool { return p.Stats().Busy == 2 && len(p.PIDs()) == 2 })
	p.Close()
	for range 2 {
		if err := <-errc; !errors.Is(err, ErrClosed) && !errors.Is(err, ErrTimeout) {
			t.Fatalf("Redo during Close: %v", err)
		}
	}
	checkNoChildren(t)
	if st := p.Stats(); st.Alive != 0 {
		t.Fatalf("stats after Close: %+v", st)
	}
}
