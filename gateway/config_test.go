package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/config"
)

func noEnv(string) (string, bool) { return "", false }

func TestConfigFromYAMLAndFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gateway.yaml")
	yaml := `listen_addr: 127.0.0.1:7000
upstreams:
  page_service: 127.0.0.1:6400
  walredo_pool: 127.0.0.1:6410
  upload_worker: 127.0.0.1:6420
  gc_compactor: 127.0.0.1:6430
  size_calculator: 127.0.0.1:6440
request_timeout: "2 min"
log: {format: text, level: debug}
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	args := []string{"-config.file", file, "-upstreams.walredo-pool", "127.0.0.1:9999"}
	if err := config.ParseEnv(newFlagSet(), args, &cfg, noEnv); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Upstreams{PageService: "127.0.0.1:6400", WalredoPool: "127.0.0.1:9999", UploadWorker: "127.0.0.1:6420",
		GcCompactor: "127.0.0.1:6430", SizeCalculator: "127.0.0.1:6440"}
	if cfg.Upstreams != want {
		t.Errorf("upstreams %+v, want %+v (flags win over the file)", cfg.Upstreams, want)
	}
	if cfg.ListenAddr != "127.0.0.1:7000" || cfg.RequestTimeout.D() != 2*time.Minute || cfg.Log.Format != "text" {
		t.Errorf("config %+v does not reflect the file", cfg)
	}
	if cfg.ReadHeaderTimeout.D() != 10*time.Second {
		t.Errorf("read_header_timeout %s, want the 10s default", cfg.ReadHeaderTimeout)
	}
}

func TestConfigRejectsUnknownKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(file, []byte("upstreams:\n  page_servise: 127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	err := config.ParseEnv(newFlagSet(), []string{"-config.file", file}, &cfg, noEnv)
	if err == nil || !strings.Contains(err.Error(), "page_servise") {
		t.Fatalf("Parse = %v, want an error naming the unknown key", err)
	}
}
