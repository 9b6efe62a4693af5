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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratadb/strata/libs/platform/service"
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
	*service.Base
}

// New builds the service: gRPC server with auth, admin HTTP server, health.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("size-calculator config: %w", err)
	}
	b, err := service.New(service.Options{
		Name: Name, GRPC: cfg.GRPC, Admin: cfg.Admin, Auth: cfg.Auth, Check: checkPermission,
		Redis: &cfg.Redis, Logger: deps.Logger, Registry: deps.Registry,
	})
	if err != nil {
		return nil, err
	}
	sizecalculatorv1.RegisterSizeCalculatorServiceServer(b.GRPC.GRPC(), api{})
	return &Service{Base: b}, nil
}

// Run serves until ctx ends, then stops in reverse order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx) }
