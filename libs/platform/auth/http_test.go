package auth

import (
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHTTPMiddleware(t *testing.T) {
	k, other := newKey(t), newKey(t)
	ks, _ := NewKeySet(k.Public().(ed25519.PublicKey))
	mw := NewWithKeys(ks, nil).HTTP(func(c *Claims, r *http.Request) error { return c.Require(ScopePageserverAPI) })
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := ClaimsFromContext(r.Context()); !ok {
			t.Error("no claims in handler")
		}
	}))
	tests := []struct {
		name, header string
		code         int
	}{
		{"no header is 401", "", 401},
		{"a token from another key is 401", "Bearer " + mint(t, other, ScopePageserverAPI, "", 0), 401},
		{"a wrong scope is 403", "Bearer " + mint(t, k, ScopeTenant, tenantA, time.Hour), 403},
		{"the right scope is 200", "Bearer " + mint(t, k, ScopePageserverAPI, "", time.Hour), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("PUT", "/v1/failpoints", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.code {
				t.Fatalf("code = %d %s", rec.Code, rec.Body)
			}
		})
	}
}
