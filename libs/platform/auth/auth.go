// Package auth authenticates Strata's RPCs with JWTs signed by Ed25519 keys
// (alg EdDSA only) and lets each service decide permissions with its own
// CheckFunc.
//
// Decode rules: the signature must verify with one of the configured public
// keys (several keys = rotation); the algorithm must be EdDSA; exp is
// honoured when present; the scope must be known; a `tenant` token without
// tenant_id is rejected. A missing or invalid token is codes.Unauthenticated
// (HTTP 401 through the gateway); a CheckFunc refusal is
// codes.PermissionDenied (403). In trust mode (Config.Trust) nothing is
// checked and no claims are set.
//
// Usage (page-service):
//
//	check := func(c *auth.Claims, method string, req any) error {
//		if strings.HasPrefix(method, "/strata.pageservice.v1.Management/") && auth.RequestTenantID(req) == "" {
//			return c.Require(auth.ScopePageserverAPI)
//		}
//		return c.AllowTenant(auth.RequestTenantID(req), auth.ScopePageserverAPI)
//	}
//	authn, err := auth.New(cfg.Auth, check)
//	srv := grpcx.NewServer(cfg.GRPC, grpcx.ServerDeps{Unary: []grpc.UnaryServerInterceptor{authn.Unary()},
//		Stream: []grpc.StreamServerInterceptor{authn.Stream()}})
//
// Tokens (stratactl):
//
//	_ = auth.GenerateKeys(dir+"/auth_private_key.pem", dir+"/auth_public_key.pem")
//	key, _ := auth.LoadPrivateKey(dir + "/auth_private_key.pem")
//	tok, _ := auth.Mint(key, auth.ScopeTenant, tenantID, time.Hour)
//
// Service-to-service tokens come from the environment:
// auth.TokenFromEnv(auth.TokenEnv(auth.ScopeWalredo)) reads STRATA_WALREDO_TOKEN.
package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stratadb/strata/libs/platform/logging"
)

// Scope is what a token may do.
type Scope string

// Scopes. Each service accepts only the scopes its CheckFunc names.
const (
	// ScopePageserverAPI: page-service management API, size-calculator, operators.
	ScopePageserverAPI Scope = "pageserverapi"
	// ScopeTenant: one tenant's data (requires tenant_id).
	ScopeTenant Scope = "tenant"
	// ScopeWalredo: walredo-pool's API.
	ScopeWalredo Scope = "walredo"
	// ScopeUploadWorker: upload-worker's admin API and the page-service internal APIs it calls (ReadLayer).
	ScopeUploadWorker Scope = "uploadworker"
	// ScopeGCCompactor: gc-compactor's admin API and the page-service internal APIs it calls (ApplyLayerEdit).
	ScopeGCCompactor Scope = "gccompactor"
	// ScopeSizeCalculator: size-calculator's calls into page-service.
	ScopeSizeCalculator Scope = "sizecalculator"
)

// Scopes lists every known scope.
var Scopes = []Scope{ScopePageserverAPI, ScopeTenant, ScopeWalredo, ScopeUploadWorker, ScopeGCCompactor, ScopeSizeCalculator}

// ParseScope validates a scope name.
func ParseScope(s string) (Scope, error) {
	if slices.Contains(Scopes, Scope(s)) {
		return Scope(s), nil
	}
	return "", fmt.Errorf("unknown scope %q", s)
}

// Errors. Unauthenticated maps to codes.Unauthenticated, PermissionDenied to
// codes.PermissionDenied.
var (
	ErrUnauthenticated  = errors.New("unauthenticated")
	ErrPermissionDenied = errors.New("permission denied")
)

// Denied returns an error wrapping ErrPermissionDenied.
func Denied(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrPermissionDenied, fmt.Sprintf(format, args...))
}

// Claims of a Strata token: scope, tenant_id, and the registered claims
// (exp and iat are the ones Strata sets).
type Claims struct {
	Scope    Scope  `json:"scope"`
	TenantID string `json:"tenant_id,omitempty"`
	jwt.RegisteredClaims
}

// Validate is called by the JWT parser after the standard checks.
func (c *Claims) Validate() error {
	if _, err := ParseScope(string(c.Scope)); err != nil {
		return err
	}
	if c.Scope == ScopeTenant && c.TenantID == "" {
		return errors.New("tenant scope without tenant_id")
	}
	return nil
}

// Require allows the claims when their scope is one of scopes.
func (c *Claims) Require(scopes ...Scope) error {
	if c == nil {
		return Denied("no claims")
	}
	if slices.Contains(scopes, c.Scope) {
		return nil
	}
	return Denied("scope %q may not call this API", c.Scope)
}

// AllowTenant is the page-service style check for an API on tenantID: a
// tenant token must name that tenant (and a tenant token may not call an
// API without one); otherwise the scope must be one of scopes.
func (c *Claims) AllowTenant(tenantID string, scopes ...Scope) error {
	if c == nil {
		return Denied("no claims")
	}
	if c.Scope == ScopeTenant {
		if tenantID == "" {
			return Denied("tenant token may not access the management api")
		}
		if !strings.EqualFold(c.TenantID, tenantID) {
			return Denied("token is for another tenant")
		}
		return nil
	}
	return c.Require(scopes...)
}

// KeySet holds the public keys that may verify tokens. Immutable.
type KeySet struct{ keys []ed25519.PublicKey }

// NewKeySet returns a key set of the given keys (at least one).
func NewKeySet(keys ...ed25519.PublicKey) (*KeySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("auth: no public keys")
	}
	for i, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("auth: key %d: not an Ed25519 public key", i)
		}
	}
	return &KeySet{keys: slices.Clone(keys)}, nil
}

// LoadKeySet reads every public key in the files (PEM "PUBLIC KEY" blocks, a
// JWK or a JWK set; see ParsePublicKeys).
func LoadKeySet(paths ...string) (*KeySet, error) {
	var keys []ed25519.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("auth: read public key: %w", err)
		}
		ks, err := ParsePublicKeys(b)
		if err != nil {
			return nil, fmt.Errorf("auth: public key file %s: %w", p, err)
		}
		keys = append(keys, ks...)
	}
	return NewKeySet(keys...)
}

// Len returns the number of keys.
func (k *KeySet) Len() int { return len(k.keys) }

// Decode verifies token and returns its claims; every failure wraps
// ErrUnauthenticated and never includes the token text.
func (k *KeySet) Decode(token string) (*Claims, error) {
	if token == "" {
		return nil, fmt.Errorf("%w: missing token", ErrUnauthenticated)
	}
	vks := make([]jwt.VerificationKey, len(k.keys))
	for i, key := range k.keys {
		vks[i] = key
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) {
		return jwt.VerificationKeySet{Keys: vks}, nil
	}, jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}))
	if err != nil {
		return nil, fmt.Errorf("%w: invalid token: %s", ErrUnauthenticated, logging.RedactString(err.Error()))
	}
	return &c, nil
}
