// Package harness runs cross-service tests against a real local stack: it
// locates (or builds) the real binaries, runs `stratactl up` into a fresh
// directory per test, and on cleanup runs `stratactl down` and fails the test
// if any service log holds a WARN or ERROR line that the test did not allow
// (Neon's allowed_errors idea).
//
// Binaries: $STRATA_BIN_DIR (and $STRATA_FAILPOINTS_BIN_DIR for the
// failpoints build) when set, as `make test` does; otherwise they are built
// once per test binary into a temporary directory with `go build`.
//
// Every test package using the harness calls Main from TestMain, which also
// scans every log of the run for the secrets the run used (tokens, private
// keys): none may appear.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// State is the part of stratactl's stack.json the tests read.
type State struct {
	Dir        string `json:"dir"`
	GatewayURL string `json:"gateway_url"`
	Redis      struct {
		Addr string `json:"addr"`
		Kind string `json:"kind"`
	} `json:"redis"`
	Keys struct {
		PrivateKey string `json:"private_key"`
		PublicKey  string `json:"public_key"`
	} `json:"keys"`
	AdminToken     string      `json:"admin_token"`
	Components     []Component `json:"components"`
	StartupSeconds float64     `json:"startup_seconds"`
}

// Component is one process of the stack.
type Component struct {
	Name      string `json:"name"`
	GRPCAddr  string `json:"grpc_addr"`
	AdminAddr string `json:"admin_addr"`
	ReadyURL  string `json:"ready_url"`
	Process   struct {
		PID       int    `json:"pid"`
		StartTime uint64 `json:"start_time"`
	} `json:"process"`
	Log    string `json:"log"`
	Config string `json:"config"`
}

// Component returns the named component or fails the test.
func (s *State) Component(tb testing.TB, name string) Component {
	tb.Helper()
	for _, c := range s.Components {
		if c.Name == name {
			return c
		}
	}
	tb.Fatalf("stack.json has no component %q", name)
	return Component{}
}

// Options configure Start.
type Options struct {
	// Failpoints, when non-empty, selects the failpoints build and is passed
	// to every service as FAILPOINTS.
	Failpoints string
	// Env is added to stratactl's environment (for example GOTRACEBACK=all,
	// which stratactl passes through to the services).
	Env []string
	// EmbeddedRedis makes stratactl use its embedded Redis (miniredis) even
	// when redis-server is installed.
	EmbeddedRedis bool
	// AllowedLogs are regular expressions; a WARN/ERROR log line matching one
	// of them does not fail the test.
	AllowedLogs []string
}

// Stack is a running local stack owned by one test.
type Stack struct {
	*State
	Dir    string
	binDir string
	tb     testing.TB
	allow  []*regexp.Regexp
}

// Start runs `stratactl up` in a new directory and registers cleanup: down,
// then the log allow-list check.
func Start(tb testing.TB, opts Options) *Stack {
	tb.Helper()
	bins := Binaries(tb, opts.Failpoints != "")
	dir := newStackDir(tb)
	s := &Stack{Dir: dir, binDir: bins, tb: tb}
	for _, a := range append(append([]string{}, globalAllowed...), opts.AllowedLogs...) {
		s.allow = append(s.allow, regexp.MustCompile(a))
	}
	tb.Cleanup(s.cleanup)
	env := append([]string{}, opts.Env...)
	if opts.Failpoints != "" {
		env = append(env, "FAILPOINTS="+opts.Failpoints)
	}
	began := time.Now()
	args := []string{"up", "--dir", dir, "--bin-dir", bins, "--timeout", "60s"}
	if opts.EmbeddedRedis {
		args = append(args, "--redis-server", "-")
	}
	out, err := s.run(env, args...)
	if err != nil {
		tb.Fatalf("stratactl up: %v\n%s", err, out)
	}
	st, err := loadState(dir)
	if err != nil {
		tb.Fatal(err)
	}
	s.State = st
	recordSecret(st.AdminToken)
	// The service-to-service tokens stratactl handed to the processes.
	for _, c := range st.Components {
		recordEnvSecrets(c.Process.PID)
	}
	if b, err := os.ReadFile(st.Keys.PrivateKey); err == nil {
		recordSecret(string(bytes.TrimSpace(b)))
	}
	tb.Logf("stack up in %.2fs (stratactl: %.2fs), dir %s", time.Since(began).Seconds(), st.StartupSeconds, dir)
	return s
}

// Stratactl runs a stratactl subcommand against this stack's binary and
// returns its combined output.
func (s *Stack) Stratactl(args ...string) (string, error) {
	return s.run(nil, args...)
}

func (s *Stack) run(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, "stratactl"), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Token mints a token from the stack's key with `stratactl token` and
// records it as a secret that must never appear in a log.
func (s *Stack) Token(tb testing.TB, scope, tenant string) string {
	tb.Helper()
	args := []string{"token", "--dir", s.Dir, "--scope", scope}
	if tenant != "" {
		args = append(args, "--tenant", tenant)
	}
	out, err := s.run(nil, args...)
	if err != nil {
		tb.Fatalf("stratactl token: %v\n%s", err, out)
	}
	t := string(bytes.TrimSpace([]byte(out)))
	recordSecret(t)
	return t
}

// Down stops the stack now (cleanup would do it too).
func (s *Stack) Down(tb testing.TB) {
	tb.Helper()
	if out, err := s.run(nil, "down", "--dir", s.Dir); err != nil {
		tb.Fatalf("stratactl down: %v\n%s", err, out)
	}
}

func (s *Stack) cleanup() {
	if out, err := s.run(nil, "down", "--dir", s.Dir); err != nil {
		s.tb.Errorf("stratactl down: %v\n%s", err, out)
	}
	for _, bad := range CheckLogs(s.Dir, s.allow) {
		s.tb.Errorf("log line not on the allow-list: %s", bad)
	}
}

func loadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, "stack.json"))
	if err != nil {
		return nil, fmt.Errorf("read stack.json: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode stack.json: %w", err)
	}
	return &st, nil
}

var (
	runDirOnce sync.Once
	runDir     string
	runDirErr  error
)

// newStackDir returns a fresh directory under the run directory; logs stay
// there until Main has scanned them.
func newStackDir(tb testing.TB) string {
	tb.Helper()
	runDirOnce.Do(func() {
		if runDir == "" {
			runDir, runDirErr = os.MkdirTemp("", "strata-tests-")
		}
	})
	if runDirErr != nil {
		tb.Fatal(runDirErr)
	}
	d, err := os.MkdirTemp(runDir, sanitize(tb.Name())+"-")
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func sanitize(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(s, "_")
}
