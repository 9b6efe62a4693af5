// Package health tracks whether a process is alive and ready, and reports it
// through the gRPC health service (google.golang.org/grpc/health) and the
// HTTP handlers /healthz (alive: the process answers) and /readyz (ready:
// every readiness check passes).
//
// Usage:
//
//	h := health.New()
//	h.AddCheck("components", status.Ready) // lifecycle.Status
//	h.AddCheck("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
//	h.Register(grpcServer)                  // grpc.health.v1.Health
//	components = append(components, h.Watcher(time.Second)) // keeps gRPC status current
//	mux.Handle("GET /healthz", h.Livez())
//	mux.Handle("GET /readyz", h.Readyz())
package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Check reports nil when its part of the process is ready.
type Check func(ctx context.Context) error

// Health holds readiness checks and the gRPC health server. Safe for
// concurrent use.
type Health struct {
	grpc *health.Server

	mu     sync.Mutex
	names  []string
	checks map[string]Check
}

// New returns a Health with no checks (Ready reports ready) whose gRPC
// status is NOT_SERVING until the first Update.
func New() *Health {
	h := &Health{grpc: health.NewServer(), checks: make(map[string]Check)}
	h.grpc.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return h
}

// AddCheck adds (or replaces) a named readiness check.
func (h *Health) AddCheck(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.checks[name]; !ok {
		h.names = append(h.names, name)
	}
	h.checks[name] = c
}

// Ready runs every check and joins the failures ("name: err").
func (h *Health) Ready(ctx context.Context) error {
	h.mu.Lock()
	names := append([]string(nil), h.names...)
	checks := make([]Check, len(names))
	for i, n := range names {
		checks[i] = h.checks[n]
	}
	h.mu.Unlock()
	var errs []error
	for i, c := range checks {
		if err := c(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", names[i], err))
		}
	}
	return errors.Join(errs...)
}

// Update runs the checks and sets the gRPC serving status of the whole
// server ("") accordingly; it returns the readiness error.
func (h *Health) Update(ctx context.Context) error {
	err := h.Ready(ctx)
	st := healthpb.HealthCheckResponse_SERVING
	if err != nil {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	h.grpc.SetServingStatus("", st)
	return err
}

// Register adds the gRPC health service to s.
func (h *Health) Register(s grpc.ServiceRegistrar) { healthpb.RegisterHealthServer(s, h.grpc) }

// Server returns the underlying gRPC health server (for per-service status).
func (h *Health) Server() *health.Server { return h.grpc }

// Watcher returns a lifecycle component (Name/Start/Run/Stop) that calls
// Update every interval while running, and on Stop marks the server
// NOT_SERVING for good (Shutdown), so load balancers drain it first: put it
// last in the component list so it stops first.
func (h *Health) Watcher(interval time.Duration) *Watcher {
	return &Watcher{h: h, interval: interval}
}

// Watcher keeps the gRPC status current; see Health.Watcher.
type Watcher struct {
	h        *Health
	interval time.Duration
}

// Name implements lifecycle.Component.
func (w *Watcher) Name() string { return "health" }

// Start implements lifecycle.Component.
func (w *Watcher) Start(context.Context) error { return nil }

// Run implements lifecycle.Component.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, w.interval)
		_ = w.h.Update(cctx)
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Stop implements lifecycle.Component.
func (w *Watcher) Stop(context.Context) error {
	w.h.grpc.Shutdown()
	return nil
}

// Livez answers 200 {"status":"alive"}: the process serves HTTP.
func (h *Health) Livez() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
}

// Readyz answers 200 {"status":"ready"} or 503 {"msg": "<why not>"}.
func (h *Health) Readyz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := h.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"msg": "not ready: " + err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
