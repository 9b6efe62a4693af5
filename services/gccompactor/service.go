// Package gccompactor is the gc-compactor service: it runs garbage
// collection and compaction for tenants, off the page-service, one instance
// per tenant at a time (fenced lease); it reads layers from object storage,
// writes new ones, and asks page-service to apply the layer map edit. Its
// admin API accepts only `gccompactor` tokens.
//
// The root package exports Config, New and Service; planners and workers
// live under internal/. Until GC and compaction land it holds no tenant:
// GetStatus reports that truthfully and the other RPCs answer Unimplemented.
package gccompactor

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratadb/strata/libs/platform/service"
	gccompactorv1 "github.com/stratadb/strata/proto/gen/strata/gccompactor/v1"
)

// Name is the service's binary and log name.
const Name = "gc-compactor"

// Deps are the service's collaborators. Nil fields get defaults.
type Deps struct {
	Logger   *slog.Logger         // nil: slog.Default()
	Registry *prometheus.Registry // nil: a new registry with Go and process collectors
}

// Service is a configured gc-compactor; Run serves until its context ends.
type Service struct {
	*service.Base
}

// New builds the service: gRPC server with auth, admin HTTP server, health.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gc-compactor config: %w", err)
	}
	b, err := service.New(service.Options{
		Name: Name, GRPC: cfg.GRPC, Admin: cfg.Admin, Auth: cfg.Auth, Check: checkPermission,
		Redis: &cfg.Redis, Logger: deps.Logger, Registry: deps.Registry,
	})
	if err != nil {
		return nil, err
	}
	gccompactorv1.RegisterGcCompactorServiceServer(b.GRPC.GRPC(), &api{id: cfg.InstanceID})
	return &Service{Base: b}, nil
}

// Run serves until ctx ends, then stops in reverse order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx) }
