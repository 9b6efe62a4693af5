package auth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/health"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/logging"
)

type buf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *buf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *buf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestNoTokenInLogs runs a real gRPC server at debug level with auth on,
// calls it with good, foreign, expired-looking and garbage tokens, and
// checks that no token text reaches the logs.
func TestNoTokenInLogs(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	ks, _ := auth.NewKeySet(key.Public().(ed25519.PublicKey))
	authn := auth.NewWithKeys(ks, func(c *auth.Claims, method string, req any) error {
		return c.Require(auth.ScopeWalredo)
	})
	logs := &buf{}
	log, _ := logging.New(logs, logging.Config{Format: "json", Level: "debug"}, "test")
	srv := grpcx.NewServer(grpcx.ServerConfig{Addr: "127.0.0.1:0"}, grpcx.ServerDeps{
		Logger: log,
		Unary: []grpc.UnaryServerInterceptor{func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			// Route health checks through auth as if they were a private method.
			return authn.Unary()(ctx, req, &grpc.UnaryServerInfo{FullMethod: "/strata.walredo.v1.WalRedo/Apply"}, h)
		}},
	})
	health.New().Register(srv.GRPC())
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- lifecycle.Runner{Logger: log}.Run(ctx, srv, lifecycle.Funcs{ComponentName: "probe", StartFn: func(context.Context) error {
			close(started)
			return nil
		}})
	}()
	<-started
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}()

	good, _ := auth.Mint(key, auth.ScopeWalredo, "", time.Hour)
	wrongScope, _ := auth.Mint(key, auth.ScopePageserverAPI, "", time.Hour)
	foreign, _ := auth.Mint(otherKey, auth.ScopeWalredo, "", time.Hour)
	tests := []struct {
		name  string
		token string
		want  codes.Code
	}{
		{"a good token is accepted", good, codes.OK},
		{"a token with the wrong scope is denied", wrongScope, codes.PermissionDenied},
		{"a token from another key is unauthenticated", foreign, codes.Unauthenticated},
		{"garbage is unauthenticated", "garbage-token-text", codes.Unauthenticated},
		{"no token is unauthenticated", "", codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := grpcx.Dial(srv.Addr(), grpcx.ClientConfig{Token: logging.Secret(tt.token)})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
		})
	}
	out := logs.String()
	if !strings.Contains(out, "Unauthenticated") || !strings.Contains(out, "PermissionDenied") {
		t.Fatalf("expected RPC records in logs:\n%s", out)
	}
	for _, tok := range []string{good, wrongScope, foreign, "garbage-token-text"} {
		if strings.Contains(out, tok) || strings.Contains(out, tok[len(tok)-16:]) {
			t.Fatalf("token text in logs:\n%s", out)
		}
	}
}
