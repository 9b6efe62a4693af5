// Package admin is the admin HTTP server every Strata process runs next to
// its gRPC port: GET /healthz, GET /readyz, GET /metrics and
// PUT /v1/failpoints (400 unless built with -tags failpoints), plus whatever
// the service adds with Handle. It is a lifecycle.Component.
//
// Usage:
//
//	srv := admin.New(admin.Config{Addr: cfg.AdminAddr}, admin.Deps{Registry: reg, Health: h, Logger: log})
//	srv.Handle("GET /v1/status", statusHandler)
//	err := lifecycle.Run(ctx, srv, grpcServer, svc)
//	// after Start: srv.Addr() is the bound address (useful with ":0").
package admin

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratadb/strata/libs/platform/failpoint"
	"github.com/stratadb/strata/libs/platform/health"
	"github.com/stratadb/strata/libs/platform/metrics"
)

// Config of the admin server.
type Config struct {
	Addr string `yaml:"addr"` // host:port; port 0 picks a free one
}

// RegisterFlags registers -<prefix>addr with the given default.
func (c *Config) RegisterFlags(fs *flag.FlagSet, prefix, defaultAddr string) {
	fs.StringVar(&c.Addr, prefix+"addr", defaultAddr, "admin HTTP listen address (/healthz, /readyz, /metrics, /v1/failpoints)")
}

// Deps of the admin server. Nil Registry means no /metrics; nil Health means
// /readyz always answers ready; nil Logger means slog.Default().
type Deps struct {
	Registry prometheus.Gatherer
	Health   *health.Health
	Logger   *slog.Logger
	// Auth, when set, wraps PUT /v1/failpoints and every route added with
	// Handle (e.g. authn.HTTP(check)); /healthz, /readyz and /metrics stay open.
	Auth func(http.Handler) http.Handler
}

// Server is the admin HTTP server.
type Server struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	http *http.Server
	ln   net.Listener
	wrap func(http.Handler) http.Handler
}

// New builds the server with the standard routes; it listens on Start.
func New(cfg Config, deps Deps) *Server {
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	h := deps.Health
	if h == nil {
		h = health.New()
	}
	mux.Handle("GET /healthz", h.Livez())
	mux.Handle("GET /readyz", h.Readyz())
	if deps.Registry != nil {
		mux.Handle("GET /metrics", metrics.Handler(deps.Registry))
	}
	wrap := deps.Auth
	if wrap == nil {
		wrap = func(h http.Handler) http.Handler { return h }
	}
	mux.Handle("PUT /v1/failpoints", wrap(failpoint.Handler()))
	s := &Server{cfg: cfg, log: log, mux: mux, wrap: wrap}
	s.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelInfo),
	}
	return s
}

// Handle adds a route (Go 1.22 pattern, e.g. "PUT /v1/reload"), behind
// Deps.Auth. Call before Start.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, s.wrap(h)) }

// HandlePublic adds a route that needs no token (e.g. "GET /v1/status").
func (s *Server) HandlePublic(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Addr returns the bound address after Start, else the configured one.
func (s *Server) Addr() string {
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// Name implements lifecycle.Component.
func (s *Server) Name() string { return "admin-http" }

// Start listens.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.log.Info("admin http listening", "addr", ln.Addr().String())
	return nil
}

// Run serves until Stop.
func (s *Server) Run(ctx context.Context) error {
	err := s.http.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("admin serve: %w", err)
}

// Stop shuts down gracefully within ctx, then closes remaining connections.
func (s *Server) Stop(ctx context.Context) error {
	if err := s.http.Shutdown(ctx); err != nil {
		_ = s.http.Close()
		return fmt.Errorf("admin shutdown: %w", err)
	}
	return nil
}
