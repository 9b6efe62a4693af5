// Package compose validates deploy/compose with the loader docker compose
// itself uses (compose-go), without a container engine.
package compose

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

func loadProject(tb testing.TB) *types.Project {
	tb.Helper()
	file, err := filepath.Abs("../../deploy/compose/compose.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{file},
		cli.WithOsEnv,
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		tb.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		tb.Fatalf("load compose.yaml: %v", err)
	}
	return p
}

var strataServices = []string{"page-service", "walredo-pool", "upload-worker", "gc-compactor", "size-calculator"}

func TestComposeFileLoadsConsistently(t *testing.T) {
	p := loadProject(t)
	for _, name := range append([]string{"redis", "s3", "gateway"}, strataServices...) {
		if _, err := p.GetService(name); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
	}
}

func TestScalableServicesHaveNoFixedNameOrHostPort(t *testing.T) {
	p := loadProject(t)
	for _, name := range strataServices {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.ContainerName != "" {
			t.Errorf("%s has container_name %q: it could not be scaled", name, s.ContainerName)
		}
		if len(s.Ports) != 0 {
			t.Errorf("%s publishes host ports %v: it could not be scaled", name, s.Ports)
		}
	}
}

func TestEveryStrataServiceHasAHealthcheckAndWaitsForHealthyDependencies(t *testing.T) {
	p := loadProject(t)
	for _, name := range append(slices.Clone(strataServices), "gateway") {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s has no healthcheck", name)
		}
		for dep, d := range s.DependsOn {
			if dep == "s3" {
				continue // the versitygw image has no probe tool
			}
			if d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s depends on %s with condition %q, want service_healthy", name, dep, d.Condition)
			}
		}
	}
}

func TestEveryServiceConfigFileExists(t *testing.T) {
	p := loadProject(t)
	for _, name := range append(slices.Clone(strataServices), "gateway") {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		var cfgDir string
		for _, v := range s.Volumes {
			if v.Target == "/etc/strata" {
				cfgDir = v.Source
			}
		}
		if cfgDir == "" {
			t.Errorf("%s does not mount its config directory at /etc/strata", name)
			continue
		}
		if _, err := os.Stat(filepath.Join(cfgDir, name+".yaml")); err != nil {
			t.Errorf("%s config: %v", name, err)
		}
	}
}
