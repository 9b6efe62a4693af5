package sizecalculator

import (
	"errors"
	"flag"

	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/platform/redisconn"
)

// Config is size-calculator's configuration (YAML, snake_case keys; unknown
// keys are errors):
//
//	grpc: {addr: 127.0.0.1:6440}
//	admin: {addr: 127.0.0.1:9440}
//	log: {format: json, level: info}
//	auth: {public_key_files: [keys/auth_public.pem]}   # or {trust: true}
//	redis: {addr: 127.0.0.1:6379}      # password: STRATA_REDIS_PASSWORD (environment only)
//	page_service: {addr: 127.0.0.1:6400, timeout: 30s}
//
// Peer tokens come from the environment only (STRATA_SIZECALCULATOR_TOKEN).
type Config struct {
	GRPC        grpcx.ServerConfig `yaml:"grpc"`
	Admin       admin.Config       `yaml:"admin"`
	Log         logging.Config     `yaml:"log"`
	Auth        auth.Config        `yaml:"auth"`
	Redis       redisconn.Config   `yaml:"redis"`
	PageService PeerConfig         `yaml:"page_service"`
	Tokens      Tokens             `yaml:"-"`
}

// PeerConfig is a gRPC peer: its address and client settings.
type PeerConfig struct {
	Addr               string `yaml:"addr"`
	grpcx.ClientConfig `yaml:",inline"`
}

// Tokens size-calculator presents to its peers; environment only, never YAML.
type Tokens struct {
	// PageService: presented to page-service (scope sizecalculator).
	PageService logging.Secret `yaml:"-" env:"STRATA_SIZECALCULATOR_TOKEN"`
}

// RegisterFlags registers every flag with its default.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.GRPC.RegisterFlags(fs, "grpc.", "127.0.0.1:6440")
	c.Admin.RegisterFlags(fs, "admin.", "127.0.0.1:9440")
	c.Log.RegisterFlags(fs)
	c.Auth.RegisterFlags(fs)
	c.Redis.RegisterFlags(fs)
	fs.StringVar(&c.PageService.Addr, "page-service.addr", "127.0.0.1:6400", "page-service gRPC address")
	c.PageService.ClientConfig.RegisterFlags(fs, "page-service.")
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := []error{c.GRPC.Validate(), c.Log.Validate(), c.Auth.Validate()}
	if c.Admin.Addr == "" {
		errs = append(errs, errors.New("admin.addr: empty"))
	}
	errs = append(errs, c.Redis.Validate())
	if c.PageService.Addr == "" {
		errs = append(errs, errors.New("page_service.addr: empty"))
	}
	return errors.Join(errs...)
}
