package compose

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/gateway"
	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/services/gccompactor"
	"github.com/stratadb/strata/services/pageservice"
	"github.com/stratadb/strata/services/sizecalculator"
	"github.com/stratadb/strata/services/uploadworker"
	"github.com/stratadb/strata/services/walredopool"
)

// TestComposeConfigsDecodeIntoEachServiceConfig keeps deploy/compose/config
// in step with the services: every file must decode (unknown keys are
// errors) into its binary's Config.
func TestComposeConfigsDecodeIntoEachServiceConfig(t *testing.T) {
	tests := []struct {
		file string
		cfg  any
	}{
		{"page-service.yaml", &pageservice.Config{}},
		{"walredo-pool.yaml", &walredopool.Config{}},
		{"upload-worker.yaml", &uploadworker.Config{}},
		{"gc-compactor.yaml", &gccompactor.Config{}},
		{"size-calculator.yaml", &sizecalculator.Config{}},
		{"gateway.yaml", &gateway.Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.file+" decodes into its service's Config", func(t *testing.T) {
			path := filepath.Join("..", "..", "deploy", "compose", "config", tt.file)
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
			if err := config.LoadFile(path, tt.cfg); err != nil {
				t.Errorf("%s: %v", tt.file, err)
			}
		})
	}
}
