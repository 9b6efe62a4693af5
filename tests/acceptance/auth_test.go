package acceptance

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stratadb/strata/libs/platform/auth"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
	"github.com/stratadb/strata/tests/harness"
)

const tenantA = "0123456789abcdef0123456789abcdef"

// foreignToken is a pageserverapi token signed by a key the stack does not know.
func foreignToken(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	priv, pub := filepath.Join(dir, "priv.pem"), filepath.Join(dir, "pub.pem")
	if err := auth.GenerateKeys(priv, pub); err != nil {
		tb.Fatal(err)
	}
	key, err := auth.LoadPrivateKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := auth.Mint(key, auth.ScopePageserverAPI, "", time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	harness.RecordSecret(tok)
	return tok
}

// get sends GET url with an optional bearer token and returns the status and body.
func get(tb testing.TB, url, token string) (int, string) {
	tb.Helper()
	return do(tb, http.MethodGet, url, token, "")
}

func do(tb testing.TB, method, url, token, body string) (int, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGatewayAuthenticatesEveryRoute(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	admin := s.Token(t, "pageserverapi", "")
	tenant := s.Token(t, "tenant", tenantA)
	foreign := foreignToken(t)
	gw := s.GatewayURL

	tests := []struct {
		name  string
		path  string
		token string
		want  int
	}{
		{"status answers without a token", "/v1/status", "", http.StatusOK},
		{"tenant list without a token is 401", "/v1/tenant", "", http.StatusUnauthorized},
		{"tenant list with a tenant token is 403", "/v1/tenant", tenant, http.StatusForbidden},
		{"tenant list with a pageserverapi token is 200", "/v1/tenant", admin, http.StatusOK},
		{"a token signed by another key is 401", "/v1/tenant", foreign, http.StatusUnauthorized},
		{"a malformed token is 401", "/v1/tenant", "not-a-jwt", http.StatusUnauthorized},
		{"a tenant token for its own tenant reaches page-service (404: not attached)", "/v1/tenant/" + tenantA, tenant, http.StatusNotFound},
		{"a tenant token for another tenant is 403", "/v1/tenant/fedcba9876543210fedcba9876543210", tenant, http.StatusForbidden},
		{"walredo status refuses a pageserverapi token", "/v1/walredo/status", admin, http.StatusForbidden},
		{"upload-worker status refuses a pageserverapi token", "/v1/upload_worker/status", admin, http.StatusForbidden},
		{"gc-compactor status refuses a pageserverapi token", "/v1/gc_compactor/status", admin, http.StatusForbidden},
		{"size refuses a tenant token for another tenant", "/v1/tenant/fedcba9876543210fedcba9876543210/size", tenant, http.StatusForbidden},
		{"size with a pageserverapi token reaches size-calculator (501: not implemented yet)", "/v1/tenant/" + tenantA + "/size", admin, http.StatusNotImplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, gw+tt.path, tt.token)
			if code != tt.want {
				t.Errorf("GET %s = %d %s, want %d", tt.path, code, body, tt.want)
			}
		})
	}

	t.Run("the tenant list of a fresh node is empty", func(t *testing.T) {
		code, body := get(t, gw+"/v1/tenant", admin)
		if code != http.StatusOK || body != "[]" {
			t.Errorf("GET /v1/tenant = %d %q, want 200 []", code, body)
		}
	})
}

func TestServicesEnforceTheirOwnScopesOverGRPC(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	wr := s.Component(t, "walredo-pool")
	conn, err := grpc.NewClient(wr.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := walredov1.NewWalRedoServiceClient(conn)

	tests := []struct {
		name  string
		scope string
		want  codes.Code
	}{
		{"walredo-pool rejects a pageserverapi token with PermissionDenied", "pageserverapi", codes.PermissionDenied},
		{"walredo-pool rejects a gccompactor token with PermissionDenied", "gccompactor", codes.PermissionDenied},
		{"walredo-pool accepts a walredo token", "walredo", codes.OK},
		{"walredo-pool rejects a missing token with Unauthenticated", "", codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if tt.scope != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+s.Token(t, tt.scope, ""))
			}
			_, err := client.GetStatus(ctx, &walredov1.GetStatusRequest{})
			if got := status.Code(err); got != tt.want {
				t.Errorf("GetStatus: code %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}
