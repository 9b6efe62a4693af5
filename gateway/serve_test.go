package gateway

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/proto/openapi"
)

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }

// openAPIRoutes returns "METHOD /path" for every operation of the committed document,
// with path parameters filled in.
func openAPIRoutes(tb testing.TB, doc []byte) []string {
	tb.Helper()
	var spec struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &spec); err != nil {
		tb.Fatalf("OpenAPI document: %v", err)
	}
	param := regexp.MustCompile(`\{[a-z_]+\}`)
	var routes []string
	for path, ops := range spec.Paths {
		for method := range ops {
			routes = append(routes, strings.ToUpper(method)+" "+param.ReplaceAllString(path, tenantA))
		}
	}
	sort.Strings(routes)
	return routes
}

func TestServedEndpoints(t *testing.T) {
	base, _ := newTestGateway(t)
	tests := []struct {
		name     string
		path     string
		wantCode int
		wantIn   string
	}{
		{"healthz answers alive", "/healthz", 200, `"alive"`},
		{"metrics are in Prometheus text format", "/metrics", 200, "strata_gateway_requests_total"},
		{"requests are counted by route template", "/metrics", 200, `strata_gateway_requests_total{code="200",method="GET",route="/v1/tenant/{tenant_id}"} 1`},
		{"the OpenAPI document is served at /openapi.json", "/openapi.json", 200, `"/v1/tenant/{tenant_id}/timeline"`},
		{"the OpenAPI document is served at /v1/openapi", "/v1/openapi", 200, `"swagger"`},
	}
	do(t, "GET", base+"/v1/tenant/"+tenantA, "", nil) // so that the request counter has a sample
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "GET", base+tt.path, "", nil)
			if r.code != tt.wantCode || !strings.Contains(r.body, tt.wantIn) {
				t.Fatalf("GET %s = %d %.200q, want %d containing %q", tt.path, r.code, r.body, tt.wantCode, tt.wantIn)
			}
		})
	}
}

func TestServedOpenAPIIsTheCommittedDocument(t *testing.T) {
	base, _ := newTestGateway(t)
	r := do(t, "GET", base+"/openapi.json", "", nil)
	if r.body != string(openapi.JSON) {
		t.Fatalf("served document differs from proto/openapi/strata.swagger.json")
	}
}

// Every route of the OpenAPI document reaches its service: with services that implement
// nothing, each answers 501 (never the 404 of an unregistered route).
func TestEveryDocumentedRouteIsForwarded(t *testing.T) {
	base, _ := newTestGateway(t)
	routes := openAPIRoutes(t, openapi.JSON)
	if len(routes) < 20 {
		t.Fatalf("only %d routes in the OpenAPI document: %v", len(routes), routes)
	}
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		body := ""
		if method == "POST" || method == "PUT" {
			body = "{}"
			if path == "/v1/failpoints" {
				body = "[]"
			}
		}
		r := do(t, method, base+path, body, nil)
		// ManagementService is partly implemented by the fake: those answer 2xx; the
		// rest must reach a service and answer 501.
		if r.code == http.StatusNotFound || r.code == http.StatusMethodNotAllowed || r.code >= 500 && r.code != http.StatusNotImplemented {
			t.Errorf("%s = %d %s, want the service's answer (501 or success)", route, r.code, r.body)
		}
	}
}

func TestLifecycleServesUntilStopped(t *testing.T) {
	up := startFakeUpstream(t)
	gw, err := New(testConfig(t, up.addr), Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx := context.Background()
	if err := gw.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	base := "http://" + gw.Addr()
	rec := httptest.NewRecorder()
	gw.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz before Run = %d, want 503", rec.Code)
	}
	decodeMsg(t, rec.Body.String())
	runErr := make(chan error, 1)
	go func() { runErr <- gw.Run(ctx) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		r := do(t, "GET", base+"/readyz", "", nil)
		if r.code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d %q after 10s", r.code, r.body)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline, not a timing assertion
	}
	if r := do(t, "GET", base+"/v1/status", "", nil); r.code != http.StatusOK {
		t.Fatalf("GET /v1/status = %d %s", r.code, r.body)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := gw.Stop(stopCtx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run returned %v after Stop, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatalf("gateway still answers after Stop")
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	cfg.ListenAddr = "no-port"
	cfg.Upstreams.WalredoPool = "also-no-port"
	cfg.RequestTimeout = 0
	cfg.Log.Format = "xml"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{"listen_addr", "upstreams.walredo_pool", "request_timeout", "log.format"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not mention %s", err, want)
		}
	}
	valid := testConfig(t, "127.0.0.1:1")
	if err := valid.Validate(); err != nil {
		t.Errorf("a valid config fails Validate: %v", err)
	}
}

func TestRequestTimeoutIsGatewayTimeout(t *testing.T) {
	up := startFakeUpstream(t)
	cfg := testConfig(t, up.addr)
	cfg.RequestTimeout = config.Duration(50 * time.Millisecond)
	gw, err := New(cfg, Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	defer gw.closeConns()
	// The fake's GetTimeline blocks until its deadline passes.
	r := do(t, "GET", srv.URL+"/v1/tenant/"+tenantA+"/timeline/"+slowTimeline, "", nil)
	if r.code != http.StatusGatewayTimeout {
		t.Fatalf("status %d, want 504 (body %s)", r.code, r.body)
	}
	decodeMsg(t, r.body)
}
