// Package svccmd is stratactl's `service restart` command: stop one process
// of a running local stack (gracefully, or with SIGKILL to simulate a crash)
// and start it again with the same command line and environment, then wait
// until it is ready and record its new pid in stack.json.
//
//	stratactl service restart page-service --dir .strata [--kill]
//
// The command line and environment are read from /proc/<pid> of the running
// process before it is stopped, so the restarted process gets exactly the
// config file and service tokens `stratactl up` gave it, without stratactl
// writing tokens anywhere.
package svccmd

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/tools/internal/stack"
)

// New returns the `service` command.
func New() *cobra.Command {
	cmd := &cobra.Command{Use: "service", Short: "Operate single processes of a local stack", Args: cobra.NoArgs}
	var dir string
	var kill bool
	var timeout time.Duration
	restart := &cobra.Command{
		Use:   "restart NAME",
		Short: "Restart one service of the stack (--kill: SIGKILL it first, like a crash)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := Restart(cmd.Context(), dir, args[0], kill, timeout)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s restarted (pid %d)\n", args[0], pid)
			return nil
		},
	}
	restart.Flags().StringVar(&dir, "dir", ".strata", "stack directory")
	restart.Flags().BoolVar(&kill, "kill", false, "stop with SIGKILL instead of SIGTERM (crash)")
	restart.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait for the restarted service to become ready")
	cmd.AddCommand(restart)
	return cmd
}

// Restart stops the named component of the stack in dir and starts it again
// with the same argv and environment; it returns the new pid once the
// component answers its ready URL.
func Restart(ctx context.Context, dir, name string, kill bool, timeout time.Duration) (int, error) {
	st, err := stack.LoadState(dir)
	if err != nil {
		return 0, err
	}
	idx := -1
	for i, c := range st.Components {
		if c.Name == name {
			idx = i
		}
	}
	if idx < 0 || name == stack.RedisName {
		return 0, fmt.Errorf("no service %q in %s (one of %v or %s)", name, dir, stack.Services, stack.Gateway)
	}
	comp := st.Components[idx]
	if !comp.Process.Alive() {
		return 0, fmt.Errorf("%s (pid %d) is not running: nothing to take its command line from; restart the stack", name, comp.Process.PID)
	}
	argv, err := readNulList(comp.Process.PID, "cmdline")
	if err != nil {
		return 0, err
	}
	env, err := readNulList(comp.Process.PID, "environ")
	if err != nil {
		return 0, err
	}
	if kill {
		_ = syscall.Kill(-comp.Process.PID, syscall.SIGKILL)
		_ = syscall.Kill(comp.Process.PID, syscall.SIGKILL)
	}
	if err := comp.Process.Stop(ctx, 10*time.Second); err != nil {
		return 0, fmt.Errorf("stop %s: %w", name, err)
	}
	// While the service was down, a short-lived outgoing connection may
	// have been given one of its ports as a local port; a start that fails
	// to bind is retried until that connection is gone.
	for attempt := 0; ; attempt++ {
		logStart := fileSize(comp.Log)
		p, err := spawn(st.Dir, comp.Log, argv, env)
		if err != nil {
			return 0, fmt.Errorf("start %s: %w", name, err)
		}
		st.Components[idx].Process = p
		if err := st.Save(); err != nil {
			return 0, err
		}
		err = waitReady(ctx, st.Components[idx], timeout)
		if err != nil && attempt < 20 && !p.Alive() && logHas(comp.Log, logStart, "address already in use") {
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		return p.PID, err
	}
}

// spawn starts argv detached (own process group, output appended to the
// log), as `stratactl up` does.
func spawn(dir, log string, argv, env []string) (stack.Process, error) {
	logf, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return stack.Process{}, fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return stack.Process{}, err
	}
	go func() { _ = cmd.Wait() }()
	p := stack.Process{PID: cmd.Process.Pid}
	p.StartTime, _ = startTime(p.PID)
	return p, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logHas reports whether the log holds s after offset from.
func logHas(path string, from int64, s string) bool {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < from {
		return false
	}
	return bytes.Contains(b[from:], []byte(s))
}

func readNulList(pid int, file string) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + file)
	if err != nil {
		return nil, fmt.Errorf("read %s of pid %d: %w", file, pid, err)
	}
	var out []string
	for _, f := range bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0}) {
		out = append(out, string(f))
	}
	if len(out) == 0 || out[0] == "" {
		return nil, fmt.Errorf("pid %d has an empty %s", pid, file)
	}
	return out, nil
}

// startTime is field 22 of /proc/<pid>/stat (see stack.Process).
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

func waitReady(ctx context.Context, c stack.Component, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if !c.Process.Alive() {
			return fmt.Errorf("%s exited after the restart; see %s", c.Name, c.Log)
		}
		if c.ReadyURL != "" {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.ReadyURL, nil)
			if err == nil {
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						return nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready %s after the restart", c.Name, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
