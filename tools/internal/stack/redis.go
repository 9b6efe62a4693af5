package stack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"

	"github.com/alicebob/miniredis/v2"
)

// startRedis starts redis-server on addr when one is installed, otherwise
// `stratactl internal redis` (miniredis in a long-lived child process).
func startRedis(opts Options, l Layout, addr string, log *slog.Logger) (Component, string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Component{}, "", fmt.Errorf("redis address: %w", err)
	}
	c := Component{Name: RedisName, AdminAddr: addr, Log: l.LogFile(RedisName)}
	server := opts.RedisServer
	if server == "" {
		server, _ = exec.LookPath("redis-server")
	}
	var spec spawnSpec
	kind := "redis-server"
	if server != "" && server != "-" {
		spec = spawnSpec{
			Path: server,
			Args: []string{"--bind", host, "--port", port, "--save", "", "--appendonly", "no",
				"--dir", l.RedisDir(), "--protected-mode", "yes"},
			Log: c.Log,
			Dir: l.RedisDir(),
		}
	} else {
		kind = "embedded"
		if server == "-" {
			log.Warn("using the embedded in-process Redis (miniredis) as requested; it is not a real redis-server")
		} else {
			log.Warn("redis-server not installed: using an embedded in-process Redis (miniredis); install redis-server for a real one")
		}
		spec = spawnSpec{Path: opts.Self, Args: []string{"internal", "redis", "--addr", addr}, Log: c.Log, Dir: l.RedisDir()}
	}
	p, err := spawn(spec)
	if err != nil {
		return Component{}, "", fmt.Errorf("start redis: %w", err)
	}
	c.Process = p
	log.Info("started", "component", RedisName, "kind", kind, "pid", p.PID, "addr", addr)
	return c, kind, nil
}

// RunEmbeddedRedis serves an in-memory Redis (miniredis) on addr until ctx
// ends. It backs `stratactl internal redis` when redis-server is missing.
func RunEmbeddedRedis(ctx context.Context, addr string, log *slog.Logger) error {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(addr); err != nil {
		return fmt.Errorf("start embedded redis on %s: %w", addr, err)
	}
	defer m.Close()
	log.Info("embedded redis (miniredis) serving; not for production", "addr", m.Addr())
	<-ctx.Done()
	log.Info("embedded redis stopping")
	return nil
}
