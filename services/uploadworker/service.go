// Package uploadworker is the upload-worker service: it executes the
// per-timeline upload queues page-service appends to in Redis (layer
// uploads, index uploads, deletions) against object storage, one worker per
// timeline at a time (fenced lease). Its admin API accepts only
// `uploadworker` tokens.
//
// The root package exports Config, New and Service; the queue machinery
// lives under internal/. Until the offload issue lands it holds no queue:
// GetStatus reports that truthfully and GetQueue answers Unimplemented.
package uploadworker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratadb/strata/libs/platform/service"
	uploadworkerv1 "github.com/stratadb/strata/proto/gen/strata/uploadworker/v1"
)

// Name is the service's binary and log name.
const Name = "upload-worker"

// Deps are the service's collaborators. Nil fields get defaults.
type Deps struct {
	Logger   *slog.Logger         // nil: slog.Default()
	Registry *prometheus.Registry // nil: a new registry with Go and process collectors
}

// Service is a configured upload-worker; Run serves until its context ends.
type Service struct {
	*service.Base
}

// New builds the service: gRPC server with auth, admin HTTP server, health.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("upload-worker config: %w", err)
	}
	b, err := service.New(service.Options{
		Name: Name, GRPC: cfg.GRPC, Admin: cfg.Admin, Auth: cfg.Auth, Check: checkPermission,
		Redis: &cfg.Redis, Logger: deps.Logger, Registry: deps.Registry,
	})
	if err != nil {
		return nil, err
	}
	uploadworkerv1.RegisterUploadWorkerServiceServer(b.GRPC.GRPC(), &api{id: cfg.WorkerID})
	return &Service{Base: b}, nil
}

// Run serves until ctx ends, then stops in reverse order.
func (s *Service) Run(ctx context.Context) error { return s.Base.Run(ctx) }
