package pool

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/lsn"
)

func TestPoolPagesEqualTheInProcessRedo(t *testing.T) {
	p, _ := testPool(t, modeOK, Config{Workers: 2})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				req, want := chain(t, 1+(g*10+i)%50, 0)
				redoOK(t, p, req, want)
			}
		})
	}
	wg.Wait()
	st := p.Stats()
	if st.Requests != 40 || st.Failures != 0 || st.Alive < 1 || st.Alive > 2 || st.Busy != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPoolReportsRecordsItCannotApplyAndKeepsTheWorker(t *testing.T) {
	p, _ := testPool(t, modeOK, Config{})
	req, want := chain(t, 3, 0)
	redoOK(t, p, req, want)
	pids := p.PIDs()
	bad := *req
	bad.Records = req.Records[1:] // needs a base image it does not get
	_, err := p.Redo(context.Background(), nil, &bad)
	if !errors.Is(err, ErrRedo) || !strings.Contains(err.Error(), "needs a base image") {
		t.Fatalf("Redo without the init record: %v", err)
	}
	bad.Records = append([]Record{{LSN: 1, Kind: RecordStrata, Data: []byte{0x42}}}, req.Records...)
	if _, err := p.Redo(context.Background(), nil, &bad); !errors.Is(err, ErrRedo) {
		t.Fatalf("Redo of an unknown record tag: %v", err)
	}
	redoOK(t, p, req, want)
	if got := p.PIDs(); len(got) != 1 || got[0] != pids[0] {
		t.Fatalf("worker replaced after redo errors: %v then %v", pids, got)
	}
}

func TestPoolRetriesOnceOnAFreshWorkerWhenItsWorkerDies(t *testing.T) {
	tests := []struct {
		name string
		at   lsn.LSN
		// killFromOutside: the test SIGKILLs the worker once it hangs.
		killFromOutside bool
	}{
		{"a worker that SIGKILLs itself mid-request", lsnKillOnce, false},
		{"a worker that answers garbage", lsnGarbageOnce, false},
		{"a worker that exits mid-request", lsnExitOnce, false},
		{"a worker SIGKILLed from outside mid-request", lsnHangOnce, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, dir := testPool(t, modeOK, Config{})
			req, want := chain(t, 5, 0)
			redoOK(t, p, req, want)
			first := p.PIDs()
			req.LSN = tt.at
			if tt.killFromOutside {
				go func() {
					waitFor(t, "the worker to hang", func() bool { return exists(filepath.Join(dir, "hang")) })
					syscall.Kill(first[0], syscall.SIGKILL)
				}()
			}
			redoOK(t, p, req, want)
			if got := p.PIDs(); len(got) != 1 || got[0] == first[0] {
				t.Fatalf("workers %v after the retry, first was %v", got, first)
			}
			if st := p.Stats(); st.Replaced != 1 || st.Failures != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestPoolKillsAWorkerThatHangsPastTheTimeout(t *testing.T) {
	p, _ := testPool(t, modeOK, Config{Timeout: 300 * time.Millisecond})
	req, want := chain(t, 2, 0)
	redoOK(t, p, req, want)
	hung := *req
	hung.LSN = lsnHang
	_, err := p.Redo(context.Background(), nil, &hung)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Redo of a hanging worker: %v", err)
	}
	if pids := p.PIDs(); len(pids) != 0 {
		t.Fatalf("workers %v alive after the timeout", pids)
	}
	checkNoChildren(t)
	redoOK(t, p, req, want)
}

func TestPoolKillsTheWorkerWhenTheCallerGivesUp(t *testing.T) {
	p, dir := testPool(t, modeOK, Config{})
	req, _ := chain(t, 2, lsnHang)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFor(t, "the worker to hang", func() bool { return exists(filepath.Join(dir, "hang")) })
		cancel()
	}()
	_, err := p.Redo(ctx, nil, req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Redo canceled mid-request: %v", err)
	}
	if pids := p.PIDs(); len(pids) != 0 {
		t.Fatalf("workers %v alive after the cancellation", pids)
	}
	checkNoChildren(t)
}

func TestPoolCloseKillsWorkersMidRequest(t *testing.T) {
	p, dir := testPool(t, modeOK, Config{Workers: 3})
	ok, want := chain(t, 4, 0)
	redoOK(t, p, ok, want) // one idle worker
	hung, _ := chain(t, 2, lsnHang)
	errc := make(chan error, 1)
	go func() {
		_, err := p.Redo(context.Background(), nil, hung)
		errc <- err
	}()
	waitFor(t, "the worker to hang", func() bool { return exists(filepath.Join(dir, "hang")) })
	p.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Redo during Close: %v", err)
	}
	checkNoChildren(t)
	if _, err := p.Redo(context.Background(), nil, ok); !errors.Is(err, ErrClosed) {
		t.Fatalf("Redo after Close: %v", err)
	}
}

func TestPoolReapsWorkersWhoseLaunchFails(t *testing.T) {
	tests := []struct {
		name string
		mode string
	}{
		{"a worker that exits before its hello", modeNoHello},
		{"a worker that writes garbage instead of a hello", modeBadHello},
		{"a worker that never says hello", modeSilent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := testPool(t, tt.mode, Config{LaunchTimeout: 300 * time.Millisecond})
			req, _ := chain(t, 1, 0)
			if _, err := p.Redo(context.Background(), nil, req); !errors.Is(err, ErrLaunch) {
				t.Fatalf("Redo: %v", err)
			}
			if pids := p.PIDs(); len(pids) != 0 {
				t.Fatalf("workers %v alive after a failed launch", pids)
			}
			checkNoChildren(t)
		})
	}
	t.Run("a worker binary that cannot be executed", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "worker")
		if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		p, _ := testPool(t, "", Config{Command: []string{bin}})
		if err := os.Chmod(bin, 0o644); err != nil {
			t.Fatal(err)
		}
		req, _ := chain(t, 1, 0)
		if _, err := p.Redo(context.Background(), nil, req); !errors.Is(err, ErrLaunch) {
			t.Fatalf("Redo: %v", err)
		}
	})
}

func TestPoolStopsIdleWorkersAndRelaunchesLazily(t *testing.T) {
	p, _ := testPool(t, modeOK, Config{Workers: 2, IdleTimeout: 50 * time.Millisecond})
	req, want := chain(t, 3, 0)
	redoOK(t, p, req, want)
	if len(p.PIDs()) != 1 {
		t.Fatalf("workers %v, want one", p.PIDs())
	}
	waitFor(t, "the idle worker to stop", func() bool { return len(p.PIDs()) == 0 })
	checkNoChildren(t)
	redoOK(t, p, req, want)
}

func TestPoolCapsItsRequestBuffer(t *testing.T) {
	p, _ := testPool(t, modeOK, Config{})
	req, want := chain(t, 2, 0)
	huge := *req
	huge.Records = append([]Record{{LSN: 1, Kind: RecordStrata, Data: make([]byte, 2*maxKeptBuffer)}}, req.Records...)
	if _, err := p.Redo(context.Background(), nil, &huge); !errors.Is(err, ErrRedo) {
		t.Fatalf("Redo of a huge bad record: %v", err)
	}
	redoOK(t, p, req, want)
}

func TestWorkersRunWithLeastPrivilege(t *testing.T) {
	// A descriptor the pool holds must not reach the worker.
	f, err := os.CreateTemp(t.TempDir(), "secret")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// And one opened without close-on-exec (as a C library might), which
	// os/exec would pass on: the worker must close it.
	leak := filepath.Join(t.TempDir(), "leak")
	fd, err := syscall.Open(leak, syscall.O_CREAT|syscall.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	cfg := Config{}
	root := os.Geteuid() == 0
	if root {
		// The unprivileged user must be able to execute the binary.
		dir, err := os.MkdirTemp("", "walredo-bin")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		bin := filepath.Join(dir, "worker")
		b, err := os.ReadFile(os.Args[0])
		if err == nil {
			err = errors.Join(os.Chmod(dir, 0o755), os.WriteFile(bin, b, 0o755))
		}
		if err != nil {
			t.Fatal(err)
		}
		cfg.Command, cfg.User = []string{bin, testWorkerArg, modeOK, dir}, "nobody"
	}
	p, _ := testPool(t, modeOK, cfg)
	req, want := chain(t, 2, 0)
	redoOK(t, p, req, want)
	pid := p.PIDs()[0]
	proc := filepath.Join("/proc", strconv.Itoa(pid))

	env, err := os.ReadFile(filepath.Join(proc, "environ"))
	if err != nil || len(env) != 0 {
		t.Errorf("worker environment %q (%v), want empty", env, err)
	}
	st := procStatus(t, pid)
	if root && (!strings.HasPrefix(st["Uid"], "65534\t") || !strings.HasPrefix(st["Gid"], "65534\t") || st["Groups"] != "") {
		t.Errorf("worker runs as uid %q gid %q groups %q, want nobody without groups", st["Uid"], st["Gid"], st["Groups"])
	}
	if pgid, err := syscall.Getpgid(pid); err != nil || pgid != pid {
		t.Errorf("worker process group %d (%v), want its own (%d)", pgid, err, pid)
	}
	if cwd, err := os.Readlink(filepath.Join(proc, "cwd")); err != nil || cwd != "/" {
		t.Errorf("worker cwd %q (%v), want /", cwd, err)
	}
	fds, err := os.ReadDir(filepath.Join(proc, "fd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		n, _ := strconv.Atoi(fd.Name())
		target, _ := os.Readlink(filepath.Join(proc, "fd", fd.Name()))
		info, _ := os.ReadFile(filepath.Join(proc, "fdinfo", fd.Name()))
		// Above 2, only the worker's own descriptors (Go opens them all
		// close-on-exec) may be open: nothing inherited.
		if n > 2 && !closeOnExec(string(info)) {
			t.Errorf("worker has inherited descriptor %d open on %s", n, target)
		}
		if target == f.Name() || target == leak {
			t.Errorf("worker has the pool's file %s open as %d", target, n)
		}
	}
}

// closeOnExec reads the flags line of a /proc/PID/fdinfo file.
func closeOnExec(info string) bool {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&syscall.O_CLOEXEC != 0
		}
	}
	return false
}

func TestPoolLogsWhatWorkersWriteToStderr(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p, _ := testPoolDeps(t, modeOK, Config{}, Deps{Logger: log})
	req, want := chain(t, 2, lsnStderr)
	redoOK(t, p, req, want)
	pid := p.PIDs()[0]
	p.Close() // Wait has copied all of stderr once the worker is reaped
	out := buf.String()
	for _, line := range []string{"first line", "second line"} {
		if !strings.Contains(out, `msg="walredo worker stderr" pid=`+strconv.Itoa(pid)+` line="`+line+`"`) {
			t.Errorf("log lacks %q:\n%s", line, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := Config{Workers: 1, Timeout: time.Second, LaunchTimeout: time.Second, Command: []string{os.Args[0]}}
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"zero workers", func(c *Config) { c.Workers = 0 }},
		{"no timeout", func(c *Config) { c.Timeout = 0 }},
		{"no command", func(c *Config) { c.Command = nil }},
		{"a command that does not exist", func(c *Config) { c.Command = []string{"/nonexistent/walredo"} }},
		{"a user that does not exist (as root)", func(c *Config) { c.User = "no-such-user-walredo" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			if tt.name == "a user that does not exist (as root)" && os.Geteuid() != 0 {
				t.Skip("the user is only looked up as root")
			}
			if _, err := New(c, Deps{}); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}
