package health

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestReadinessDrivesHTTPAndGRPC(t *testing.T) {
	h := New()
	var dbErr error = errors.New("redis down")
	h.AddCheck("redis", func(context.Context) error { return dbErr })
	ctx := context.Background()
	grpcStatus := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := h.Server().Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}
	readyz := func() (int, string) {
		rec := httptest.NewRecorder()
		h.Readyz().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	tests := []struct {
		name     string
		err      error
		code     int
		body     string
		grpcWant healthpb.HealthCheckResponse_ServingStatus
	}{
		{"a failing check makes the process not ready", errors.New("redis down"), 503, "redis: redis down", healthpb.HealthCheckResponse_NOT_SERVING},
		{"passing checks make it ready", nil, 200, "ready", healthpb.HealthCheckResponse_SERVING},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbErr = tt.err
			_ = h.Update(ctx)
			if code, body := readyz(); code != tt.code || !strings.Contains(body, tt.body) {
				t.Fatalf("readyz = %d %s", code, body)
			}
			if got := grpcStatus(); got != tt.grpcWant {
				t.Fatalf("grpc = %v", got)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.Livez().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("healthz = %d", rec.Code)
	}
}
