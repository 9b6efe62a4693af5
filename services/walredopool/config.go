package walredopool

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/services/walredopool/internal/wire"
)

// Config is walredo-pool's configuration (YAML, snake_case keys):
//
//	grpc: {addr: 127.0.0.1:6410}
//	admin: {addr: 127.0.0.1:9410}
//	log: {format: json, level: info}
//	auth: {public_key_files: [keys/auth_public.pem]}   # or {trust: true}
//	pool:
//	  workers: 4                # worker processes
//	  wal_redo_timeout: 60s     # per request; the worker is killed when it passes
//	  idle_timeout: 180s        # stop a worker idle this long (0: never); relaunched lazily
//	  launch_timeout: 10s       # a new worker must say hello within this
//	  worker_user: nobody       # workers run as this user when the pool runs as root
//	  worker_binary: ""         # "" = this executable (run as `<binary> worker`)
//	  max_records: 100000       # per request
//	  max_record_bytes: 4194304 # per record
//	  max_request_bytes: 67108864 # base image and records of one request
type Config struct {
	GRPC  grpcx.ServerConfig `yaml:"grpc"`
	Admin admin.Config       `yaml:"admin"`
	Log   logging.Config     `yaml:"log"`
	Auth  auth.Config        `yaml:"auth"`
	Pool  PoolConfig         `yaml:"pool"`
}

// PoolConfig configures the pool of redo worker processes and the limits on
// one request.
type PoolConfig struct {
	// Workers is the number of redo worker processes.
	Workers int `yaml:"workers"`
	// WalRedoTimeout bounds one request's exchange with its worker.
	WalRedoTimeout config.Duration `yaml:"wal_redo_timeout"`
	// IdleTimeout stops a worker that served nothing for this long (0:
	// never).
	IdleTimeout config.Duration `yaml:"idle_timeout"`
	// LaunchTimeout bounds the wait for a new worker's hello.
	LaunchTimeout config.Duration `yaml:"launch_timeout"`
	// WorkerUser is the user workers run as when the pool runs as root ("":
	// stay root). The worker binary must be executable by that user.
	WorkerUser string `yaml:"worker_user"`
	// WorkerBinary is the walredo-pool binary the workers run ("": this
	// process's executable).
	WorkerBinary string `yaml:"worker_binary"`
	// MaxRecords bounds the records of one request.
	MaxRecords int `yaml:"max_records"`
	// MaxRecordBytes bounds one record's data.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxRequestBytes bounds one request's base image and records together.
	MaxRequestBytes int `yaml:"max_request_bytes"`
}

// RegisterFlags registers every flag with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.GRPC.RegisterFlags(fs, "grpc.", "127.0.0.1:6410")
	c.Admin.RegisterFlags(fs, "admin.", "127.0.0.1:9410")
	c.Log.RegisterFlags(fs)
	c.Auth.RegisterFlags(fs)
	c.Pool.RegisterFlags(fs)
}

// maxRequestBytes caps pool.max_request_bytes well below the protocol's
// frame limit, leaving room for the per-record framing.
const maxRequestBytes = wire.MaxPayload / 2

// RegisterFlags registers the pool's flags with their defaults.
func (c *PoolConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Workers, "pool.workers", 4, "number of redo worker processes")
	c.WalRedoTimeout = config.Duration(60 * time.Second)
	fs.Var(&c.WalRedoTimeout, "pool.wal-redo-timeout", "per-request redo timeout; the worker is killed when it passes")
	c.IdleTimeout = config.Duration(180 * time.Second)
	fs.Var(&c.IdleTimeout, "pool.idle-timeout", "stop a worker idle this long (0: never)")
	c.LaunchTimeout = config.Duration(10 * time.Second)
	fs.Var(&c.LaunchTimeout, "pool.launch-timeout", "a new worker must say hello within this")
	fs.StringVar(&c.WorkerUser, "pool.worker-user", "nobody", "user the workers run as when the pool runs as root (empty: stay root)")
	fs.StringVar(&c.WorkerBinary, "pool.worker-binary", "", "walredo-pool binary for the workers (empty: this executable)")
	fs.IntVar(&c.MaxRecords, "pool.max-records", 100000, "maximum records per redo request")
	fs.IntVar(&c.MaxRecordBytes, "pool.max-record-bytes", 4<<20, "maximum bytes of one record")
	fs.IntVar(&c.MaxRequestBytes, "pool.max-request-bytes", 64<<20, "maximum bytes of one request (base image and records)")
}

// Validate reports every problem of the pool's configuration.
func (c PoolConfig) Validate() error {
	var errs []error
	if c.Workers < 1 {
		errs = append(errs, errors.New("pool.workers: must be at least 1"))
	}
	if c.WalRedoTimeout <= 0 {
		errs = append(errs, errors.New("pool.wal_redo_timeout: must be positive"))
	}
	if c.LaunchTimeout <= 0 {
		errs = append(errs, errors.New("pool.launch_timeout: must be positive"))
	}
	if c.MaxRecords < 1 {
		errs = append(errs, errors.New("pool.max_records: must be at least 1"))
	}
	if c.MaxRecordBytes < 1 {
		errs = append(errs, errors.New("pool.max_record_bytes: must be at least 1"))
	}
	if c.MaxRequestBytes < 1 || c.MaxRequestBytes > maxRequestBytes {
		errs = append(errs, fmt.Errorf("pool.max_request_bytes: must be between 1 and %d", maxRequestBytes))
	}
	return errors.Join(errs...)
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.GRPC.Validate(), c.Log.Validate(), c.Auth.Validate())
	if c.Admin.Addr == "" {
		errs = append(errs, errors.New("admin.addr: empty"))
	}
	errs = append(errs, c.Pool.Validate())
	return errors.Join(errs...)
}
