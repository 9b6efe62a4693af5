package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/stratadb/strata/services/walredopool/internal/wire"
)

// proc is one worker process. The goroutine owning its slot does its I/O;
// kill may be called from anywhere (Close, a canceled context); retire (kill
// + wait) is called exactly once, by the owner, and is the only place a
// worker is waited for.
type proc struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File // parent's write end
	stdout *os.File // parent's read end
	log    *slog.Logger

	killOnce sync.Once
	hdr      [wire.HeaderSize]byte
	errBuf   []byte
}

// launch starts a worker and waits for its hello. Whatever fails after the
// process started, the process is killed and reaped before launch returns.
func (p *Pool) launch(ctx context.Context) (*proc, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: stdin pipe: %v", ErrLaunch, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("%w: stdout pipe: %v", ErrLaunch, err)
	}
	cmd := &exec.Cmd{
		Path:        p.path,
		Args:        p.cfg.Command,
		Env:         []string{}, // empty, not inherited
		Dir:         "/",
		Stdin:       inR,
		Stdout:      outW,
		SysProcAttr: p.attr,
		WaitDelay:   time.Second, // bounds Wait's copy of stderr
	}
	cmd.Stderr = &stderrLog{log: p.log, cmd: cmd}
	err = cmd.Start()
	// The child has its own copies of its ends now (or never will).
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		if errors.Is(err, os.ErrPermission) && p.attr.Credential != nil {
			return nil, fmt.Errorf("%w: start %s as uid %d: %v (the binary and its directories must be executable by pool.worker_user %q)",
				ErrLaunch, p.path, p.attr.Credential.Uid, err, p.cfg.User)
		}
		return nil, fmt.Errorf("%w: start %s: %v", ErrLaunch, p.path, err)
	}
	pr := &proc{cmd: cmd, pid: cmd.Process.Pid, stdin: inW, stdout: outR, log: p.log.With("pid", cmd.Process.Pid)}
	p.m.launches.Inc()
	p.mu.Lock()
	closed := p.closed
	if !closed {
		p.live[pr] = struct{}{}
		p.m.workers.Inc()
	}
	p.mu.Unlock()
	if closed {
		p.retire(pr, ReasonShutdown)
		return nil, ErrClosed
	}
	if err := pr.handshake(ctx, p.cfg.LaunchTimeout); err != nil {
		p.retire(pr, ReasonLaunch)
		switch {
		case p.isClosed():
			return nil, ErrClosed
		case ctx.Err() != nil:
			return nil, fmt.Errorf("wait for a new redo worker: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("%w: worker %d: %v", ErrLaunch, pr.pid, err)
	}
	pr.log.Debug("walredo worker launched")
	return pr, nil
}

// handshake reads the worker's hello.
func (pr *proc) handshake(ctx context.Context, timeout time.Duration) error {
	stop := context.AfterFunc(ctx, pr.kill)
	defer stop()
	if err := pr.stdout.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("set hello deadline: %w", err)
	}
	var b [wire.HeaderSize + wire.HelloSize]byte
	if _, err := io.ReadFull(pr.stdout, b[:wire.HeaderSize]); err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	h, err := wire.ParseHeader(b[:wire.HeaderSize])
	if err != nil {
		return err
	}
	if h.Kind != wire.KindHello || h.Len != wire.HelloSize {
		return fmt.Errorf("%w: want hello, got kind 0x%02x with %d bytes", wire.ErrProtocol, h.Kind, h.Len)
	}
	if _, err := io.ReadFull(pr.stdout, b[wire.HeaderSize:]); err != nil {
		return fmt.Errorf("read hello: %w", err)
	}
	pid, err := wire.ParseHello(h, b[wire.HeaderSize:])
	if err != nil {
		return err
	}
	if pid != pr.pid {
		return fmt.Errorf("%w: hello from pid %d, started %d", wire.ErrProtocol, pid, pr.pid)
	}
	return nil
}

// roundTrip sends one serialized request (id) and reads its answer into dst.
// Errors: ErrRedo / ErrBadRequest (worker fine), ErrTimeout, the context's
// error, or ErrWorkerDied (EOF, broken pipe, garbage).
func (pr *proc) roundTrip(ctx context.Context, msg []byte, id uint64, dst []byte, timeout time.Duration) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, pr.kill)
		defer stop()
	}
	if err := pr.stdin.SetWriteDeadline(deadline); err != nil {
		return nil, pr.ioError(ctx, "set write deadline", err)
	}
	if err := pr.stdout.SetReadDeadline(deadline); err != nil {
		return nil, pr.ioError(ctx, "set read deadline", err)
	}
	if _, err := pr.stdin.Write(msg); err != nil {
		return nil, pr.ioError(ctx, "write request", err)
	}
	if _, err := io.ReadFull(pr.stdout, pr.hdr[:]); err != nil {
		return nil, pr.ioError(ctx, "read answer header", err)
	}
	h, err := wire.ParseHeader(pr.hdr[:])
	if err == nil && h.ID != id {
		err = fmt.Errorf("%w: answer to request %d, want %d", wire.ErrProtocol, h.ID, id)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: worker %d: %v", ErrWorkerDied, pr.pid, err)
	}
	switch {
	case h.Kind == wire.KindPage && h.Len == wire.PageSize:
		if cap(dst) < wire.PageSize {
			dst = make([]byte, wire.PageSize)
		}
		dst = dst[:wire.PageSize]
		if _, err := io.ReadFull(pr.stdout, dst); err != nil {
			return nil, pr.ioError(ctx, "read page", err)
		}
		return dst, nil
	case h.Kind == wire.KindError && h.Len >= 1 && h.Len <= 1+wire.MaxErrorText:
		if cap(pr.errBuf) < int(h.Len) {
			pr.errBuf = make([]byte, 1+wire.MaxErrorText)
		}
		b := pr.errBuf[:h.Len]
		if _, err := io.ReadFull(pr.stdout, b); err != nil {
			return nil, pr.ioError(ctx, "read error answer", err)
		}
		switch b[0] {
		case wire.CodeRedoFailed:
			return nil, fmt.Errorf("%w: %s", ErrRedo, b[1:])
		case wire.CodeBadRequest:
			return nil, fmt.Errorf("%w: worker refused it: %s", ErrBadRequest, b[1:])
		}
		return nil, fmt.Errorf("%w: worker %d reports a protocol error (code %d): %s", ErrWorkerDied, pr.pid, b[0], b[1:])
	}
	return nil, fmt.Errorf("%w: worker %d: %v: unexpected answer kind 0x%02x with %d bytes", ErrWorkerDied, pr.pid, wire.ErrProtocol, h.Kind, h.Len)
}

// ioError classifies an I/O failure on the worker's pipes.
func (pr *proc) ioError(ctx context.Context, what string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("walredo %s: %w", what, context.Cause(ctx))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%w: worker %d: %s", ErrTimeout, pr.pid, what)
	}
	return fmt.Errorf("%w: worker %d: %s: %v", ErrWorkerDied, pr.pid, what, err)
}

// kill sends SIGKILL once. Safe from any goroutine, before or after retire.
func (pr *proc) kill() {
	pr.killOnce.Do(func() {
		if err := pr.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			pr.log.Warn("kill walredo worker", "err", err)
		}
	})
}

// retire ends pr and reaps it: an idle worker gets EOF on stdin and a moment
// to exit by itself, any other one SIGKILL; then wait. It is the owner's
// kill_and_wait and is called exactly once per started process.
func (p *Pool) retire(pr *proc, reason string) {
	if reason == ReasonIdle {
		pr.stdin.Close()
		t := time.AfterFunc(time.Second, pr.kill)
		defer t.Stop()
	} else {
		pr.kill()
	}
	err := pr.cmd.Wait()
	pr.stdin.Close()
	pr.stdout.Close()
	p.mu.Lock()
	if _, ok := p.live[pr]; ok {
		delete(p.live, pr)
		p.m.workers.Dec()
	}
	p.mu.Unlock()
	p.m.kills[reason].Inc()
	switch reason {
	case ReasonError, ReasonTimeout, ReasonCanceled:
		p.replaced.Add(1)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		pr.log.Error("wait for walredo worker failed; it might be left as a zombie", "reason", reason, "err", err)
		return
	}
	pr.log.Debug("walredo worker stopped", "reason", reason, "status", pr.cmd.ProcessState.String())
}

// stderrLog logs what a worker writes on stderr, one record per line (at
// most 1 KiB each).
type stderrLog struct {
	log  *slog.Logger
	cmd  *exec.Cmd // Process is set before exec starts copying stderr
	line []byte
}

func (w *stderrLog) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.line = append(w.line, b[:min(len(b), 1024-len(w.line))]...)
			return n, nil
		}
		w.line = append(w.line, b[:min(i, 1024-len(w.line))]...)
		w.log.Warn("walredo worker stderr", "pid", w.cmd.Process.Pid, "line", string(w.line))
		w.line = w.line[:0]
		b = b[i+1:]
	}
	return n, nil
}
