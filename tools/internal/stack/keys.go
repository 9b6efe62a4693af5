package stack

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/stratadb/strata/libs/platform/auth"
)

// Token scopes the stack mints (platform auth owns their meaning).
const (
	scopePageServerAPI  = auth.ScopePageserverAPI
	scopeWalredo        = auth.ScopeWalredo
	scopeUploadWorker   = auth.ScopeUploadWorker
	scopeGCCompactor    = auth.ScopeGCCompactor
	scopeSizeCalculator = auth.ScopeSizeCalculator
)

// keyRing is the stack's signing key.
type keyRing struct{ key ed25519.PrivateKey }

// newKeyRing generates a fresh Ed25519 key pair into the layout's keys dir.
func newKeyRing(l Layout) (*keyRing, error) {
	if err := auth.GenerateKeys(l.PrivateKey(), l.PublicKey()); err != nil {
		return nil, fmt.Errorf("generate auth keys: %w", err)
	}
	key, err := auth.LoadPrivateKey(l.PrivateKey())
	if err != nil {
		return nil, err
	}
	return &keyRing{key: key}, nil
}

// mint signs a token without expiry (the stack's own long-lived tokens).
func (k *keyRing) mint(scope auth.Scope, tenant string) (string, error) {
	return auth.Mint(k.key, scope, tenant, 0)
}

// MintToken signs a token with the key of the stack in dir. ttl 0 means no
// exp claim.
func MintToken(dir, scope, tenant string, ttl time.Duration) (string, error) {
	st, err := LoadState(dir)
	if err != nil {
		return "", err
	}
	s, err := auth.ParseScope(scope)
	if err != nil {
		return "", err
	}
	if s == auth.ScopeTenant && tenant == "" {
		return "", fmt.Errorf("scope tenant needs --tenant")
	}
	key, err := auth.LoadPrivateKey(st.Keys.PrivateKey)
	if err != nil {
		return "", err
	}
	return auth.Mint(key, s, tenant, ttl)
}
