// Package worker is the child side of walredo-pool: the loop a redo worker
// process runs (`walredo-pool worker`). It announces itself with a hello
// message, then reads redo requests from stdin, applies them with the Go redo
// (libs/postgres/redo), and writes one page or error message per request to
// stdout, in the protocol of package wire (docs/format/walredo-protocol.md).
//
// Contract: the worker exits with status 0 when stdin ends at a message
// boundary (that is how the pool stops an idle worker), and with status 2
// after a framing error (it first sends an 'E' message with CodeProtocol when
// it still can). A request that is framed correctly but cannot be applied is
// answered with an 'E' message and the worker goes on. It never waits for
// anything but its stdin, so a pool that closes the pipe or kills it always
// ends it. Nothing is logged on stdout; stderr gets only fatal errors.
//
// The worker holds no state between requests except reused buffers.
package worker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"syscall"

	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/services/walredopool/internal/wire"
)

// Arg is the first command-line argument that puts the walredo-pool binary in
// worker mode.
const Arg = "worker"

// maxKeptPayload is the largest request buffer kept for the next request.
const maxKeptPayload = 4 << 20

// Options are the worker's test hooks. The zero value is the production
// worker.
type Options struct {
	// BeforeApply, when non-nil, sees every well-formed request before it is
	// applied. Tests use it to make a worker crash, hang or write garbage.
	BeforeApply func(r *wire.Redo)
}

// Main runs the worker on the process's stdin and stdout and returns the exit
// status. It first closes every descriptor above stderr that the process
// inherited (see CloseInheritedFDs).
func Main(opts Options) int {
	if err := CloseInheritedFDs(); err != nil {
		fmt.Fprintf(os.Stderr, "walredo worker %d: %v\n", os.Getpid(), err)
		return 2
	}
	err := Serve(bufio.NewReaderSize(os.Stdin, 64<<10), os.Stdout, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "walredo worker %d: %v\n", os.Getpid(), err)
		return 2
	}
	return 0
}

// Serve sends the hello message to out, then serves requests read from in
// until in ends. It returns nil when in ends at a message boundary, and an
// error for a framing error, a stream that ends inside a message, or a failed
// write.
func Serve(in io.Reader, out io.Writer, opts Options) error {
	s := server{out: out, msg: make([]byte, 0, wire.HeaderSize+wire.PageSize), page: make([]byte, wire.PageSize)}
	if _, err := out.Write(wire.AppendHello(s.msg[:0], os.Getpid())); err != nil {
		return fmt.Errorf("write hello: %w", err)
	}
	var hdr [wire.HeaderSize]byte
	for {
		if _, err := io.ReadFull(in, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read request header: %w", err)
		}
		h, err := wire.ParseHeader(hdr[:])
		if err == nil && h.Kind != wire.KindRedo {
			err = fmt.Errorf("%w: unexpected message kind 0x%02x", wire.ErrProtocol, h.Kind)
		}
		if err != nil {
			s.reply(wire.AppendError(s.msg[:0], h.ID, wire.CodeProtocol, err.Error()))
			return err
		}
		p, err := readPayload(in, s.payload[:0], int(h.Len))
		s.payload = p[:0]
		if err != nil {
			return fmt.Errorf("read request %d payload (%d bytes): %w", h.ID, h.Len, err)
		}
		if err := s.serve(h.ID, p, opts); err != nil {
			return err
		}
		if cap(s.payload) > maxKeptPayload {
			s.payload = nil // a rare huge request: do not keep its memory
		}
	}
}

// readPayload reads n bytes into buf (reused when large enough). It grows
// the buffer as bytes arrive rather than trusting n up front, so a bogus
// length costs no more memory than the bytes actually sent.
func readPayload(in io.Reader, buf []byte, n int) ([]byte, error) {
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), max(cap(buf), 64<<10)))
		}
		m, err := in.Read(buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
}

type server struct {
	out     io.Writer
	applier redo.Applier
	req     wire.Redo
	payload []byte // request payload, reused
	page    []byte // redo output, reused
	msg     []byte // outgoing message, reused
}

// serve answers one request; it fails only when the answer cannot be
// written.
func (s *server) serve(id uint64, p []byte, opts Options) error {
	if err := wire.ParseRedo(&s.req, p); err != nil {
		return s.reply(wire.AppendError(s.msg[:0], id, wire.CodeBadRequest, err.Error()))
	}
	if opts.BeforeApply != nil {
		opts.BeforeApply(&s.req)
	}
	page, err := s.apply()
	if err != nil {
		return s.reply(wire.AppendError(s.msg[:0], id, wire.CodeRedoFailed, err.Error()))
	}
	m := s.msg[:wire.HeaderSize]
	wire.PutHeader(m, wire.Header{Kind: wire.KindPage, Len: wire.PageSize, ID: id})
	return s.reply(append(m, page...))
}

// apply runs the redo; a panic (a bug in a redo routine) becomes an error so
// that the pool sees a failed request, not a dead worker.
func (s *server) apply() (page []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.applier = redo.Applier{}
			page, err = nil, fmt.Errorf("redo of key %s at %s panicked: %v", s.req.Key, s.req.LSN, r)
		}
	}()
	return s.applier.ApplyInto(s.page, s.req.Key, s.req.Base, s.req.Records)
}

func (s *server) reply(m []byte) error {
	if _, err := s.out.Write(m); err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	return nil
}

// CloseInheritedFDs closes every descriptor above 2 that lacks FD_CLOEXEC.
// Go opens all its own descriptors close-on-exec, so at the start of a
// freshly executed process such a descriptor can only have been inherited
// from the pool's process (os/exec passes on any descriptor its opener did
// not mark close-on-exec). What remains above 2 is the Go runtime's own.
func CloseInheritedFDs() error {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list open descriptors: %w", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
		if errno != 0 {
			continue // the directory's own descriptor, closed meanwhile
		}
		if flags&syscall.FD_CLOEXEC == 0 {
			if err := syscall.Close(fd); err != nil {
				return fmt.Errorf("close inherited descriptor %d: %w", fd, err)
			}
		}
	}
	return nil
}
