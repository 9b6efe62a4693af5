// Command upload-worker runs the upload-worker service.
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
	"github.com/stratadb/strata/services/uploadworker"
)

func main() {
	lifecycle.Main(func(ctx context.Context) error {
		var cfg uploadworker.Config
		fs := flag.NewFlagSet(uploadworker.Name, flag.ContinueOnError)
		if err := config.Parse(fs, os.Args[1:], &cfg); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
		log, err := logging.New(os.Stderr, cfg.Log, uploadworker.Name)
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
		svc, err := uploadworker.New(cfg, uploadworker.Deps{Logger: log})
		if err != nil {
			return err
		}
		log.Info("starting", "grpc_addr", cfg.GRPC.Addr, "admin_addr", cfg.Admin.Addr)
		return svc.Run(ctx)
	})
}
