package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stratadb/strata/libs/platform/logging"
)

// ParsePublicKeys parses Ed25519 public keys from PEM ("PUBLIC KEY" blocks,
// PKIX), a JWK ({"kty":"OKP","crv":"Ed25519","x":...}) or a JWK set
// ({"keys":[...]}).
func ParsePublicKeys(b []byte) ([]ed25519.PublicKey, error) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return parseJWKs(trimmed)
	}
	var keys []ed25519.PublicKey
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "PUBLIC KEY" {
			continue
		}
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		ed, ok := pub.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is %T, want Ed25519", pub)
		}
		keys = append(keys, ed)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM PUBLIC KEY block and not a JWK")
	}
	return keys, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
}

func parseJWKs(b []byte) ([]ed25519.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("parse JWK: %w", err)
	}
	if set.Keys == nil {
		var one jwk
		if err := json.Unmarshal(b, &one); err != nil {
			return nil, fmt.Errorf("parse JWK: %w", err)
		}
		set.Keys = []jwk{one}
	}
	var keys []ed25519.PublicKey
	for i, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" {
			return nil, fmt.Errorf("JWK %d: kty %q crv %q, want OKP Ed25519", i, k.Kty, k.Crv)
		}
		x, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("JWK %d: bad x", i)
		}
		keys = append(keys, ed25519.PublicKey(x))
	}
	return keys, nil
}

// GenerateKeys creates an Ed25519 key pair and writes the private key
// (PKCS#8 PEM, mode 0600) and the public key (PKIX PEM, mode 0644), each
// through a temporary file renamed into place.
func GenerateKeys(privatePath, publicPath string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("encode private key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encode public key: %w", err)
	}
	if err := writeFile(privatePath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return err
	}
	return writeFile(publicPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// LoadPrivateKey reads a PKCS#8 PEM Ed25519 private key.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("private key %s: no PEM PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	ed, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key %s is %T, want Ed25519", path, k)
	}
	return ed, nil
}

// Mint signs a token for scope (and tenantID, required for ScopeTenant)
// with iat now and, when ttl > 0, exp now+ttl.
func Mint(key ed25519.PrivateKey, scope Scope, tenantID string, ttl time.Duration) (string, error) {
	now := time.Now()
	c := Claims{Scope: scope, TenantID: tenantID}
	c.IssuedAt = jwt.NewNumericDate(now)
	if ttl > 0 {
		c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	}
	return MintClaims(key, c)
}

// MintClaims signs arbitrary claims after validating them.
func MintClaims(key ed25519.PrivateKey, c Claims) (string, error) {
	if err := c.Validate(); err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, &c).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return s, nil
}

// TokenEnv names the environment variable holding the token a service uses
// when it calls with scope: STRATA_<SCOPE>_TOKEN (e.g. STRATA_WALREDO_TOKEN).
func TokenEnv(scope Scope) string { return "STRATA_" + strings.ToUpper(string(scope)) + "_TOKEN" }

// TokenFromEnv reads a token from the environment variable name (empty when
// unset). Keep it out of config structs that get logged.
func TokenFromEnv(name string) logging.Secret {
	return logging.Secret(strings.TrimSpace(os.Getenv(name)))
}
