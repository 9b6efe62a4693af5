package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process identifies a started process: the pid plus its start time (in clock
// ticks since boot, from /proc/<pid>/stat) so a recycled pid is recognised.
type Process struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

// spawnSpec is one process to start.
type spawnSpec struct {
	Path string
	Args []string
	Env  []string // appended to the parent's environment
	Log  string
	Dir  string
}

// spawn starts a detached process (own process group, stdin from /dev/null,
// stdout and stderr appended to the log) and does not wait for it. The
// returned process outlives the caller.
func spawn(s spawnSpec) (Process, error) {
	logf, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Process{}, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Dir = s.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return Process{}, fmt.Errorf("start %s: %w", s.Path, err)
	}
	p := Process{PID: cmd.Process.Pid}
	p.StartTime, _ = procStartTime(p.PID)
	// Reap the child in the background if it exits while we are still
	// running, so it does not linger as a zombie of this process.
	go func() { _ = cmd.Wait() }()
	return p, nil
}

// procStat returns the state letter and the start time of pid.
func procStat(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may contain spaces: parse after
	// the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields))
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat start time: %w", pid, err)
	}
	return fields[0][0], start, nil
}

func procStartTime(pid int) (uint64, error) {
	_, st, err := procStat(pid)
	return st, err
}

// Alive reports whether p is still the running process that was started
// (a zombie or a recycled pid counts as gone).
func (p Process) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	state, start, err := procStat(p.PID)
	if err != nil {
		return false
	}
	if state == 'Z' || state == 'X' {
		return false
	}
	return p.StartTime == 0 || start == p.StartTime
}

// Stop sends SIGTERM to p's process group, waits up to grace for it to exit,
// then sends SIGKILL and waits again. It returns once p is gone.
func (p Process) Stop(ctx context.Context, grace time.Duration) error {
	if !p.Alive() {
		return nil
	}
	signal := func(sig syscall.Signal) {
		// The process leads its own group: signal the group so helpers it
		// started (redo workers) go too; fall back to the pid alone.
		if err := syscall.Kill(-p.PID, sig); err != nil {
			_ = syscall.Kill(p.PID, sig)
		}
	}
	signal(syscall.SIGTERM)
	if waitGone(ctx, p, grace) {
		return nil
	}
	signal(syscall.SIGKILL)
	if waitGone(ctx, p, 10*time.Second) {
		return nil
	}
	return fmt.Errorf("process %d still running after SIGKILL", p.PID)
}

func waitGone(ctx context.Context, p Process, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !p.Alive() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddrs returns n distinct free loopback TCP addresses. The listeners are
// closed before returning; a small window remains in which another process
// could take a port, which start-up then reports as a bind error.
func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// errNotReady is returned by a readiness probe that did not succeed.
var errNotReady = errors.New("not ready")
