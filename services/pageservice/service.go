// Package pageservice is the page-service: it owns the tenants and
// timelines of its node, ingests WAL, serves pages at any LSN and base
// backups, and exposes the management API (Neon's pageserver v1 API through
// the gateway).
//
// The root package exports Config, New and Service; everything else lives
// under internal/: tenantmgr (tenants and timelines on disk, loading,
// creation, branches), walreceiver (WAL streaming and the initial base
// backup over physical replication) and redoclient (walredo-pool or local
// redo). Attach/detach, GC, compaction and the internal APIs answer
// Unimplemented until their issues land.
package pageservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/service"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
	"github.com/stratadb/strata/services/pageservice/internal/redoclient"
	"github.com/stratadb/strata/services/pageservice/internal/tenantmgr"
)

// Name is the service's binary and log name.
const Name = "page-service"

// Deps are the service's collaborators. Nil fields get defaults.
type Deps struct {
	Logger   *slog.Logger         // nil: slog.Default()
	Registry *prometheus.Registry // nil: a new registry with Go and process collectors
}

// Service is a configured page-service; Run serves until its context ends.
type Service struct {
	*service.Base
	cfg     Config
	tenants *tenantmgr.Manager
	walredo *grpc.ClientConn // nil with redo: local
}

// New builds the service: gRPC server with auth (management, page and
// internal APIs), admin HTTP server, health.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("page-service config: %w", err)
	}
	b, err := service.New(service.Options{
		Name: Name, GRPC: cfg.GRPC, Admin: cfg.Admin, Auth: cfg.Auth, Check: checkPermission,
		Public: publicMethods, Redis: &cfg.Redis, Logger: deps.Logger, Registry: deps.Registry,
	})
	if err != nil {
		return nil, err
	}
	s := &Service{Base: b, cfg: cfg}
	newRedoer := func(id.ID) timeline.Redoer { return redoclient.Local{} }
	if cfg.Redo != RedoLocal {
		cc := cfg.WalredoPool.ClientConfig
		cc.Token = cfg.Tokens.Walredo
		conn, err := grpcx.Dial(cfg.WalredoPool.Addr, cc)
		if err != nil {
			return nil, fmt.Errorf("page-service: walredo-pool client: %w", err)
		}
		s.walredo = conn
		client := walredov1.NewWalRedoServiceClient(conn)
		newRedoer = func(t id.ID) timeline.Redoer {
			return redoclient.Pool{Client: client, Tenant: t, Timeout: cfg.WalredoPool.Timeout.D()}
		}
	}
	s.tenants = tenantmgr.New(tenantmgr.Config{
		Dir:            filepath.Join(cfg.Workdir, "tenants"),
		WaitLSNTimeout: cfg.WaitLSNTimeout.D(),
	}, tenantmgr.Deps{Logger: b.Log, NewRedoer: newRedoer, Registry: b.Registry})
	pagev1.RegisterManagementServiceServer(b.GRPC.GRPC(), &management{nodeID: cfg.NodeID, tenants: s.tenants})
	pagev1.RegisterPageServiceServer(b.GRPC.GRPC(), &pages{tenants: s.tenants})
	pagev1.RegisterInternalServiceServer(b.GRPC.GRPC(), internalAPI{})
	return s, nil
}

// Run starts the admin server and the gRPC server, serves until ctx ends,
// then stops them in reverse order.

func (s *Service) Run(ctx context.Context) error {
	tenants := lifecycle.Funcs{
		ComponentName: "tenants",
		// Start only scans the directory: tenants load in the background
		// while the API is already up.
		StartFn: s.tenants.Start,
		StopFn: func(ctx context.Context) error {
			err := s.tenants.Shutdown(ctx)
			if s.walredo != nil {
				err = errors.Join(err, s.walredo.Close())
			}
			return err
		},
	}
	return s.Base.Run(ctx, tenants)
}
