// Command gc-compactor runs the gc-compactor service.
package main

import (
	"context"
	"log/slog"

	"github.com/stratadb/strata/libs/platform/service"
	"github.com/stratadb/strata/services/gccompactor"
)

func main() {
	var cfg gccompactor.Config
	service.Main(gccompactor.Name, &cfg, &cfg.Log, func(ctx context.Context, log *slog.Logger) error {
		svc, err := gccompactor.New(cfg, gccompactor.Deps{Logger: log})
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}
