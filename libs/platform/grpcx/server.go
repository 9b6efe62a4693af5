// Package grpcx builds Strata's gRPC servers and clients with the same
// defaults everywhere.
//
// Server interceptor chain (outermost first):
//
//		logging → metrics → recovery → default deadline → Deps.Unary/Stream (auth) → handler
//
//	  - logging: one record per RPC (Debug when OK, Info for caller errors,
//	    Error for Internal/Unknown/DataLoss), with method, code, duration and
//	    tenant_id/timeline_id found in the request message by field name; the
//	    handler gets that logger through logging.From(ctx).
//	  - recovery: a panic becomes codes.Internal and an Error record with the stack.
//	  - default deadline: unary RPCs without a deadline get DefaultTimeout.
//
// Usage:
//
//	srv := grpcx.NewServer(cfg.GRPC, grpcx.ServerDeps{
//		Logger:   log,
//		Registry: reg,
//		Unary:    []grpc.UnaryServerInterceptor{authn.Unary()},
//		Stream:   []grpc.StreamServerInterceptor{authn.Stream()},
//	})
//	pagev1.RegisterPageServiceServer(srv.GRPC(), svc)
//	h.Register(srv.GRPC())
//	err := lifecycle.Run(ctx, adminSrv, srv, svc)
//
//	conn, err := grpcx.Dial("127.0.0.1:6401", grpcx.ClientConfig{Token: auth.TokenFromEnv(auth.EnvWalredoToken)})
package grpcx

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/stratadb/strata/libs/platform/config"
)

// Defaults.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxMsgBytes = 64 << 20
)

// ServerConfig configures a gRPC server.
type ServerConfig struct {
	Addr             string          `yaml:"addr"`
	DefaultTimeout   config.Duration `yaml:"default_timeout"`    // unary RPCs without a deadline
	MaxRecvMsgBytes  int             `yaml:"max_recv_msg_bytes"` // 0: DefaultMaxMsgBytes
	MaxSendMsgBytes  int             `yaml:"max_send_msg_bytes"` // 0: DefaultMaxMsgBytes
	KeepaliveTime    config.Duration `yaml:"keepalive_time"`     // ping an idle client after this
	KeepaliveTimeout config.Duration `yaml:"keepalive_timeout"`  // and drop it if no answer within this
}

// RegisterFlags registers -<prefix>addr, -<prefix>default-timeout, … with defaults.
func (c *ServerConfig) RegisterFlags(fs *flag.FlagSet, prefix, defaultAddr string) {
	fs.StringVar(&c.Addr, prefix+"addr", defaultAddr, "gRPC listen address")
	c.DefaultTimeout = config.Duration(DefaultTimeout)
	fs.Var(&c.DefaultTimeout, prefix+"default-timeout", "deadline for unary RPCs that arrive without one")
	fs.IntVar(&c.MaxRecvMsgBytes, prefix+"max-recv-msg-bytes", DefaultMaxMsgBytes, "largest gRPC message received")
	fs.IntVar(&c.MaxSendMsgBytes, prefix+"max-send-msg-bytes", DefaultMaxMsgBytes, "largest gRPC message sent")
	c.KeepaliveTime = config.Duration(time.Minute)
	fs.Var(&c.KeepaliveTime, prefix+"keepalive-time", "ping idle clients after this long")
	c.KeepaliveTimeout = config.Duration(20 * time.Second)
	fs.Var(&c.KeepaliveTimeout, prefix+"keepalive-timeout", "close connections whose ping is not answered within this")
}

// Validate reports every problem.
func (c ServerConfig) Validate() error {
	var p config.Problems
	if c.Addr == "" {
		p.Add("grpc addr: empty")
	}
	if c.MaxRecvMsgBytes < 0 || c.MaxSendMsgBytes < 0 {
		p.Add("grpc max message sizes: negative")
	}
	return p.Err()
}

// ServerDeps are the server's collaborators; all optional.
type ServerDeps struct {
	Logger   *slog.Logger          // nil: slog.Default()
	Registry prometheus.Registerer // nil: no RPC metrics
	Unary    []grpc.UnaryServerInterceptor
	Stream   []grpc.StreamServerInterceptor
	Options  []grpc.ServerOption
}

// Server is a gRPC server as a lifecycle.Component: Start listens, Run
// serves, Stop drains (GracefulStop) until the drain deadline, then stops hard.
type Server struct {
	cfg ServerConfig
	log *slog.Logger
	srv *grpc.Server
	ln  net.Listener
}

// NewServer builds the server. Register services on GRPC() before Start.
func NewServer(cfg ServerConfig, deps ServerDeps) *Server {
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	timeout := cfg.DefaultTimeout.D()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	recv, send := orDefault(cfg.MaxRecvMsgBytes, DefaultMaxMsgBytes), orDefault(cfg.MaxSendMsgBytes, DefaultMaxMsgBytes)
	kaTime, kaTimeout := cfg.KeepaliveTime.D(), cfg.KeepaliveTimeout.D()
	if kaTime <= 0 {
		kaTime = time.Minute
	}
	if kaTimeout <= 0 {
		kaTimeout = 20 * time.Second
	}
	m := newServerMetrics(deps.Registry)
	unary := []grpc.UnaryServerInterceptor{unaryLogging(log), m.unary(), unaryRecovery(), unaryDeadline(timeout)}
	stream := []grpc.StreamServerInterceptor{streamLogging(log), m.stream(), streamRecovery()}
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(append(unary, deps.Unary...)...),
		grpc.ChainStreamInterceptor(append(stream, deps.Stream...)...),
		grpc.MaxRecvMsgSize(recv),
		grpc.MaxSendMsgSize(send),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: kaTime, Timeout: kaTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	opts = append(opts, deps.Options...)
	return &Server{cfg: cfg, log: log, srv: grpc.NewServer(opts...)}
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// GRPC returns the server to register services on.
func (s *Server) GRPC() *grpc.Server { return s.srv }

// Addr returns the bound address after Start, else the configured one.
func (s *Server) Addr() string {
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// Name implements lifecycle.Component.
func (s *Server) Name() string { return "grpc" }

// Start listens on the configured address.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("grpc listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.log.Info("grpc listening", "addr", ln.Addr().String())
	return nil
}

// Run serves until Stop.
func (s *Server) Run(context.Context) error {
	// ErrServerStopped: Stop came before Serve started, a normal stop.
	if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("grpc serve: %w", err)
	}
	return nil
}

// Stop drains in-flight RPCs until ctx ends, then cancels the rest.
func (s *Server) Stop(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.srv.Stop()
		<-done
		return nil
	}
}
