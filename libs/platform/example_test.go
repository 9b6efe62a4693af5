package platform_test

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/failpoint"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/health"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/platform/metrics"
	"github.com/stratadb/strata/libs/platform/redisconn"
)

// Config is what a service's root package exports.
type Config struct {
	Log   logging.Config     `yaml:"log"`
	GRPC  grpcx.ServerConfig `yaml:"grpc"`
	Admin admin.Config       `yaml:"admin"`
	Auth  auth.Config        `yaml:"auth"`
	Redis redisconn.Config   `yaml:"redis"`
}

func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Log.RegisterFlags(fs)
	c.GRPC.RegisterFlags(fs, "grpc.", "127.0.0.1:6410")
	c.Admin.RegisterFlags(fs, "admin.", "127.0.0.1:6411")
	c.Auth.RegisterFlags(fs)
	c.Redis.RegisterFlags(fs)
}

func (c *Config) Validate() error {
	var p config.Problems
	p.Check("log", c.Log.Validate())
	p.Check("grpc", c.GRPC.Validate())
	p.Check("auth", c.Auth.Validate())
	p.Check("redis", c.Redis.Validate())
	return p.Err()
}

func run(ctx context.Context) error {
	var cfg Config
	if err := config.Parse(flag.NewFlagSet("walredo-pool", flag.ContinueOnError), os.Args[1:], &cfg); err != nil {
		return err
	}
	log, err := logging.New(os.Stderr, cfg.Log, "walredo-pool")
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	fps, err := failpoint.InitFromEnv()
	if err != nil {
		return err
	}
	if len(fps) > 0 {
		log.Info("started with failpoints: " + failpoint.Join(fps))
	}

	reg := metrics.NewRegistry()
	authn, err := auth.New(cfg.Auth, func(c *auth.Claims, method string, req any) error {
		return c.Require(auth.ScopeWalredo)
	})
	if err != nil {
		return err
	}
	rdb := redisconn.New(cfg.Redis)
	defer rdb.Close()

	status := &lifecycle.Status{}
	h := health.New()
	h.AddCheck("components", status.Ready)
	h.AddCheck("redis", redisconn.Check(rdb))

	srv := grpcx.NewServer(cfg.GRPC, grpcx.ServerDeps{
		Logger: log, Registry: reg,
		Unary:  []grpc.UnaryServerInterceptor{authn.Unary()},
		Stream: []grpc.StreamServerInterceptor{authn.Stream()},
	})
	h.Register(srv.GRPC())
	// walredov1.RegisterWalRedoServer(srv.GRPC(), svc)

	adm := admin.New(cfg.Admin, admin.Deps{Registry: reg, Health: h, Logger: log, Auth: authn.HTTP(nil)})
	return lifecycle.Runner{Logger: log, Status: status}.Run(ctx, adm, srv, h.Watcher(time.Second))
}

// Example shows a service's main: config, logs, failpoints, metrics, auth,
// Redis, health, gRPC and admin servers, run by lifecycle.
func Example() {
	if os.Getenv("RUN_EXAMPLE_SERVICE") != "" {
		lifecycle.Main(run)
	}
}
