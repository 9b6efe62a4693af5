package pageservice

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
	"github.com/stratadb/strata/libs/platform/redisconn"
)

// Config is page-service's configuration (YAML, snake_case keys; unknown
// keys are errors):
//
//	node_id: 1
//	grpc: {addr: 127.0.0.1:6400}
//	admin: {addr: 127.0.0.1:9400}      # /healthz /readyz /metrics /v1/failpoints /v1/status /v1/tenant
//	log: {format: json, level: info}
//	auth: {public_key_files: [keys/auth_public.pem]}   # or {trust: true}
//	redis: {addr: 127.0.0.1:6379}      # password: STRATA_REDIS_PASSWORD (environment only)
//	remote_storage: {local_path: objects/}
//	walredo_pool: {addr: 127.0.0.1:6410, timeout: 30s}
//	workdir: /var/lib/strata/page-service   # tenants/ lives here
//	wait_lsn_timeout: 60s               # reads of WAL not yet ingested wait this long
//	redo: pool                          # pool (walredo-pool) | local (in-process; tests and dev only)
//
// The token presented to walredo-pool comes from STRATA_WALREDO_TOKEN only.
type Config struct {
	NodeID        uint64             `yaml:"node_id"`
	GRPC          grpcx.ServerConfig `yaml:"grpc"`
	Admin         admin.Config       `yaml:"admin"`
	Log           logging.Config     `yaml:"log"`
	Auth          auth.Config        `yaml:"auth"`
	Redis         redisconn.Config   `yaml:"redis"`
	RemoteStorage StorageConfig      `yaml:"remote_storage"`
	WalredoPool   PeerConfig         `yaml:"walredo_pool"`
	// Workdir holds the node's tenants directory (tenants/).
	Workdir string `yaml:"workdir"`
	// WaitLSNTimeout bounds how long a read waits for WAL not yet ingested.
	WaitLSNTimeout config.Duration `yaml:"wait_lsn_timeout"`
	// Redo selects how pages are reconstructed: RedoPool (walredo-pool) or
	// RedoLocal (in-process; for tests and development, never a fallback).
	Redo   string `yaml:"redo"`
	Tokens Tokens `yaml:"-"`
}

// Redo modes.
const (
	RedoPool  = "pool"
	RedoLocal = "local"
)

// StorageConfig selects the object storage; LocalPath is a directory used
// as a bucket.
type StorageConfig struct {
	LocalPath string `yaml:"local_path"`
}

// PeerConfig is a gRPC peer: its address and client settings.
type PeerConfig struct {
	Addr               string `yaml:"addr"`
	grpcx.ClientConfig `yaml:",inline"`
}

// Tokens page-service presents to its peers; environment only, never YAML.
type Tokens struct {
	Walredo logging.Secret `yaml:"-" env:"STRATA_WALREDO_TOKEN"`
}

// RegisterFlags registers every flag with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Uint64Var(&c.NodeID, "node-id", 1, "this node's id (GET /v1/status)")
	c.GRPC.RegisterFlags(fs, "grpc.", "127.0.0.1:6400")
	c.Admin.RegisterFlags(fs, "admin.", "127.0.0.1:9400")
	c.Log.RegisterFlags(fs)
	c.Auth.RegisterFlags(fs)
	c.Redis.RegisterFlags(fs)
	fs.StringVar(&c.RemoteStorage.LocalPath, "remote-storage.local-path", "", "directory used as object storage")
	fs.StringVar(&c.WalredoPool.Addr, "walredo-pool.addr", "127.0.0.1:6410", "walredo-pool gRPC address")
	c.WalredoPool.ClientConfig.RegisterFlags(fs, "walredo-pool.")
	fs.StringVar(&c.Workdir, "workdir", ".", "directory holding the node's tenants/ directory")
	c.WaitLSNTimeout = config.Duration(60 * time.Second)
	fs.Var(&c.WaitLSNTimeout, "wait-lsn-timeout", "how long a read waits for WAL not yet ingested")
	fs.StringVar(&c.Redo, "redo", RedoPool, "page reconstruction: pool (walredo-pool) or local (in-process; tests and development only)")
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := []error{c.GRPC.Validate(), c.Log.Validate(), c.Auth.Validate()}
	if c.NodeID == 0 {
		errs = append(errs, errors.New("node_id: must be positive"))
	}
	if c.Admin.Addr == "" {
		errs = append(errs, errors.New("admin.addr: empty"))
	}
	errs = append(errs, c.Redis.Validate())
	switch c.Redo {
	case RedoPool, "":
		if c.WalredoPool.Addr == "" {
			errs = append(errs, errors.New("walredo_pool.addr: empty"))
		}
	case RedoLocal:
	default:
		errs = append(errs, fmt.Errorf("redo: %q is neither %q nor %q", c.Redo, RedoPool, RedoLocal))
	}
	if c.WaitLSNTimeout < 0 {
		errs = append(errs, errors.New("wait_lsn_timeout: negative"))
	}
	return errors.Join(errs...)
}
