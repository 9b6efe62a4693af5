package walredopool

import (
	"errors"
	"flag"

	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/logging"
)

// Config is walredo-pool's configuration (YAML, snake_case keys):
//
//	grpc: {addr: 127.0.0.1:6410}
//	admin: {addr: 127.0.0.1:9410}
//	log: {format: json, level: info}
//	auth: {public_key_files: [keys/auth_public.pem]}   # or {trust: true}
//	pool: {workers: 4}
type Config struct {
	GRPC  grpcx.ServerConfig `yaml:"grpc"`
	Admin admin.Config       `yaml:"admin"`
	Log   logging.Config     `yaml:"log"`
	Auth  auth.Config        `yaml:"auth"`
	Pool  PoolConfig         `yaml:"pool"`
}

// PoolConfig sizes the pool of redo worker processes.
type PoolConfig struct {
	// Workers is the number of redo worker processes.
	Workers int `yaml:"workers"`
}

// RegisterFlags registers every flag with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.GRPC.RegisterFlags(fs, "grpc.", "127.0.0.1:6410")
	c.Admin.RegisterFlags(fs, "admin.", "127.0.0.1:9410")
	c.Log.RegisterFlags(fs)
	c.Auth.RegisterFlags(fs)
	fs.IntVar(&c.Pool.Workers, "pool.workers", 4, "number of redo worker processes")
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.GRPC.Validate(), c.Log.Validate(), c.Auth.Validate())
	if c.Admin.Addr == "" {
		errs = append(errs, errors.New("admin.addr: empty"))
	}
	if c.Pool.Workers < 1 {
		errs = append(errs, errors.New("pool.workers: must be at least 1"))
	}
	return errors.Join(errs...)
}
