// Command gateway serves the REST API of every Strata service on one HTTP port.
//
//	gateway -config.file gateway.yaml
//	gateway -listen-addr 127.0.0.1:9898 -upstreams.page-service 127.0.0.1:6400 ...
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/stratadb/strata/gateway"
	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/logging"
)

func main() {
	lifecycle.Main(run)
}

func run(ctx context.Context) error {
	var cfg gateway.Config
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	if err := config.Parse(fs, os.Args[1:], &cfg); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("configuration: %w", err)
	}
	log, err := logging.New(os.Stderr, cfg.Log, "gateway")
	if err != nil {
		return fmt.Errorf("logger: %w", err)
	}
	gw, err := gateway.New(cfg, gateway.Deps{Logger: log})
	if err != nil {
		return err
	}
	return lifecycle.Runner{Logger: log}.Run(ctx, gw)
}
