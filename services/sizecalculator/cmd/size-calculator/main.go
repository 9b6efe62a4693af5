// Command size-calculator runs the size-calculator service.
package main

import (
	"context"
	"log/slog"

	"github.com/stratadb/strata/libs/platform/service"
	"github.com/stratadb/strata/services/sizecalculator"
)

func main() {
	var cfg sizecalculator.Config
	service.Main(sizecalculator.Name, &cfg, &cfg.Log, func(ctx context.Context, log *slog.Logger) error {
		svc, err := sizecalculator.New(cfg, sizecalculator.Deps{Logger: log})
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}
