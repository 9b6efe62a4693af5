// Command walredo-pool runs the walredo-pool service; `walredo-pool worker`
// is a redo worker process, started by the service itself.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/stratadb/strata/libs/platform/service"
	"github.com/stratadb/strata/services/walredopool"
	"github.com/stratadb/strata/services/walredopool/internal/worker"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == worker.Arg {
		os.Exit(worker.Main(worker.Options{}))
	}
	var cfg walredopool.Config
	service.Main(walredopool.Name, &cfg, &cfg.Log, func(ctx context.Context, log *slog.Logger) error {
		svc, err := walredopool.New(cfg, walredopool.Deps{Logger: log})
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}
