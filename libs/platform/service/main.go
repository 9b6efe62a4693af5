package service

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
)

// Main is the body of a service's main function: it parses cfg from the
// command line, its YAML file and the environment (config.Parse), sets up
// logging from *logCfg (a field of cfg), enables the FAILPOINTS of the
// environment and logs them ("started with failpoints: ..."), then calls
// run until SIGTERM/SIGINT. The process exits non-zero if any step fails.
//
//	func main() {
//		var cfg uploadworker.Config
//		service.Main(uploadworker.Name, &cfg, &cfg.Log, func(ctx context.Context, log *slog.Logger) error {
//			svc, err := uploadworker.New(cfg, uploadworker.Deps{Logger: log})
//			if err != nil {
//				return err
//			}
//			return svc.Run(ctx)
//		})
//	}
func Main(name string, cfg config.Registerer, logCfg *logging.Config, run func(ctx context.Context, log *slog.Logger) error) {
	lifecycle.Main(func(ctx context.Context) error {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		if err := config.Parse(fs, os.Args[1:], cfg); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
		log, err := logging.New(os.Stderr, *logCfg, name)
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
		return run(ctx, log)
	})
}
