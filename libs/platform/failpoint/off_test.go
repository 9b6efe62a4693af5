//go:build !failpoints

package failpoint

import (
	"net/http"
	"strings"
	"testing"
)

func TestWithoutTagNothingFiresAndTheEndpointRefuses(t *testing.T) {
	if _, ok := Eval("x"); ok {
		t.Fatal("Eval fired")
	}
	code, body := put(t, `[{"name":"x","actions":"return(1)"}]`)
	if code != http.StatusBadRequest || body != `{"msg":"failpoints are not compiled in: build with -tags failpoints"}` {
		t.Fatalf("got %d %s", code, body)
	}
	t.Setenv(EnvVar, "x=return(1)")
	if _, err := InitFromEnv(); err == nil || !strings.Contains(err.Error(), "not compiled") {
		t.Fatalf("InitFromEnv = %v", err)
	}
}
