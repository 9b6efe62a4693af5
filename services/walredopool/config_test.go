package walredopool

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/config"
)

func parseConfig(tb testing.TB, yaml string, args ...string) (Config, error) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "walredo-pool.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		tb.Fatal(err)
	}
	var cfg Config
	err := config.ParseEnv(flag.NewFlagSet("test", flag.ContinueOnError), append([]string{"-config.file", path}, args...), &cfg,
		func(string) (string, bool) { return "", false })
	return cfg, err
}

func TestConfigDefaultsAndPoolKeys(t *testing.T) {
	cfg, err := parseConfig(t, "auth: {trust: true}\n")
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Pool
	if p.Workers != 4 || p.WalRedoTimeout.D() != time.Minute || p.IdleTimeout.D() != 180*time.Second ||
		p.LaunchTimeout.D() != 10*time.Second || p.WorkerUser != "nobody" || p.WorkerBinary != "" ||
		p.MaxRecords != 100000 || p.MaxRecordBytes != 4<<20 || p.MaxRequestBytes != 64<<20 {
		t.Fatalf("defaults %+v", p)
	}
	cfg, err = parseConfig(t, `auth: {trust: true}
pool:
  workers: 2
  wal_redo_timeout: 5 s
  idle_timeout: 0
  launch_timeout: 2s
  worker_user: ""
  worker_binary: /usr/local/bin/walredo-pool
  max_records: 10
  max_record_bytes: 100
  max_request_bytes: 1000
`, "-pool.workers", "3")
	if err != nil {
		t.Fatal(err)
	}
	p = cfg.Pool
	if p.Workers != 3 || p.WalRedoTimeout.D() != 5*time.Second || p.IdleTimeout != 0 || p.WorkerUser != "" ||
		p.WorkerBinary != "/usr/local/bin/walredo-pool" || p.MaxRecords != 10 || p.MaxRecordBytes != 100 || p.MaxRequestBytes != 1000 {
		t.Fatalf("parsed %+v", p)
	}
}

func TestConfigReportsEveryPoolProblem(t *testing.T) {
	_, err := parseConfig(t, `auth: {trust: true}
pool: {workers: 0, wal_redo_timeout: 0, launch_timeout: 0, max_records: 0, max_record_bytes: 0, max_request_bytes: 0}
`)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"pool.workers", "pool.wal_redo_timeout", "pool.launch_timeout", "pool.max_records",
		"pool.max_record_bytes", "pool.max_request_bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if _, err := parseConfig(t, "auth: {trust: true}\npool: {wokers: 2}\n"); err == nil {
		t.Error("an unknown pool key was accepted")
	}
}
