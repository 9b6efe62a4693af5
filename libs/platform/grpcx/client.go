package grpcx

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/logging"
)

// ClientConfig configures a client connection.
type ClientConfig struct {
	// Timeout is the deadline given to unary calls made without one (0: DefaultTimeout).
	Timeout         config.Duration `yaml:"timeout"`
	MaxRecvMsgBytes int             `yaml:"max_recv_msg_bytes"` // 0: DefaultMaxMsgBytes
	MaxSendMsgBytes int             `yaml:"max_send_msg_bytes"` // 0: DefaultMaxMsgBytes
	// Token, when set, is sent as "authorization: Bearer <token>" on every
	// call. Fill it from the environment (auth.TokenFromEnv), never from YAML.
	Token logging.Secret `yaml:"-"`
	// TLS, when set, secures the transport; nil means plaintext (loopback
	// and private networks).
	TLS *tls.Config `yaml:"-"`
}

// RegisterFlags registers -<prefix>timeout and message size limits.
func (c *ClientConfig) RegisterFlags(fs *flag.FlagSet, prefix string) {
	c.Timeout = config.Duration(DefaultTimeout)
	fs.Var(&c.Timeout, prefix+"timeout", "deadline for unary calls made without one")
	fs.IntVar(&c.MaxRecvMsgBytes, prefix+"max-recv-msg-bytes", DefaultMaxMsgBytes, "largest gRPC message received")
	fs.IntVar(&c.MaxSendMsgBytes, prefix+"max-send-msg-bytes", DefaultMaxMsgBytes, "largest gRPC message sent")
}

// Dial returns a client connection to target (host:port); it connects
// lazily, on the first call.
func Dial(target string, cfg ClientConfig, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	timeout := cfg.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(orDefault(cfg.MaxRecvMsgBytes, DefaultMaxMsgBytes)),
			grpc.MaxCallSendMsgSize(orDefault(cfg.MaxSendMsgBytes, DefaultMaxMsgBytes)),
		),
		grpc.WithChainUnaryInterceptor(clientDeadline(timeout)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}),
	}
	if !cfg.Token.IsZero() {
		opts = append(opts, grpc.WithPerRPCCredentials(Bearer(cfg.Token)))
	}
	conn, err := grpc.NewClient(target, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("grpc client %s: %w", target, err)
	}
	return conn, nil
}

func clientDeadline(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// Bearer returns per-RPC credentials sending "authorization: Bearer <token>".
// They are allowed over plaintext transports (see ClientConfig.TLS).
func Bearer(token logging.Secret) credentials.PerRPCCredentials { return bearer{token} }

type bearer struct{ token logging.Secret }

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token.Reveal()}, nil
}

func (b bearer) RequireTransportSecurity() bool { return false }
