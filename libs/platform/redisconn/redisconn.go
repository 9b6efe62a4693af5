// Package redisconn configures the process's Redis client (go-redis v9):
// address and database from flags/YAML, the password only from the
// environment (STRATA_REDIS_PASSWORD), and timeouts on every call.
//
// Usage:
//
//	var cfg redisconn.Config
//	cfg.RegisterFlags(fs) // -redis.addr, -redis.db, -redis.timeout
//	rdb := redisconn.New(cfg)
//	defer rdb.Close()
//	h.AddCheck("redis", redisconn.Check(rdb))
package redisconn

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/logging"
)

// PasswordEnv is the environment variable holding the Redis password.
const PasswordEnv = "STRATA_REDIS_PASSWORD"

// Config of the Redis client.
type Config struct {
	Addr     string          `yaml:"addr"`
	DB       int             `yaml:"db"`
	Timeout  config.Duration `yaml:"timeout"` // dial, read and write timeout of each call
	Password logging.Secret  `yaml:"-" env:"STRATA_REDIS_PASSWORD"`
}

// RegisterFlags registers -redis.addr, -redis.db and -redis.timeout.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "redis.addr", "127.0.0.1:6379", "Redis address host:port")
	fs.IntVar(&c.DB, "redis.db", 0, "Redis database number")
	c.Timeout = config.Duration(3 * time.Second)
	fs.Var(&c.Timeout, "redis.timeout", "Redis dial/read/write timeout")
}

// Validate reports every problem.
func (c Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("redis.addr: empty"))
	}
	if c.DB < 0 {
		errs = append(errs, fmt.Errorf("redis.db: %d < 0", c.DB))
	}
	return errors.Join(errs...)
}

// New returns a client (it connects lazily). A zero Timeout means 3s.
func New(c Config) *redis.Client {
	t := c.Timeout.D()
	if t <= 0 {
		t = 3 * time.Second
	}
	return redis.NewClient(&redis.Options{
		Addr:                  c.Addr,
		DB:                    c.DB,
		Password:              c.Password.Reveal(),
		DialTimeout:           t,
		ReadTimeout:           t,
		WriteTimeout:          t,
		ContextTimeoutEnabled: true,
	})
}

// Check returns a health check that pings Redis.
func Check(rdb redis.UniversalClient) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := rdb.Ping(cctx).Err(); err != nil {
			return fmt.Errorf("redis ping: %w", err)
		}
		return nil
	}
}
