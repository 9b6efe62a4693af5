// Package gateway is Strata's REST gateway: one HTTP port that exposes the REST routes of
// every service (page-service, walredo-pool, upload-worker, gc-compactor,
// size-calculator), translated to gRPC by grpc-gateway from the google.api.http
// annotations in proto/.
//
// The gateway holds no state and checks no tokens: it forwards the Authorization header
// as gRPC metadata and each service checks its own scopes. It maps gRPC status codes to
// HTTP in one place (status.go), renders every error as {"msg": "..."}, answers 201 on
// creations as Neon does, and serves:
//
//	GET /openapi.json, /v1/openapi   the OpenAPI 2.0 document of every route
//	GET /healthz                     200 {"status":"alive"} while the process serves
//	GET /readyz                      200 {"status":"ready"} once the gateway runs, else 503 {"msg"}
//	GET /metrics                     Prometheus metrics
//
// A Gateway is a lifecycle.Component: Start listens, Run serves, Stop drains.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/health"
	"github.com/stratadb/strata/libs/platform/metrics"
	"github.com/stratadb/strata/proto/openapi"
)

// Deps are the gateway's injected dependencies; nil fields get defaults.
type Deps struct {
	// Logger receives the gateway's logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the gateway's metrics and is served on /metrics; nil means a new
	// registry with the Go and process collectors (metrics.NewRegistry).
	Registry *prometheus.Registry
	// Health serves /healthz and /readyz; the gateway adds its "gateway" readiness check
	// (serving). Nil means a new one.
	Health *health.Health
}

// Gateway serves the REST API of every configured service.
type Gateway struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	health  *health.Health
	metrics *gatewayMetrics
	conns   []*grpc.ClientConn
	handler http.Handler
	ready   atomic.Bool

	ln  net.Listener
	srv *http.Server
}

// New builds a gateway: it creates (lazy) connections to every configured upstream and
// registers their REST routes. It does not listen yet (see Start).
func New(cfg Config, deps Deps) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	g := &Gateway{cfg: cfg, log: deps.Logger, reg: deps.Registry, health: deps.Health}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.log = g.log.With("component", "gateway")
	if g.reg == nil {
		g.reg = metrics.NewRegistry()
	}
	if g.health == nil {
		g.health = health.New()
	}
	g.health.AddCheck("gateway", func(context.Context) error {
		if !g.ready.Load() {
			return errors.New("not serving")
		}
		return nil
	})
	m, err := newMetrics(g.reg)
	if err != nil {
		return nil, fmt.Errorf("gateway metrics: %w", err)
	}
	g.metrics = m

	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, newMarshaler()),
		runtime.WithErrorHandler(errorHandler(g.log)),
		runtime.WithRoutingErrorHandler(routingErrorHandler),
		runtime.WithForwardResponseOption(setSuccessStatus),
		runtime.WithForwardResponseRewriter(emptyAsNull),
		runtime.WithMiddlewares(recordRoute),
	)
	if err := g.registerUpstreams(mux); err != nil {
		g.closeConns()
		return nil, err
	}

	root := http.NewServeMux()
	root.Handle("GET /healthz", g.health.Livez())
	root.Handle("GET /readyz", g.health.Readyz())
	root.Handle("GET /metrics", metrics.Handler(g.reg))
	root.HandleFunc("GET /openapi.json", serveOpenAPI)
	root.HandleFunc("GET /v1/openapi", serveOpenAPI)
	root.Handle("/", mux)
	g.handler = g.instrument(root)
	return g, nil
}

// registerUpstreams connects to every configured service and registers its routes.
func (g *Gateway) registerUpstreams(mux *runtime.ServeMux) error {
	for _, u := range g.cfg.Upstreams.list() {
		if u.addr == "" {
			g.log.Info("upstream not configured, its routes are not served", "upstream", u.key)
			continue
		}
		// No token: the caller's Authorization header is forwarded instead. Every call
		// gets the RequestTimeout deadline.
		conn, err := grpcx.Dial(u.addr, grpcx.ClientConfig{Timeout: g.cfg.RequestTimeout})
		if err != nil {
			return fmt.Errorf("connect to %s: %w", u.key, err)
		}
		g.conns = append(g.conns, conn)
		for _, register := range registrations[u.key] {
			if err := register(context.Background(), mux, conn); err != nil {
				return fmt.Errorf("register %s routes: %w", u.key, err)
			}
		}
	}
	return nil
}

// Handler returns the gateway's HTTP handler (for tests and embedding).
func (g *Gateway) Handler() http.Handler { return g.handler }

// Name implements lifecycle.Component.
func (g *Gateway) Name() string { return "gateway" }

// Start listens on ListenAddr.
func (g *Gateway) Start(context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", g.cfg.ListenAddr, err)
	}
	g.ln = ln
	g.srv = &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout.D(),
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelInfo),
	}
	g.log.Info("gateway listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the gateway listens on (after Start).
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// Run serves until Stop shuts the server down.
func (g *Gateway) Run(context.Context) error {
	g.ready.Store(true)
	err := g.srv.Serve(g.ln)
	g.ready.Store(false)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve http: %w", err)
}

// Stop stops accepting requests, waits for those in flight (until ctx ends) and closes the
// upstream connections.
func (g *Gateway) Stop(ctx context.Context) error {
	g.ready.Store(false)
	var err error
	if g.srv != nil {
		err = g.srv.Shutdown(ctx)
	} else if g.ln != nil {
		err = g.ln.Close()
	}
	g.closeConns()
	if err != nil {
		return fmt.Errorf("shut down http server: %w", err)
	}
	return nil
}

func (g *Gateway) closeConns() {
	for _, c := range g.conns {
		_ = c.Close() // only fails when already closed
	}
	g.conns = nil
}

// instrument counts and times every request, labelled by route template.
func (g *Gateway) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := "unmatched"
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/openapi":
			route = r.URL.Path
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		g.metrics.observe(route, r.Method, code, time.Since(start))
		g.log.Debug("request served", "method", r.Method, "route", route, "code", code)
	})
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapi.JSON) // the client may be gone; nothing to do
}
