package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Main runs the package's tests, then scans every log the run produced for
// the secrets it used, failing the run if one appears, and removes the run's
// stack directories (kept when STRATA_KEEP_LOGS=1 or the run failed).
func Main(m *testing.M) {
	code := m.Run()
	if runDir != "" {
		if found := FindSecrets(runDir); len(found) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: secrets found in logs (%d recorded secrets checked):\n  %s\n",
				SecretCount(), strings.Join(found, "\n  "))
			code = 1
		}
		if code == 0 && os.Getenv("STRATA_KEEP_LOGS") == "" {
			os.RemoveAll(runDir)
		} else {
			fmt.Fprintf(os.Stderr, "stack logs kept in %s\n", runDir)
		}
	}
	os.Exit(code)
}

// RunDir returns the directory holding every stack of this run ("" before
// the first Start).
func RunDir() string { return runDir }

var binaries = []struct{ name, pkg string }{
	{"page-service", "github.com/stratadb/strata/services/pageservice/cmd/page-service"},
	{"walredo-pool", "github.com/stratadb/strata/services/walredopool/cmd/walredo-pool"},
	{"upload-worker", "github.com/stratadb/strata/services/uploadworker/cmd/upload-worker"},
	{"gc-compactor", "github.com/stratadb/strata/services/gccompactor/cmd/gc-compactor"},
	{"size-calculator", "github.com/stratadb/strata/services/sizecalculator/cmd/size-calculator"},
	{"gateway", "github.com/stratadb/strata/gateway/cmd/gateway"},
	{"stratactl", "github.com/stratadb/strata/tools/cmd/stratactl"},
}

var (
	buildMu  sync.Mutex
	built    = map[bool]string{}
	buildErr = map[bool]error{}
)

// Binaries returns the directory of the real binaries: $STRATA_BIN_DIR
// ($STRATA_FAILPOINTS_BIN_DIR for the failpoints build) or, when unset, a
// temporary directory they are built into once per test binary.
func Binaries(tb testing.TB, failpoints bool) string {
	tb.Helper()
	env := "STRATA_BIN_DIR"
	if failpoints {
		env = "STRATA_FAILPOINTS_BIN_DIR"
	}
	if d := os.Getenv(env); d != "" {
		for _, b := range binaries {
			if _, err := os.Stat(filepath.Join(d, b.name)); err != nil {
				tb.Fatalf("%s=%s: %v (run `make build build-failpoints`)", env, d, err)
			}
		}
		return d
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if d, ok := built[failpoints]; ok {
		if err := buildErr[failpoints]; err != nil {
			tb.Fatal(err)
		}
		return d
	}
	d, err := build(failpoints)
	built[failpoints], buildErr[failpoints] = d, err
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func build(failpoints bool) (string, error) {
	d, err := os.MkdirTemp("", "strata-bin-")
	if err != nil {
		return "", err
	}
	// walredo-pool runs its redo workers as an unprivileged user when root:
	// that user must reach the binary.
	if err := os.Chmod(d, 0o755); err != nil {
		return "", err
	}
	for _, b := range binaries {
		args := []string{"build", "-o", filepath.Join(d, b.name)}
		if failpoints {
			args = append(args, "-tags", "failpoints")
		}
		cmd := exec.Command("go", append(args, b.pkg)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", b.name, err, out)
		}
	}
	return d, nil
}
