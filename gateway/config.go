package gateway

import (
	"flag"
	"fmt"
	"net"
	"time"

	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/logging"
)

// Config is the gateway's configuration (YAML keys in snake_case, flags in dotted form).
//
//	listen_addr: 127.0.0.1:9898
//	upstreams:
//	  page_service: 127.0.0.1:6400
//	  walredo_pool: 127.0.0.1:6410
//	  upload_worker: 127.0.0.1:6420
//	  gc_compactor: 127.0.0.1:6430
//	  size_calculator: 127.0.0.1:6440
//	request_timeout: 60s
//	read_header_timeout: 10s
//	log: {format: json, level: info}
type Config struct {
	// ListenAddr is the HTTP address serving REST, OpenAPI, health and metrics.
	ListenAddr string `yaml:"listen_addr"`
	// Upstreams are the gRPC addresses of the services; an empty address leaves that
	// service's routes unregistered (they answer 404).
	Upstreams Upstreams `yaml:"upstreams"`
	// RequestTimeout bounds every forwarded call (deadline propagated to the service).
	RequestTimeout config.Duration `yaml:"request_timeout"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout config.Duration `yaml:"read_header_timeout"`
	// Log selects the log format and level.
	Log logging.Config `yaml:"log"`
}

// Upstreams holds the gRPC address ("host:port") of every service behind the gateway.
type Upstreams struct {
	PageService    string `yaml:"page_service"`
	WalredoPool    string `yaml:"walredo_pool"`
	UploadWorker   string `yaml:"upload_worker"`
	GcCompactor    string `yaml:"gc_compactor"`
	SizeCalculator string `yaml:"size_calculator"`
}

// RegisterFlags registers the gateway's flags and sets the defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ListenAddr, "listen-addr", "127.0.0.1:9898", "HTTP listen address")
	fs.StringVar(&c.Upstreams.PageService, "upstreams.page-service", "", "page-service gRPC address")
	fs.StringVar(&c.Upstreams.WalredoPool, "upstreams.walredo-pool", "", "walredo-pool gRPC address")
	fs.StringVar(&c.Upstreams.UploadWorker, "upstreams.upload-worker", "", "upload-worker gRPC address")
	fs.StringVar(&c.Upstreams.GcCompactor, "upstreams.gc-compactor", "", "gc-compactor gRPC address")
	fs.StringVar(&c.Upstreams.SizeCalculator, "upstreams.size-calculator", "", "size-calculator gRPC address")
	c.RequestTimeout = config.Duration(60 * time.Second)
	fs.Var(&c.RequestTimeout, "request-timeout", "deadline of every forwarded call (e.g. 60s, \"1 min\")")
	c.ReadHeaderTimeout = config.Duration(10 * time.Second)
	fs.Var(&c.ReadHeaderTimeout, "read-header-timeout", "timeout for reading request headers")
	c.Log.RegisterFlags(fs)
}

// Validate reports every problem in the configuration at once.
func (c *Config) Validate() error {
	var p config.Problems
	if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
		p.Addf("listen_addr: %v", err)
	}
	for _, u := range c.Upstreams.list() {
		if u.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(u.addr); err != nil {
			p.Addf("upstreams.%s: %v", u.key, err)
		}
	}
	for _, d := range []struct {
		name string
		d    config.Duration
	}{
		{"request_timeout", c.RequestTimeout},
		{"read_header_timeout", c.ReadHeaderTimeout},
	} {
		if d.d <= 0 {
			p.Add(fmt.Sprintf("%s: must be positive, got %s", d.name, d.d))
		}
	}
	if err := c.Log.Validate(); err != nil {
		p.Addf("%w", err)
	}
	return p.Err()
}

type upstream struct {
	key  string // YAML key, also the metrics/log name
	addr string
}

func (u Upstreams) list() []upstream {
	return []upstream{
		{"page_service", u.PageService},
		{"walredo_pool", u.WalredoPool},
		{"upload_worker", u.UploadWorker},
		{"gc_compactor", u.GcCompactor},
		{"size_calculator", u.SizeCalculator},
	}
}
