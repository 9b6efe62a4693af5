package acceptance

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/tests/harness"
)

var wantComponents = []string{"redis", "walredo-pool", "page-service", "upload-worker", "gc-compactor", "size-calculator", "gateway"}

func TestUpBringsEveryProcessToHealthyAndDownLeavesNothing(t *testing.T) {
	began := time.Now()
	s := harness.Start(t, harness.Options{})
	t.Logf("stratactl up → all healthy: %.2fs wall clock, %.2fs reported by stratactl", time.Since(began).Seconds(), s.StartupSeconds)

	var names []string
	for _, c := range s.Components {
		names = append(names, c.Name)
		if !alive(c) {
			t.Errorf("%s (pid %d) is not running", c.Name, c.Process.PID)
		}
		if c.Log == "" || !fileExists(c.Log) {
			t.Errorf("%s has no log file %q", c.Name, c.Log)
		}
	}
	if !slices.Equal(names, wantComponents) {
		t.Fatalf("stack.json components = %v, want %v", names, wantComponents)
	}
	for _, c := range s.Components {
		switch c.Name {
		case "redis", "gateway":
		default:
			if c.GRPCAddr == "" || c.AdminAddr == "" {
				t.Errorf("%s: stack.json lacks grpc_addr or admin_addr: %+v", c.Name, c)
			}
		}
	}
	if s.GatewayURL == "" || s.AdminToken == "" || s.Redis.Addr == "" || s.Keys.PublicKey == "" {
		t.Errorf("stack.json lacks an endpoint, token or key: %+v", s.State)
	}
	out, err := s.Stratactl("status", "--dir", s.Dir, "--json")
	if err != nil {
		t.Fatalf("stratactl status: %v\n%s", err, out)
	}
	var hs []struct {
		Name  string `json:"name"`
		Ready bool   `json:"ready"`
	}
	if err := json.Unmarshal([]byte(out), &hs); err != nil {
		t.Fatalf("decode status: %v\n%s", err, out)
	}
	for _, h := range hs {
		if !h.Ready {
			t.Errorf("stratactl status: %s not ready", h.Name)
		}
	}

	s.Down(t)
	for _, c := range s.Components {
		if alive(c) {
			t.Errorf("%s (pid %d) still running after down", c.Name, c.Process.PID)
		}
		for _, addr := range []string{c.GRPCAddr, c.AdminAddr} {
			if addr == "" {
				continue
			}
			if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				conn.Close()
				t.Errorf("%s: %s still accepts connections after down", c.Name, addr)
			}
		}
	}
	if conn, err := net.DialTimeout("tcp", s.Redis.Addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("redis %s still accepts connections after down", s.Redis.Addr)
	}
}

// alive reports whether the component's process still runs (a zombie or a
// recycled pid does not count).
func alive(c harness.Component) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(c.Process.PID), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return false
	}
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return c.Process.StartTime == 0 || start == c.Process.StartTime
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestUpWithoutRedisServerUsesTheEmbeddedRedis(t *testing.T) {
	// Services check Redis for readiness, so a healthy stack proves the
	// embedded Redis answers.
	s := harness.Start(t, harness.Options{EmbeddedRedis: true})
	if s.Redis.Kind != "embedded" {
		t.Errorf("redis kind = %q, want embedded", s.Redis.Kind)
	}
	b, err := os.ReadFile(s.Component(t, "redis").Log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "embedded redis (miniredis) serving") {
		t.Errorf("redis log does not say it is the embedded Redis:\n%s", b)
	}
	s.Down(t)
	if conn, err := net.DialTimeout("tcp", s.Redis.Addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("embedded redis %s still accepts connections after down", s.Redis.Addr)
	}
}
