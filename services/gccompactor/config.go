package gccompactor

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/platform/redisconn"
)

// Config is gc-compactor's configuration (YAML, snake_case keys; unknown
// keys are errors):
//
//	instance_id: host-1234
//	grpc: {addr: 127.0.0.1:6430}
//	admin: {addr: 127.0.0.1:9430}
//	log: {format: json, level: info}
//	auth: {public_key_files: [keys/auth_public.pem]}   # or {trust: true}
//	redis: {addr: 127.0.0.1:6379}      # password: STRATA_REDIS_PASSWORD (environment only)
//	remote_storage: {local_path: objects/}
//	page_service: {addr: 127.0.0.1:6400, timeout: 30s}
//	walredo_pool: {addr: 127.0.0.1:6410, timeout: 30s}
//
// Peer tokens come from the environment only (STRATA_GCCOMPACTOR_TOKEN, STRATA_WALREDO_TOKEN).
type Config struct {
	InstanceID    string             `yaml:"instance_id"`
	GRPC          grpcx.ServerConfig `yaml:"grpc"`
	Admin         admin.Config       `yaml:"admin"`
	Log           logging.Config     `yaml:"log"`
	Auth          auth.Config        `yaml:"auth"`
	Redis         redisconn.Config   `yaml:"redis"`
	RemoteStorage StorageConfig      `yaml:"remote_storage"`
	PageService   PeerConfig         `yaml:"page_service"`
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

// Tokens gc-compactor presents to its peers; environment only, never YAML.
type Tokens struct {
	// PageService: presented to page-service (scope gccompactor).
	PageService logging.Secret `yaml:"-" env:"STRATA_GCCOMPACTOR_TOKEN"`
	// Walredo: presented to walredo-pool (scope walredo).
	Walredo logging.Secret `yaml:"-" env:"STRATA_WALREDO_TOKEN"`
}

// RegisterFlags registers every flag with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.GRPC.RegisterFlags(fs, "grpc.", "127.0.0.1:6430")
	c.Admin.RegisterFlags(fs, "admin.", "127.0.0.1:9430")
	c.Log.RegisterFlags(fs)
	c.Auth.RegisterFlags(fs)
	fs.StringVar(&c.InstanceID, "instance-id", defaultInstanceID(), "this instance's id (lease holder; default host-pid)")
	c.Redis.RegisterFlags(fs)
	fs.StringVar(&c.RemoteStorage.LocalPath, "remote-storage.local-path", "", "directory used as object storage")
	fs.StringVar(&c.PageService.Addr, "page-service.addr", "127.0.0.1:6400", "page-service gRPC address")
	c.PageService.ClientConfig.RegisterFlags(fs, "page-service.")
	fs.StringVar(&c.WalredoPool.Addr, "walredo-pool.addr", "127.0.0.1:6410", "walredo-pool gRPC address")
	c.WalredoPool.ClientConfig.RegisterFlags(fs, "walredo-pool.")
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := []error{c.GRPC.Validate(), c.Log.Validate(), c.Auth.Validate()}
	if c.Admin.Addr == "" {
		errs = append(errs, errors.New("admin.addr: empty"))
	}
	if c.InstanceID == "" {
		errs = append(errs, errors.New("instance_id: empty"))
	}
	errs = append(errs, c.Redis.Validate())
	if c.PageService.Addr == "" {
		errs = append(errs, errors.New("page_service.addr: empty"))
	}
	if c.WalredoPool.Addr == "" {
		errs = append(errs, errors.New("walredo_pool.addr: empty"))
	}
	return errors.Join(errs...)
}

// defaultInstanceID is host-pid, unique among the instances of one machine.
func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
