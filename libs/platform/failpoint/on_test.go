//go:build failpoints

package failpoint

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestFromEnvWithCounts(t *testing.T) {
	t.Setenv(EnvVar, `fp-env=2*return("boom");fp-other=return(7)`)
	cs, err := InitFromEnv()
	if err != nil || Join(cs) != `fp-env=2*return("boom");fp-other=return(7)` {
		t.Fatalf("InitFromEnv = %v, %v", cs, err)
	}
	defer Disable("fp-env")
	defer Disable("fp-other")
	for i := 0; i < 2; i++ {
		if v, ok := Eval("fp-env"); !ok || v != "boom" {
			t.Fatalf("eval %d = %v %v", i, v, ok)
		}
	}
	if _, ok := Eval("fp-env"); ok {
		t.Fatal("fired a third time")
	}
	if v, ok := Eval("fp-other"); !ok || v != 7 {
		t.Fatalf("fp-other = %v %v", v, ok)
	}
}

func TestActions(t *testing.T) {
	defer Disable("fp-a")
	tests := []struct {
		name, actions string
		fires         bool
	}{
		{"off disables", "off", false},
		{"sleep fires with no value", "sleep(1)", true},
		{"a chain falls through exhausted terms", "1*return(1)->return(2)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Enable("fp-a", tt.actions); err != nil {
				t.Fatal(err)
			}
			if _, ok := Eval("fp-a"); ok != tt.fires {
				t.Fatalf("fired = %v", ok)
			}
		})
	}
	if err := Enable("fp-a", "bogus(("); err == nil {
		t.Fatal("bad action accepted")
	}
}

func TestPanicAndExit(t *testing.T) {
	defer Disable("fp-p")
	if err := Enable("fp-p", "panic"); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		Eval("fp-p")
	}()
	code := -1
	exitFunc = func(c int) { code = c }
	defer func() { exitFunc = nil }()
	if err := Enable("fp-p", "1*exit"); err != nil {
		t.Fatal(err)
	}
	Eval("fp-p")
	if code != 1 {
		t.Fatalf("exit code = %d", code)
	}
}

func TestPauseIsReleasedByReconfiguring(t *testing.T) {
	defer Disable("fp-pause")
	if err := Enable("fp-pause", "pause"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { Eval("fp-pause"); close(done) }()
	// Give no timing guarantee: reconfiguring must release the pause whether
	// or not Eval has reached it yet.
	if err := Enable("fp-pause", "off"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pause not released")
	}
}

func TestHTTP(t *testing.T) {
	defer Disable("fp-http")
	code, body := put(t, `[{"name":"fp-http","actions":"1*return(\"via-http\")"}]`)
	if code != http.StatusOK || body != "null" {
		t.Fatalf("got %d %s", code, body)
	}
	if v, ok := Eval("fp-http"); !ok || v != "via-http" {
		t.Fatalf("Eval = %v %v", v, ok)
	}
	for _, bad := range []string{`not json`, `[{"name":"x","actions":"nonsense(("}]`, `[{"name":"","actions":"off"}]`} {
		if code, body := put(t, bad); code != http.StatusBadRequest || body[:7] != `{"msg":` {
			t.Fatalf("%s: got %d %s", bad, code, body)
		}
	}
}

func TestErrorAndSleepHelpers(t *testing.T) {
	defer Disable("fp-err")
	if err := Error("fp-err"); err != nil {
		t.Fatalf("unset failpoint: %v", err)
	}
	_ = Enable("fp-err", `return("disk full")`)
	if err := Error("fp-err"); err == nil || err.Error() != "failpoint fp-err: disk full" {
		t.Fatalf("Error = %v", err)
	}
	_ = Enable("fp-err", "return(600000)")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, "fp-err"); err == nil {
		t.Fatal("Sleep ignored cancellation")
	}
	_ = Enable("fp-err", "return(1)")
	if err := Sleep(context.Background(), "fp-err"); err != nil {
		t.Fatal(err)
	}
}
