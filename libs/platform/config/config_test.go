package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/logging"
)

type testConfig struct {
	Addr    string         `yaml:"addr"`
	Timeout Duration       `yaml:"timeout"`
	Workers int            `yaml:"workers"`
	Token   logging.Secret `yaml:"token" env:"TEST_TOKEN"`
	Log     logging.Config `yaml:"log"`
}

func (c *testConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:1", "address")
	c.Timeout = Duration(5 * time.Second)
	fs.Var(&c.Timeout, "timeout", "timeout")
	fs.IntVar(&c.Workers, "workers", 1, "workers")
	c.Log.RegisterFlags(fs)
}

func (c *testConfig) Validate() error {
	var p Problems
	if c.Workers < 1 {
		p.Addf("workers: %d < 1", c.Workers)
	}
	if c.Addr == "" {
		p.Add("addr: empty")
	}
	p.Check("log", c.Log.Validate())
	return p.Err()
}

func writeFile(t testing.TB, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func parse(t testing.TB, args []string, env map[string]string) (*testConfig, error) {
	t.Helper()
	var c testConfig
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	err := ParseEnv(fs, args, &c, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	return &c, err
}

func TestParsePrecedence(t *testing.T) {
	file := writeFile(t, "addr: 127.0.0.1:2\ntimeout: 20 s\nworkers: 3\nlog:\n  level: debug\n")
	c, err := parse(t, []string{"-config.file", file, "-workers", "4"}, map[string]string{"TEST_TOKEN": "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:2" || c.Timeout.D() != 20*time.Second || c.Workers != 4 || c.Token.Reveal() != "tok" || c.Log.Level != "debug" || c.Log.Format != "json" {
		t.Fatalf("got %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		args       []string
		want       []string
	}{
		{"an unknown key in the file is an error", "addr: x\nbogus: 1\n", nil, []string{"bogus"}},
		{"a nested unknown key in the file is an error", "log:\n  colour: red\n", nil, []string{"colour"}},
		{"validation reports every problem at once", "workers: 0\naddr: ''\nlog: {format: xml}\n", nil, []string{"workers", "addr: empty", "log.format"}},
		{"a bad duration names the value", "timeout: 5 parsecs\n", nil, []string{"parsecs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, append([]string{"-config.file", writeFile(t, tt.yaml)}, tt.args...), nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"20 s", 20 * time.Second},
		{"1h", time.Hour},
		{"10m", 10 * time.Minute},
		{"1h 30m", 90 * time.Minute},
		{"250ms", 250 * time.Millisecond},
		{"2 days", 48 * time.Hour},
		{"5 min", 5 * time.Minute},
		{"0", 0},
	}
	for _, tt := range tests {
		t.Run("it parses "+tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "s", "10 parsecs", "-5s", "1.5 h x", "30", "1h 5"} {
		t.Run("it rejects "+bad, func(t *testing.T) {
			if _, err := ParseDuration(bad); err == nil {
				t.Fatalf("ParseDuration(%q) succeeded", bad)
			}
		})
	}
}
