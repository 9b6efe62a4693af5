package lifecycle

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a service process (see TestMainExit).
func TestMain(m *testing.M) {
	switch os.Getenv("LIFECYCLE_TEST_MODE") {
	case "fail":
		Main(func(ctx context.Context) error {
			return Runner{}.Run(ctx, Loop("broken", func(context.Context) error { return errors.New("disk on fire") }))
		})
		os.Exit(0)
	case "wait":
		Main(func(ctx context.Context) error {
			return Runner{}.Run(ctx, Funcs{ComponentName: "server", StartFn: func(context.Context) error {
				os.Stdout.WriteString("ready\n")
				return nil
			}})
		})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestMainExit(t *testing.T) {
	t.Run("a failing component makes the process exit with status 1", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "LIFECYCLE_TEST_MODE=fail")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "disk on fire") {
			t.Fatalf("err = %v, output:\n%s", err, out)
		}
	})
	t.Run("SIGTERM stops the process cleanly with status 0", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "LIFECYCLE_TEST_MODE=wait")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || line != "ready\n" {
			_ = cmd.Process.Kill()
			t.Fatalf("read ready: %q %v", line, err)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("exit: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("did not stop on SIGTERM")
		}
	})
}
