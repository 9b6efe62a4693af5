// Package config loads one component's Config struct from, in increasing
// precedence: flag defaults (RegisterFlags), a YAML file (-config.file;
// unknown keys are errors), environment variables named by `env` struct tags
// (for secrets), and flags given on the command line. Validate then reports
// every problem at once.
//
// Usage:
//
//	type Config struct {
//		ListenAddr string          `yaml:"listen_addr"`
//		Timeout    config.Duration `yaml:"timeout"`
//		Token      logging.Secret  `yaml:"-" env:"STRATA_WALREDO_TOKEN"`
//	}
//
//	func (c *Config) RegisterFlags(fs *flag.FlagSet) {
//		fs.StringVar(&c.ListenAddr, "listen-addr", "127.0.0.1:6400", "gRPC listen address")
//		c.Timeout = config.Duration(10 * time.Second)
//		fs.Var(&c.Timeout, "timeout", "request timeout (e.g. 10s, \"20 s\")")
//	}
//
//	func (c *Config) Validate() error {
//		var p config.Problems
//		if c.ListenAddr == "" {
//			p.Add("listen_addr: empty")
//		}
//		return p.Err()
//	}
//
//	var cfg Config
//	if err := config.Parse(flag.NewFlagSet("page-service", flag.ContinueOnError), os.Args[1:], &cfg); err != nil { ... }
package config

import (
	"bytes"
	"encoding"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Registerer is a config that registers its flags (setting defaults).
type Registerer interface {
	RegisterFlags(fs *flag.FlagSet)
}

// Validator is a config that reports its problems.
type Validator interface {
	Validate() error
}

// FileFlag is the flag naming the YAML file.
const FileFlag = "config.file"

// Parse registers cfg's flags and -config.file on fs, parses args, loads the
// YAML file if one was given, applies `env` tag overrides from the process
// environment, re-applies the flags given on the command line (so they win
// over the file) and finally calls cfg.Validate when cfg implements Validator.
func Parse(fs *flag.FlagSet, args []string, cfg Registerer) error {
	return ParseEnv(fs, args, cfg, os.LookupEnv)
}

// ParseEnv is Parse with an injected environment lookup (for tests).
func ParseEnv(fs *flag.FlagSet, args []string, cfg Registerer, lookup func(string) (string, bool)) error {
	cfg.RegisterFlags(fs)
	var file string
	if fs.Lookup(FileFlag) == nil {
		fs.StringVar(&file, FileFlag, "", "YAML configuration file (command-line flags override it)")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f := fs.Lookup(FileFlag); f != nil {
		file = f.Value.String()
	}
	if file != "" {
		if err := LoadFile(file, cfg); err != nil {
			return err
		}
		// Flags given explicitly win over the file: parse them again.
		if err := fs.Parse(args); err != nil {
			return err
		}
	}
	if err := ApplyEnv(cfg, lookup); err != nil {
		return err
	}
	if v, ok := cfg.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("invalid configuration: %w", err)
		}
	}
	return nil
}

// LoadFile decodes the YAML file at path into cfg; unknown keys are errors.
func LoadFile(path string, cfg any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	if err := Decode(bytes.NewReader(b), cfg); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// Decode decodes one YAML document from r into cfg, rejecting unknown keys.
// An empty document leaves cfg unchanged.
func Decode(r io.Reader, cfg any) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// ApplyEnv sets every field of the struct pointed to by cfg (recursively)
// whose `env:"NAME"` tag names a variable that lookup finds. Supported field
// types: string kinds (including logging.Secret), bool, integers, floats, and
// encoding.TextUnmarshaler (such as Duration).
func ApplyEnv(cfg any, lookup func(string) (string, bool)) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("apply env: want a pointer to a struct, got %T", cfg)
	}
	var p Problems
	applyEnv(v.Elem(), lookup, &p)
	return p.Err()
}

func applyEnv(v reflect.Value, lookup func(string) (string, bool), p *Problems) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		name := f.Tag.Get("env")
		if name == "" {
			if fv.Kind() == reflect.Struct {
				applyEnv(fv, lookup, p)
			}
			continue
		}
		s, ok := lookup(name)
		if !ok {
			continue
		}
		if err := setText(fv, s); err != nil {
			p.Add(fmt.Sprintf("environment %s: %v", name, err))
		}
	}
}

func setText(fv reflect.Value, s string) error {
	if u, ok := fv.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 0, fv.Type().Bits())
		if err != nil {
			return err
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, fv.Type().Bits())
		if err != nil {
			return err
		}
		fv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, fv.Type().Bits())
		if err != nil {
			return err
		}
		fv.SetFloat(n)
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

// Problems collects configuration problems so Validate reports all of them.
// The zero value is empty.
type Problems struct{ errs []error }

// Add records one problem.
func (p *Problems) Add(msg string) { p.errs = append(p.errs, errors.New(msg)) }

// Addf records one formatted problem.
func (p *Problems) Addf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf(format, args...))
}

// Check records err (with a prefix naming the field) when it is non-nil.
func (p *Problems) Check(field string, err error) {
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %w", field, err))
	}
}

// Err returns nil or every problem joined (errors.Join).
func (p *Problems) Err() error { return errors.Join(p.errs...) }
