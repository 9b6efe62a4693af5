package pgcmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"time"

	"github.com/stratadb/strata/libs/postgres/pgserver"
)

// Stop stops a server with a pg_ctl mode. A primary streaming to Strata
// does not finish a clean shutdown until every WAL sender has had its last
// record confirmed as flushed, and page-service confirms only what is
// durable in its layer files; so after wait, the server's WAL senders are
// ended (SIGTERM) and the shutdown completes. Strata keeps everything it
// received before; the receiver reconnects when the server comes back.
func Stop(ctx context.Context, s *pgserver.Server, mode string, wait time.Duration) error {
	if !s.Running(ctx) {
		return nil
	}
	secs := strconv.Itoa(max(1, int(wait.Seconds())))
	out, err := s.Run(ctx, true, "pg_ctl", "-D", s.DataDir, "-m", mode, "-w", "-t", secs, "stop")
	if err == nil {
		return nil
	}
	n := endWALSenders(s.DataDir)
	if n == 0 {
		return fmt.Errorf("pg_ctl stop -m %s: %w\n%s", mode, err, out)
	}
	if err := s.Stop(ctx, mode); err != nil {
		return fmt.Errorf("after ending %d WAL senders: %w", n, err)
	}
	return nil
}

// endWALSenders sends SIGTERM to every WAL sender child of the postmaster of
// dataDir and returns how many there were.
func endWALSenders(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pm, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pm <= 0 {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	n := 0
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(p, "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pm) {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		if bytes.HasPrefix(cmdline, []byte("postgres: walsender")) {
			if syscall.Kill(pid, syscall.SIGTERM) == nil {
				n++
			}
		}
	}
	return n
}
