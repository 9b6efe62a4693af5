// Command upload-worker runs the upload-worker service.
package main

import (
	"context"
	"log/slog"

	"github.com/stratadb/strata/libs/platform/service"
	"github.com/stratadb/strata/services/uploadworker"
)

func main() {
	var cfg uploadworker.Config
	service.Main(uploadworker.Name, &cfg, &cfg.Log, func(ctx context.Context, log *slog.Logger) error {
		svc, err := uploadworker.New(cfg, uploadworker.Deps{Logger: log})
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}
