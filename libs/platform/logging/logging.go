// Package logging builds the process logger (log/slog, JSON or text) and
// keeps secrets out of it.
//
// Secrets never reach the output: a Secret value prints as "[REDACTED]" in
// every form (String, %v, %#v, JSON, slog), and the handler returned by New
// wraps the real handler with Redact, which replaces the value of any
// attribute whose key names a secret (token, password, authorization, secret,
// …) and masks passwords and bearer tokens inside string values and error
// texts (postgres://user:pw@host, password=pw, "Bearer eyJ…", bare JWTs).
//
// Usage:
//
//	var cfg logging.Config
//	cfg.RegisterFlags(flag.CommandLine)
//	flag.Parse()
//	log, err := logging.New(os.Stderr, cfg, "page-service")
//	if err != nil { ... }
//	slog.SetDefault(log)
//	log.Info("connecting", "conninfo", dsn) // password masked
//	ctx = logging.With(ctx, log.With("tenant_id", id))
//	logging.From(ctx).Debug("page read")
package logging

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Config selects the log format and level.
type Config struct {
	Format string `yaml:"format"` // "json" (default) or "text"
	Level  string `yaml:"level"`  // debug, info (default), warn, error
}

// RegisterFlags registers -log.format and -log.level with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Format, "log.format", "json", "log format: json or text")
	fs.StringVar(&c.Level, "log.level", "info", "log level: debug, info, warn or error")
}

// Validate reports every problem in the configuration.
func (c Config) Validate() error {
	var errs []error
	switch c.Format {
	case "", "json", "text":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not json or text", c.Format))
	}
	if _, err := ParseLevel(c.Level); err != nil {
		errs = append(errs, fmt.Errorf("log.level: %w", err))
	}
	return errors.Join(errs...)
}

// ParseLevel parses debug, info, warn or error (case-insensitive; "" is info).
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q", s)
}

// New returns a logger writing to w in the configured format and level, with
// every record redacted (see Redact) and a "service" attribute.
func New(w io.Writer, cfg Config, service string) (*slog.Logger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lvl, _ := ParseLevel(cfg.Level)
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	if cfg.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	l := slog.New(Redact(h))
	if service != "" {
		l = l.With("service", service)
	}
	return l, nil
}

// Discard returns a logger that drops everything (for tests and defaults).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

type ctxKey struct{}

// With returns a context carrying l; From retrieves it.
func With(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the logger carried by ctx, or slog.Default().
func From(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
