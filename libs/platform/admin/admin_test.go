package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/health"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/platform/metrics"
)

func get(t testing.TB, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(`[]`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminRoutes(t *testing.T) {
	h := health.New()
	ready := errors.New("warming up")
	h.AddCheck("warm", func(context.Context) error { return ready })
	srv := New(Config{Addr: "127.0.0.1:0"}, Deps{Registry: metrics.NewRegistry(), Health: h, Logger: logging.Discard()})
	srv.Handle("GET /v1/status", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		errc <- lifecycle.Runner{Logger: logging.Discard()}.Run(ctx, srv, lifecycle.Funcs{ComponentName: "probe", StartFn: func(context.Context) error {
			close(started)
			return nil
		}})
	}()
	<-started
	base := "http://" + srv.Addr()
	tests := []struct {
		name, method, path string
		code               int
		body               string
	}{
		{"healthz answers while not ready", "GET", "/healthz", 200, "alive"},
		{"readyz explains why it is not ready", "GET", "/readyz", 503, "warming up"},
		{"metrics are served", "GET", "/metrics", 200, "go_goroutines"},
		{"service routes are mounted", "GET", "/v1/status", 200, "ok"},
		{"the failpoint endpoint is mounted", "PUT", "/v1/failpoints", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, tt.method, base+tt.path)
			if tt.code != 0 && code != tt.code || !strings.Contains(body, tt.body) {
				t.Fatalf("%s %s = %d %s", tt.method, tt.path, code, body)
			}
			if tt.code == 0 && code != 200 && code != 400 {
				t.Fatalf("failpoints: %d %s", code, body)
			}
		})
	}
	ready = nil
	if code, _ := get(t, "GET", base+"/readyz"); code != 200 {
		t.Fatalf("readyz = %d after checks pass", code)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop")
	}
}
