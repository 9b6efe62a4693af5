// Package service is the frame every Strata service process is built in: a
// logger, a metrics registry, health, an authenticated gRPC server, the admin
// HTTP server (health, metrics, failpoints) and, for most services, a Redis
// client. A service adds its gRPC APIs to Base.GRPC and its own lifecycle
// components to Base.Run; Main is the body of every cmd/<binary>/main.go.
//
//	b, err := service.New(service.Options{Name: "upload-worker", GRPC: cfg.GRPC, Admin: cfg.Admin,
//		Auth: cfg.Auth, Check: checkPermission, Redis: &cfg.Redis, Logger: deps.Logger})
//	uploadworkerv1.RegisterUploadWorkerServiceServer(b.GRPC.GRPC(), api)
//	return b.Run(ctx, queueWorker)
//
// Run starts, in order: the Redis client (closed last), the admin server,
// the service's components, the gRPC server and the health watcher; it stops
// them in reverse order, so gRPC drains before the components stop.
package service

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
)

// Options configure a Base.
type Options struct {
	// Name is the binary and log name, e.g. "page-service".
	Name  string
	GRPC  grpcx.ServerConfig
	Admin admin.Config
	Auth  auth.Config
	// Check is the service's own permission check.
	Check auth.CheckFunc
	// Public lists gRPC methods served without a token.
	Public []string
	// Redis, if set, gives the service a Redis client whose ping gates /readyz.
	Redis *redisconn.Config
	// Logger and Registry default to slog.Default() and a new registry.
	Logger   *slog.Logger
	Registry *prometheus.Registry
}

// Base is a service process's frame. Its fields are ready after New.
type Base struct {
	Name     string
	Log      *slog.Logger
	Registry *prometheus.Registry
	Health   *health.Health
	GRPC     *grpcx.Server
	Admin    *admin.Server
	Redis    *redis.Client // nil without Options.Redis

	status *lifecycle.Status
}

// New builds the frame: authentication, health (ready when every component
// runs and Redis answers), the gRPC server with the auth interceptors and the
// health service, and the admin server, whose routes other than health and
// metrics need a valid token of any scope (as in Neon).
func New(o Options) (*Base, error) {
	b := &Base{Name: o.Name, Log: o.Logger, Registry: o.Registry, Health: health.New(), status: &lifecycle.Status{}}
	if b.Log == nil {
		b.Log = slog.Default()
	}
	if b.Registry == nil {
		b.Registry = metrics.NewRegistry()
	}
	authn, err := auth.New(o.Auth, o.Check)
	if err != nil {
		return nil, fmt.Errorf("%s auth: %w", o.Name, err)
	}
	authn.Public(o.Public...)
	b.Health.AddCheck("components", b.status.Ready)
	if o.Redis != nil {
		b.Redis = redisconn.New(*o.Redis)
		b.Health.AddCheck("redis", redisconn.Check(b.Redis))
	}
	b.GRPC = grpcx.NewServer(o.GRPC, grpcx.ServerDeps{
		Logger:   b.Log,
		Registry: b.Registry,
		Unary:    []grpc.UnaryServerInterceptor{authn.Unary()},
		Stream:   []grpc.StreamServerInterceptor{authn.Stream()},
	})
	b.Health.Register(b.GRPC.GRPC())
	b.Admin = admin.New(o.Admin, admin.Deps{Registry: b.Registry, Health: b.Health, Logger: b.Log, Auth: authn.HTTP(nil)})
	return b, nil
}

// Run serves until ctx ends (or a component fails), with the service's
// components started after the admin server and before gRPC.
func (b *Base) Run(ctx context.Context, components ...lifecycle.Component) error {
	all := make([]lifecycle.Component, 0, len(components)+4)
	if b.Redis != nil {
		rdb := b.Redis
		all = append(all, lifecycle.Funcs{
			ComponentName: "redis",
			StopFn:        func(context.Context) error { return rdb.Close() },
		})
	}
	all = append(all, b.Admin)
	all = append(all, components...)
	all = append(all, b.GRPC, b.Health.Watcher(time.Second))
	r := lifecycle.Runner{Logger: b.Log, Status: b.status}
	return r.Run(ctx, all...)
}

// GRPCAddr is the bound gRPC address once Run has started the server.
func (b *Base) GRPCAddr() string { return b.GRPC.Addr() }

// AdminAddr is the bound admin HTTP address once Run has started the server.
func (b *Base) AdminAddr() string { return b.Admin.Addr() }

// Ready reports nil once every component of Run is running (the gRPC and
// admin addresses are then bound).
func (b *Base) Ready(ctx context.Context) error { return b.status.Ready(ctx) }
