package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Service names, also the binary names and the log/config file names.
const (
	PageService    = "page-service"
	WalredoPool    = "walredo-pool"
	UploadWorker   = "upload-worker"
	GCCompactor    = "gc-compactor"
	SizeCalculator = "size-calculator"
	Gateway        = "gateway"
	RedisName      = "redis"
)

// Services lists the five services in start order.
var Services = []string{WalredoPool, PageService, UploadWorker, GCCompactor, SizeCalculator}

// Options configure Up.
type Options struct {
	// Dir is the stack directory (created if missing).
	Dir string
	// BinDir holds the service and gateway binaries.
	BinDir string
	// Self is the stratactl binary, started as `Self internal redis` when no
	// redis-server is installed.
	Self string
	// RedisServer is the redis-server binary; empty means look it up in PATH,
	// "-" forces the embedded Redis.
	RedisServer string
	// ReadyTimeout bounds waiting for every component to become ready.
	ReadyTimeout time.Duration
	// Logger reports progress.
	Logger *slog.Logger
}

// Up starts a stack in opts.Dir and returns once every component is ready,
// after writing stack.json. On failure it stops whatever it started.
func Up(ctx context.Context, opts Options) (*State, error) {
	began := time.Now()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("stack dir: %w", err)
	}
	l := Layout{Dir: dir}
	if old, err := LoadState(dir); err == nil && anyAlive(old) {
		return nil, fmt.Errorf("a stack is already running in %s (run `stratactl down --dir %s` first)", dir, opts.Dir)
	}
	for _, d := range []string{l.KeysDir(), l.ConfigDir(), l.LogsDir(), l.ObjectsDir(), l.RedisDir(), l.PageServiceDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	if err := os.Chmod(l.KeysDir(), 0o700); err != nil {
		return nil, fmt.Errorf("keys dir: %w", err)
	}
	bins, err := findBinaries(opts.BinDir)
	if err != nil {
		return nil, err
	}
	keys, err := newKeyRing(l)
	if err != nil {
		return nil, err
	}
	admin, err := keys.mint(scopePageServerAPI, "")
	if err != nil {
		return nil, err
	}
	st := &State{Dir: dir, Keys: Keys{PrivateKey: l.PrivateKey(), PublicKey: l.PublicKey()}, AdminToken: admin}
	ok := false
	defer func() {
		if !ok {
			// Stop what was started; the start error is what matters.
			_ = stopAll(context.WithoutCancel(ctx), st, 5*time.Second)
			_ = st.Save()
		}
	}()

	// Ports: redis, then gRPC+admin per service, then the gateway's HTTP.
	addrs, err := freeAddrs(1 + 2*len(Services) + 1)
	if err != nil {
		return nil, err
	}
	st.Redis.Addr = addrs[0]
	redisComp, kind, err := startRedis(opts, l, st.Redis.Addr, log)
	if err != nil {
		return nil, err
	}
	st.Redis.Kind = kind
	st.Components = append(st.Components, redisComp)

	plan := stackPlan{Layout: l, RedisAddr: st.Redis.Addr, Addrs: map[string][2]string{}}
	for i, name := range Services {
		plan.Addrs[name] = [2]string{addrs[1+2*i], addrs[2+2*i]}
	}
	plan.GatewayAddr = addrs[len(addrs)-1]
	st.GatewayURL = "http://" + plan.GatewayAddr

	passthrough := passEnv("FAILPOINTS", "GOTRACEBACK")
	for _, name := range append(append([]string{}, Services...), Gateway) {
		spec, err := plan.component(name, keys)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(spec.comp.Config, spec.config, 0o644); err != nil {
			return nil, err
		}
		p, err := spawn(spawnSpec{
			Path: bins[name],
			Args: []string{"-" + configFileFlag, spec.comp.Config},
			Env:  append(append([]string{}, passthrough...), spec.env...),
			Log:  spec.comp.Log,
			Dir:  dir,
		})
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		spec.comp.Process = p
		st.Components = append(st.Components, spec.comp)
		log.Info("started", "component", name, "pid", p.PID, "log", spec.comp.Log)
	}
	if err := st.Save(); err != nil {
		return nil, err
	}

	timeout := opts.ReadyTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	if err := waitReady(ctx, st, timeout); err != nil {
		return nil, err
	}
	st.StartupSeconds = time.Since(began).Seconds()
	if err := st.Save(); err != nil {
		return nil, err
	}
	ok = true
	return st, nil
}

// passEnv returns NAME=value for each variable set in the environment. The
// children inherit the environment anyway; this makes the pass-through
// explicit and survives a cleaned environment.
func passEnv(names ...string) []string {
	var env []string
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	return env
}

// findBinaries locates every service and gateway binary in binDir.
func findBinaries(binDir string) (map[string]string, error) {
	bins := map[string]string{}
	var missing []error
	for _, name := range append(append([]string{}, Services...), Gateway) {
		p := filepath.Join(binDir, name)
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, fmt.Errorf("binary %s not found in %s (run `make build` or pass --bin-dir)", name, binDir))
			continue
		}
		bins[name] = p
	}
	return bins, errors.Join(missing...)
}

func anyAlive(st *State) bool {
	for _, c := range st.Components {
		if c.Process.Alive() {
			return true
		}
	}
	return false
}

// waitReady polls every component's ready URL (or, without one, its
// liveness) until all answer or the timeout passes. A component whose process
// exits fails at once, with the tail of its log.
func waitReady(ctx context.Context, st *State, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	pending := map[string]Component{}
	for _, c := range st.Components {
		pending[c.Name] = c
	}
	for {
		for name, c := range pending {
			if !c.Process.Alive() {
				return fmt.Errorf("%s exited during start-up; last log lines:\n%s", name, tail(c.Log, 20))
			}
			if probe(ctx, client, c) == nil {
				delete(pending, name)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			var names []string
			for n := range pending {
				names = append(names, n)
			}
			return fmt.Errorf("components not ready after %s: %v", timeout, names)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// probe checks one component: GET ReadyURL must answer 200; without a URL a
// TCP connect to the admin address is enough.
func probe(ctx context.Context, client *http.Client, c Component) error {
	if c.ReadyURL == "" {
		return dialOK(ctx, c.AdminAddr)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.ReadyURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %w (HTTP %d)", c.ReadyURL, errNotReady, resp.StatusCode)
	}
	return nil
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := 0
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' && i != len(b)-1 {
			lines++
			if lines == n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}
