package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

const tenantA = "0123456789abcdef0123456789abcdef"
const tenantB = "fedcba9876543210fedcba9876543210"

var reqDesc = func() protoreflect.MessageDescriptor {
	s := func(v string) *string { return &v }
	n := int32(1)
	fd := &descriptorpb.FileDescriptorProto{
		Name: s("auth_test.proto"), Package: s("authtest"), Syntax: s("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: s("Req"), Field: []*descriptorpb.FieldDescriptorProto{{
			Name: s("tenant_id"), JsonName: s("tenantId"), Number: &n,
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
		}}}},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		panic(err)
	}
	return f.Messages().Get(0)
}()

func req(tenant string) *dynamicpb.Message {
	m := dynamicpb.NewMessage(reqDesc)
	if tenant != "" {
		m.Set(reqDesc.Fields().ByName("tenant_id"), protoreflect.ValueOfString(tenant))
	}
	return m
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mint(t testing.TB, k ed25519.PrivateKey, scope Scope, tenant string, ttl time.Duration) string {
	t.Helper()
	tok, err := Mint(k, scope, tenant, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawSign signs claims without Strata's validation (to build bad tokens).
func rawSign(t testing.TB, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pageCheck is page-service's rule: management needs pageserverapi, tenant
// APIs accept a matching tenant token or pageserverapi.
func pageCheck(c *Claims, method string, req any) error {
	return c.AllowTenant(RequestTenantID(req), ScopePageserverAPI)
}

func callUnary(a *Authenticator, token string, r any) (*Claims, error) {
	ctx := context.Background()
	if token != "" {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+token))
	}
	var got *Claims
	_, err := a.Unary()(ctx, r, &grpc.UnaryServerInfo{FullMethod: "/strata.test.v1.T/M"}, func(ctx context.Context, _ any) (any, error) {
		got, _ = ClaimsFromContext(ctx)
		return nil, nil
	})
	return got, err
}

func TestUnaryInterceptor(t *testing.T) {
	k1, k2, other := newKey(t), newKey(t), newKey(t)
	ks, err := NewKeySet(k1.Public().(ed25519.PublicKey), k2.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	a := NewWithKeys(ks, pageCheck)
	past := time.Now().Add(-time.Hour).Unix()
	tests := []struct {
		name   string
		token  string
		tenant string
		want   codes.Code
	}{
		{"a call without a token is unauthenticated", "", tenantA, codes.Unauthenticated},
		{"a malformed token is unauthenticated", "not.a.jwt", tenantA, codes.Unauthenticated},
		{"a token signed by an unknown key is unauthenticated", mint(t, other, ScopePageserverAPI, "", 0), "", codes.Unauthenticated},
		{"an expired token is unauthenticated", rawSign(t, jwt.SigningMethodEdDSA, k1, jwt.MapClaims{"scope": "pageserverapi", "exp": past}), "", codes.Unauthenticated},
		{"an HS256 token is unauthenticated", rawSign(t, jwt.SigningMethodHS256, []byte("k"), jwt.MapClaims{"scope": "pageserverapi"}), "", codes.Unauthenticated},
		{"an unsigned token is unauthenticated", rawSign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"scope": "pageserverapi"}), "", codes.Unauthenticated},
		{"a tenant token without tenant_id is rejected at decode", rawSign(t, jwt.SigningMethodEdDSA, k1, jwt.MapClaims{"scope": "tenant"}), tenantA, codes.Unauthenticated},
		{"an unknown scope is rejected at decode", rawSign(t, jwt.SigningMethodEdDSA, k1, jwt.MapClaims{"scope": "root"}), "", codes.Unauthenticated},
		{"a pageserverapi token may use the management api", mint(t, k1, ScopePageserverAPI, "", time.Hour), "", codes.OK},
		{"a token signed by the second key verifies (rotation)", mint(t, k2, ScopePageserverAPI, "", 0), tenantA, codes.OK},
		{"a tenant token may use its own tenant", mint(t, k1, ScopeTenant, tenantA, time.Hour), tenantA, codes.OK},
		{"a tenant token for another tenant is denied", mint(t, k1, ScopeTenant, tenantB, time.Hour), tenantA, codes.PermissionDenied},
		{"a tenant token may not use the management api", mint(t, k1, ScopeTenant, tenantA, time.Hour), "", codes.PermissionDenied},
		{"a walredo token is denied on page-service", mint(t, k1, ScopeWalredo, "", time.Hour), tenantA, codes.PermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := callUnary(a, tt.token, req(tt.tenant))
			if got := status.Code(err); got != tt.want {
				t.Fatalf("code = %v (%v), want %v", got, err, tt.want)
			}
			if tt.want == codes.OK && claims == nil {
				t.Fatal("handler got no claims")
			}
			if tt.token != "" && err != nil && strings.Contains(err.Error(), tt.token) {
				t.Fatalf("error contains the token: %v", err)
			}
		})
	}
}

func TestTrustModeAndPublicMethods(t *testing.T) {
	a, err := New(Config{Trust: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callUnary(a, "", req("")); err != nil {
		t.Fatalf("trust mode: %v", err)
	}
	k := newKey(t)
	ks, _ := NewKeySet(k.Public().(ed25519.PublicKey))
	b := NewWithKeys(ks, pageCheck)
	b.Public("/strata.test.v1.T/M")
	if _, err := callUnary(b, "", req("")); err != nil {
		t.Fatalf("public method: %v", err)
	}
	if _, err := New(Config{}, pageCheck); err == nil {
		t.Fatal("no keys and no trust accepted")
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	msgs []string
}

func (f *fakeStream) Context() context.Context { return f.ctx }
func (f *fakeStream) RecvMsg(m any) error {
	if len(f.msgs) == 0 {
		return fmt.Errorf("eof")
	}
	m.(*dynamicpb.Message).Set(reqDesc.Fields().ByName("tenant_id"), protoreflect.ValueOfString(f.msgs[0]))
	f.msgs = f.msgs[1:]
	return nil
}

func TestStreamChecksEveryMessage(t *testing.T) {
	k := newKey(t)
	ks, _ := NewKeySet(k.Public().(ed25519.PublicKey))
	a := NewWithKeys(ks, pageCheck)
	run := func(token string, msgs ...string) error {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
		return a.Stream()(nil, &fakeStream{ctx: ctx, msgs: msgs}, &grpc.StreamServerInfo{FullMethod: "/strata.test.v1.T/S"},
			func(_ any, ss grpc.ServerStream) error {
				for {
					if err := ss.RecvMsg(dynamicpb.NewMessage(reqDesc)); err != nil {
						return err
					}
				}
			})
	}
	tok := mint(t, k, ScopeTenant, tenantA, time.Hour)
	if err := run(tok, tenantA, tenantB); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("second message for another tenant: %v", err)
	}
	if err := run("garbage", tenantA); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("bad token: %v", err)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "priv.pem"), filepath.Join(dir, "pub.pem")
	if err := GenerateKeys(priv, pub); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi.Mode(), err)
	}
	k, err := LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	// A second key as a JWK: both files verify (rotation).
	k2 := newKey(t)
	jwkPath := filepath.Join(dir, "k2.jwk")
	x := base64.RawURLEncoding.EncodeToString(k2.Public().(ed25519.PublicKey))
	if err := os.WriteFile(jwkPath, []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"`+x+`"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeySet(pub, jwkPath)
	if err != nil || ks.Len() != 2 {
		t.Fatalf("LoadKeySet: %v", err)
	}
	for i, key := range []ed25519.PrivateKey{k, k2} {
		c, err := ks.Decode(mint(t, key, ScopeTenant, tenantA, time.Minute))
		if err != nil || c.TenantID != tenantA || c.Scope != ScopeTenant || c.ExpiresAt == nil || c.IssuedAt == nil {
			t.Fatalf("key %d: %+v %v", i, c, err)
		}
	}
	if _, err := Mint(k, ScopeTenant, "", 0); err == nil {
		t.Fatal("minted a tenant token without tenant_id")
	}
}

func TestTokenFromEnv(t *testing.T) {
	t.Setenv(TokenEnv(ScopeWalredo), " tok \n")
	if TokenEnv(ScopeWalredo) != "STRATA_WALREDO_TOKEN" || TokenFromEnv("STRATA_WALREDO_TOKEN").Reveal() != "tok" {
		t.Fatal("TokenFromEnv")
	}
}
