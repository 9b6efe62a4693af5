// Package walredopool is the walredo-pool service: it applies WAL records to
// base page images for page-service and gc-compactor, using a pool of redo
// worker processes. Only `walredo`-scoped tokens are accepted.
//
// Redo validates a request (key, record count and sizes, LSN order) and hands
// it to a pool of redo worker processes (internal/pool): the walredo-pool
// binary itself, started as `walredo-pool worker`, speaking the pipe protocol
// of docs/format/walredo-protocol.md (internal/wire) and applying records with
// the Go redo of libs/postgres/redo (internal/worker). Workers are launched
// lazily, killed and reaped on every failure, timeout, idle period and at
// shutdown, and run with least privilege.
//
// The root package exports Config, New and Service; the redo machinery lives
// under internal/.
package walredopool

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/service"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
	"github.com/stratadb/strata/services/walredopool/internal/pool"
	"github.com/stratadb/strata/services/walredopool/internal/worker"
)

// Name is the service's binary and log name.
const Name = "walredo-pool"

// Deps are the service's collaborators. Nil fields get defaults.
type Deps struct {
	Logger   *slog.Logger         // nil: slog.Default()
	Registry *prometheus.Registry // nil: a new registry with Go and process collectors
}

// Service is a configured walredo-pool; Run serves until its context ends.
type Service struct {
	*service.Base
	cfg  Config
	pool atomic.Pointer[pool.Pool] // set while the pool component runs
	pm   *pool.Metrics
}

// New builds the service: gRPC server with auth, admin HTTP server, health.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("walredo-pool config: %w", err)
	}
	b, err := service.New(service.Options{
		Name: Name, GRPC: cfg.GRPC, Admin: cfg.Admin, Auth: cfg.Auth, Check: checkPermission,
		Logger: deps.Logger, Registry: deps.Registry,
	})
	if err != nil {
		return nil, err
	}
	s := &Service{Base: b, cfg: cfg, pm: pool.NewMetrics(b.Registry)}
	walredov1.RegisterWalRedoServiceServer(b.GRPC.GRPC(), &api{cfg: &s.cfg.Pool, pool: &s.pool})
	return s, nil
}

// Run starts the admin server, the worker pool and the gRPC server, serves
// until ctx ends, then stops them in reverse order: gRPC drains first, then
// the pool kills and reaps every worker.
func (s *Service) Run(ctx context.Context) error {
	return s.Base.Run(ctx, s.poolComponent())
}

// poolComponent owns the pool: built at Start (no worker runs until the first
// request), closed at Stop.
func (s *Service) poolComponent() lifecycle.Component {
	return lifecycle.Funcs{
		ComponentName: "pool",
		StartFn: func(context.Context) error {
			cfg, err := s.poolConfig()
			if err != nil {
				return err
			}
			p, err := pool.New(cfg, pool.Deps{Logger: s.Log.With("component", "pool"), Metrics: s.pm})
			if err != nil {
				return err
			}
			s.pool.Store(p)
			return nil
		},
		StopFn: func(context.Context) error {
			if p := s.pool.Swap(nil); p != nil {
				p.Close()
			}
			return nil
		},
	}
}

func (s *Service) poolConfig() (pool.Config, error) {
	c := s.cfg.Pool
	bin := c.WorkerBinary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return pool.Config{}, fmt.Errorf("walredo-pool worker binary: %w", err)
		}
		bin = exe
	}
	return pool.Config{
		Workers:       c.Workers,
		Timeout:       c.WalRedoTimeout.D(),
		IdleTimeout:   c.IdleTimeout.D(),
		LaunchTimeout: c.LaunchTimeout.D(),
		Command:       []string{bin, worker.Arg},
		User:          c.WorkerUser,
	}, nil
}
