// Command page-service runs the page-service.
package main

import (
	"context"
	"log/slog"

	"github.com/stratadb/strata/libs/platform/service"
	"github.com/stratadb/strata/services/pageservice"
)

func main() {
	var cfg pageservice.Config
	service.Main(pageservice.Name, &cfg, &cfg.Log, func(ctx context.Context, log *slog.Logger) error {
		svc, err := pageservice.New(cfg, pageservice.Deps{Logger: log})
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}
