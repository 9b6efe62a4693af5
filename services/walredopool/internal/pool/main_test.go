package pool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/redo"
	"github.com/stratadb/strata/services/walredopool/internal/heaprec"
	"github.com/stratadb/strata/services/walredopool/internal/wire"
	"github.com/stratadb/strata/services/walredopool/internal/worker"
)

// The test binary doubles as the worker: `pool.test walredo-test-worker MODE
// DIR`. MODE says how the worker starts; the request's LSN triggers
// misbehaviour mid-request ("once" triggers fire in the first worker that
// sees them, recorded by a marker file in DIR, so a retry on a fresh worker
// succeeds).
const testWorkerArg = "walredo-test-worker"

// Start modes.
const (
	modeOK       = "ok"        // a normal worker (with the LSN triggers)
	modeNoHello  = "no-hello"  // exits before its hello
	modeBadHello = "bad-hello" // writes garbage instead of a hello, then hangs
	modeSilent   = "silent"    // never says hello
)

// Request LSNs that trigger misbehaviour.
const (
	lsnKillOnce    lsn.LSN = 0xDEAD_0001 // SIGKILLs itself mid-request
	lsnGarbageOnce lsn.LSN = 0xDEAD_0002 // answers garbage, then hangs
	lsnExitOnce    lsn.LSN = 0xDEAD_0003 // exits mid-request
	lsnHangOnce    lsn.LSN = 0xDEAD_0004 // hangs (the test kills it)
	lsnHang        lsn.LSN = 0xDEAD_0005 // always hangs
	lsnStderr      lsn.LSN = 0xDEAD_0006 // writes two lines to stderr, then serves
)

func TestMain(m *testing.M) {
	if len(os.Args) > 3 && os.Args[1] == testWorkerArg {
		os.Exit(testWorker(os.Args[2], os.Args[3]))
	}
	os.Exit(m.Run())
}

// hang blocks the misbehaving worker until the pool kills it.
func hang() {
	for {
		time.Sleep(time.Hour)
	}
}

func testWorker(mode, dir string) int {
	switch mode {
	case modeNoHello:
		return 0
	case modeBadHello:
		os.Stdout.Write(bytes.Repeat([]byte{'?'}, wire.HeaderSize+wire.HelloSize))
		hang()
	case modeSilent:
		hang()
	}
	once := func(name string) bool {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			return false
		}
		f.Close()
		return true
	}
	return worker.Main(worker.Options{BeforeApply: func(r *wire.Redo) {
		switch r.LSN {
		case lsnKillOnce:
			if once("kill") {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				hang()
			}
		case lsnGarbageOnce:
			if once("garbage") {
				os.Stdout.Write([]byte("this is not a walredo answer at all"))
				hang()
			}
		case lsnExitOnce:
			if once("exit") {
				os.Exit(3)
			}
		case lsnHangOnce:
			if once("hang") {
				hang()
			}
		case lsnHang:
			once("hang")
			hang()
		case lsnStderr:
			os.Stderr.WriteString("first line\nsecond ")
			os.Stderr.WriteString("line\n")
		}
	}})
}

// testPool starts a pool of test workers in mode; cfg's zero fields get test
// defaults. Cleanup closes it and checks that no child process is left.
func testPool(tb testing.TB, mode string, cfg Config) (*Pool, string) {
	tb.Helper()
	return testPoolDeps(tb, mode, cfg, Deps{})
}

func testPoolDeps(tb testing.TB, mode string, cfg Config, deps Deps) (*Pool, string) {
	tb.Helper()
	dir := tb.TempDir()
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.LaunchTimeout == 0 {
		cfg.LaunchTimeout = 30 * time.Second
	}
	if cfg.Command == nil {
		cfg.Command = []string{os.Args[0], testWorkerArg, mode, dir}
	}
	p, err := New(cfg, deps)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		p.Close()
		checkNoChildren(tb)
	})
	return p, dir
}

var testRel = key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}

// chain returns a request rebuilding a heap page from n INSERT records
// (target LSN at), and the page the in-process redo makes of it.
func chain(tb testing.TB, n int, at lsn.LSN) (*Request, []byte) {
	tb.Helper()
	raws, lsns := heaprec.Chain(testRel, 7, n, 0x1000000)
	req := &Request{Key: key.RelBlock(testRel, 7), LSN: at}
	recs := make([]redo.Record, n)
	for i := range raws {
		req.Records = append(req.Records, Record{LSN: lsns[i], Kind: RecordPostgres, Data: raws[i]})
		recs[i] = redo.Record{LSN: lsns[i], Data: redo.EncodePostgres(nil, lsns[i], raws[i])}
	}
	if at == 0 {
		req.LSN = lsns[n-1]
	}
	want, err := redo.Apply(req.Key, nil, recs)
	if err != nil {
		tb.Fatal(err)
	}
	return req, want
}

// redoOK runs req and checks the page.
func redoOK(tb testing.TB, p *Pool, req *Request, want []byte) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := p.Redo(ctx, nil, req)
	if err != nil {
		tb.Fatalf("Redo: %v", err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatal("the pool's page differs from the in-process redo")
	}
}

// child is a process whose parent is the test process.
type child struct {
	pid   int
	state string
	comm  string
}

// children scans /proc for the test process's children.
func children(tb testing.TB) []child {
	tb.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		tb.Fatalf("scan /proc: %v", err)
	}
	me := os.Getpid()
	var out []child
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == me {
			out = append(out, child{pid: pid, state: f[0], comm: s[strings.IndexByte(s, '(')+1 : i]})
		}
	}
	return out
}

// checkNoChildren fails if the test process has any child: a defunct one
// (a zombie nobody waited for) or a live one (a leaked worker).
func checkNoChildren(tb testing.TB) {
	tb.Helper()
	for _, c := range children(tb) {
		if c.state == "Z" {
			tb.Errorf("zombie child %d (%s)", c.pid, c.comm)
		} else {
			tb.Errorf("leftover child %d (%s) in state %s", c.pid, c.comm, c.state)
		}
	}
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// procStatus returns the fields of /proc/pid/status.
func procStatus(tb testing.TB, pid int) map[string]string {
	tb.Helper()
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
