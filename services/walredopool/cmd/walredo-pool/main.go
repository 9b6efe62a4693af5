// Command walredo-pool runs the walredo-pool service; `walredo-pool worker`
// is a redo worker process, started by the service itself.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"

	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/failpoint"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/services/walredopool"
	"github.com/stratadb/strata/services/walredopool/internal/worker"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == worker.Arg {
		os.Exit(worker.Main(worker.Options{}))
	}
	lifecycle.Main(func(ctx context.Context) error {
		var cfg walredopool.Config
		fs := flag.NewFlagSet(walredopool.Name, flag.ContinueOnError)
		if err := config.Parse(fs, os.Args[1:], &cfg); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
		log, err := logging.New(os.Stderr, cfg.Log, walredopool.Name)
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
		svc, err := walredopool.New(cfg, walredopool.Deps{Logger: log})
		if err != nil {
			return err
		}
		log.Info("starting", "grpc_addr", cfg.GRPC.Addr, "admin_addr", cfg.Admin.Addr)
		return svc.Run(ctx)
	})
}
