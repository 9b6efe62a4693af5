package auth

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Config of a service's authentication.
type Config struct {
	// Trust disables authentication (no token needed, no checks).
	Trust bool `yaml:"trust"`
	// PublicKeyFiles verify tokens; any of them may (rotation).
	PublicKeyFiles []string `yaml:"public_key_files"`
}

// RegisterFlags registers -auth.trust and -auth.public-key-files.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.BoolVar(&c.Trust, "auth.trust", false, "disable authentication (trust mode)")
	fs.Func("auth.public-key-files", "comma-separated Ed25519 public key files (PEM or JWK) that verify tokens", func(s string) error {
		c.PublicKeyFiles = nil
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.PublicKeyFiles = append(c.PublicKeyFiles, p)
			}
		}
		return nil
	})
}

// Validate reports every problem.
func (c Config) Validate() error {
	if !c.Trust && len(c.PublicKeyFiles) == 0 {
		return errors.New("auth: public_key_files is required unless trust is set")
	}
	return nil
}

// CheckFunc decides whether claims may call method with req. For streams it
// is called for every received message. Return Denied(...) (or any error)
// to refuse with codes.PermissionDenied; return a gRPC status error to
// choose another code.
type CheckFunc func(claims *Claims, method string, req any) error

// Authenticator holds a service's keys and permission check.
type Authenticator struct {
	keys   *KeySet // nil in trust mode
	check  CheckFunc
	public map[string]bool
}

// DefaultPublicMethods need no token: the gRPC health service.
var DefaultPublicMethods = []string{"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch", "/grpc.health.v1.Health/List"}

// New loads the keys (unless trust) and returns the authenticator.
func New(cfg Config, check CheckFunc) (*Authenticator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Authenticator{check: check, public: make(map[string]bool)}
	for _, m := range DefaultPublicMethods {
		a.public[m] = true
	}
	if cfg.Trust {
		return a, nil
	}
	ks, err := LoadKeySet(cfg.PublicKeyFiles...)
	if err != nil {
		return nil, err
	}
	a.keys = ks
	return a, nil
}

// NewWithKeys is New with keys in hand (nil keys: trust mode).
func NewWithKeys(keys *KeySet, check CheckFunc) *Authenticator {
	a := &Authenticator{keys: keys, check: check, public: make(map[string]bool)}
	for _, m := range DefaultPublicMethods {
		a.public[m] = true
	}
	return a
}

// Public marks full method names ("/pkg.Service/Method") that need no
// token (e.g. a status endpoint). Call before serving.
func (a *Authenticator) Public(methods ...string) {
	for _, m := range methods {
		a.public[m] = true
	}
}

// Trust reports whether authentication is disabled.
func (a *Authenticator) Trust() bool { return a.keys == nil }

// TokenFromMetadata returns the bearer token of the incoming call, or "".
func TokenFromMetadata(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	return ""
}

// Authenticate decodes the call's token: codes.Unauthenticated when missing
// or invalid.
func (a *Authenticator) Authenticate(ctx context.Context) (*Claims, error) {
	tok := TokenFromMetadata(ctx)
	if tok == "" {
		return nil, status.Error(codes.Unauthenticated, "missing authorization header")
	}
	c, err := a.keys.Decode(tok)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	return c, nil
}

func (a *Authenticator) authorize(c *Claims, method string, req any) error {
	if a.check == nil {
		return status.Error(codes.PermissionDenied, "no permission check configured")
	}
	err := a.check(c, method, req)
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return err
	}
	return status.Error(codes.PermissionDenied, err.Error())
}

type claimsKey struct{}

// WithClaims returns ctx carrying c.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFromContext returns the caller's claims (false in trust mode or on
// public methods).
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Unary returns the unary server interceptor.
func (a *Authenticator) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if a.Trust() || a.public[info.FullMethod] {
			return handler(ctx, req)
		}
		c, err := a.Authenticate(ctx)
		if err != nil {
			return nil, err
		}
		if err := a.authorize(c, info.FullMethod, req); err != nil {
			return nil, err
		}
		return handler(WithClaims(ctx, c), req)
	}
}

// Stream returns the stream server interceptor: the token is checked when
// the stream opens, the permission on every received message.
func (a *Authenticator) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if a.Trust() || a.public[info.FullMethod] {
			return handler(srv, ss)
		}
		c, err := a.Authenticate(ss.Context())
		if err != nil {
			return err
		}
		return handler(srv, &checkedStream{ServerStream: ss, a: a, c: c, method: info.FullMethod})
	}
}

type checkedStream struct {
	grpc.ServerStream
	a      *Authenticator
	c      *Claims
	method string
}

// Context derives from the wrapped stream's current context each time, so
// that values added by outer interceptors after the first message (the
// logger with tenant_id) stay visible.
func (s *checkedStream) Context() context.Context { return WithClaims(s.ServerStream.Context(), s.c) }

func (s *checkedStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.a.authorize(s.c, s.method, m)
}

// RequestTenantID returns the request's tenant_id field (a string, or bytes
// as lower-case hex), or "" when it has none.
func RequestTenantID(req any) string {
	m, ok := req.(proto.Message)
	if !ok || m == nil {
		return ""
	}
	r := m.ProtoReflect()
	if !r.IsValid() {
		return ""
	}
	fd := r.Descriptor().Fields().ByName("tenant_id")
	if fd == nil || fd.IsList() || fd.IsMap() {
		return ""
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return r.Get(fd).String()
	case protoreflect.BytesKind:
		return hex.EncodeToString(r.Get(fd).Bytes())
	}
	return ""
}
