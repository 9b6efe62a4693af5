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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/health"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/metrics"
	"github.com/stratadb/strata/libs/platform/redisconn"
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
	cfg    Config
	log    *slog.Logger
	health *health.Health
	status *lifecycle.Status
	admin  *admin.Server
	grpc   *grpcx.Server
	redis  *redis.Client

	tenants *tenantmgr.Manager
	walredo *grpc.ClientConn // nil with redo: local
}

// New builds the service: gRPC server with auth (management, page and
// internal APIs), admin HTTP server, health.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("page-service config: %w", err)
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
		return nil, fmt.Errorf("page-service auth: %w", err)
	}
	authn.Public(publicMethods...)
	s := &Service{cfg: cfg, log: log, health: health.New(), status: &lifecycle.Status{}}
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
	}, tenantmgr.Deps{Logger: log, NewRedoer: newRedoer, Registry: reg})
	s.health.AddCheck("components", s.status.Ready)
	s.redis = redisconn.New(cfg.Redis)
	s.health.AddCheck("redis", redisconn.Check(s.redis))
	s.grpc = grpcx.NewServer(cfg.GRPC, grpcx.ServerDeps{
		Logger:   log,
		Registry: reg,
		Unary:    []grpc.UnaryServerInterceptor{authn.Unary()},
		Stream:   []grpc.StreamServerInterceptor{authn.Stream()},
	})
	pagev1.RegisterManagementServiceServer(s.grpc.GRPC(), &management{nodeID: cfg.NodeID, tenants: s.tenants})
	pagev1.RegisterPageServiceServer(s.grpc.GRPC(), &pages{tenants: s.tenants})
	pagev1.RegisterInternalServiceServer(s.grpc.GRPC(), internalAPI{})
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
	return r.Run(ctx, redis, tenants, s.admin, s.grpc, s.health.Watcher(time.Second))
}

// GRPCAddr is the bound gRPC address once Run has started the server.
func (s *Service) GRPCAddr() string { return s.grpc.Addr() }

// AdminAddr is the bound admin HTTP address once Run has started the server.
func (s *Service) AdminAddr() string { return s.admin.Addr() }
