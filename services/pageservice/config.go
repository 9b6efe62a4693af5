package pageservice

import (
	"errors"
	"flag"

	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
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
	Tokens        Tokens             `yaml:"-"`
}

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
	if c.WalredoPool.Addr == "" {
		errs = append(errs, errors.New("walredo_pool.addr: empty"))
	}
	return errors.Join(errs...)
}
