// Package sizecalculator is the size-calculator service: it computes the
// tenant size model (Neon's synthetic size) from page-service's GC inputs
// and logical sizes, cached in Redis, and serves GET /v1/tenant/{id}/size.
// It accepts `pageserverapi` tokens and `tenant` tokens for their own
// tenant.
//
// The root package exports Config, New and Service; the model lives under
// internal/. Until the size model lands GetTenantSize answers Unimplemented.
package sizecalculator

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/health"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/metrics"
	"github.com/stratadb/strata/libs/platform/redisconn"
	sizecalculatorv1 "github.com/stratadb/strata/proto/gen/strata/sizecalculator/v1"
)

// Name is the service's binary and log name.
const Name = "size-calculator"

// Deps are the service's collaborators. Nil fields get defaults.
type Deps struct {
	Logger   *slog.Logger         // nil: slog.Default()
	Registry *prometheus.Registry // nil: a new registry with Go and process collectors
}

// Service is a configured size-calculator; Run serves until its context ends.
type Service struct {
	cfg    Config
	log    *slog.Logger
	health *health.Health
	status *lifecycle.Status
	admin  *admin.Server
	grpc   *grpcx.Server
	redis  *redis.Client
}

// New builds the service: gRPC server with auth, admin HTTP server, health.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("size-calculator config: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	reg := deps.Registry
	if reg == nil {
		reg = metrics.NewRegistry()
	}
	authn, err := auth.New(cfg.Auth, checkPermission)
	if err != nil {
		return nil, fmt.Errorf("size-calculator auth: %w", err)
	}
	s := &Service{cfg: cfg, log: log, health: health.New(), status: &lifecycle.Status{}}
	s.health.AddCheck("components", s.status.Ready)
	s.redis = redisconn.New(cfg.Redis)
	s.health.AddCheck("redis", redisconn.Check(s.redis))
	s.grpc = grpcx.NewServer(cfg.GRPC, grpcx.ServerDeps{
		Logger:   log,
		Registry: reg,
		Unary:    []grpc.UnaryServerInterceptor{authn.Unary()},
		Stream:   []grpc.StreamServerInterceptor{authn.Stream()},
	})
	sizecalculatorv1.RegisterSizeCalculatorServiceServer(s.grpc.GRPC(), api{})
	s.health.Register(s.grpc.GRPC())
	// Admin routes other than health and metrics (PUT /v1/failpoints)
	// need a valid token, as in Neon; any scope may use them.
	s.admin = admin.New(cfg.Admin, admin.Deps{Registry: reg, Health: s.health, Logger: log, Auth: authn.HTTP(nil)})
	return s, nil
}

// Run starts the admin server and the gRPC server, serves until ctx ends,
// then stops them in reverse order.
func (s *Service) Run(ctx context.Context) error {
	r := lifecycle.Runner{Logger: s.log, Status: s.status}
	redis := lifecycle.Funcs{
		ComponentName: "redis",
		StopFn:        func(context.Context) error { return s.redis.Close() },
	}
	return r.Run(ctx, redis, s.admin, s.grpc, s.health.Watcher(time.Second))
}

// GRPCAddr is the bound gRPC address once Run has started the server.
func (s *Service) GRPCAddr() string { return s.grpc.Addr() }

// AdminAddr is the bound admin HTTP address once Run has started the server.
func (s *Service) AdminAddr() string { return s.admin.Addr() }
