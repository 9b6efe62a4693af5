package stackapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseIDAndLSNRejectBadInput(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"a 32-hex id is accepted", "0123456789abcdef0123456789abcdef", true},
		{"a short id is refused", "abc", false},
		{"a non-hex id is refused", "zz23456789abcdef0123456789abcdef", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseID("tenant", tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseID(%q) error = %v, want ok=%t", tt.in, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "invalid tenant id") {
				t.Errorf("error %q does not name the tenant id", err)
			}
		})
	}
	if _, err := ParseLSN("0/16B3748"); err != nil {
		t.Errorf("ParseLSN of a valid LSN: %v", err)
	}
	if _, err := ParseLSN("16B3748"); err == nil {
		t.Errorf("ParseLSN accepted an LSN without a slash")
	}
}

func TestClientSendsTheTokenAndReportsTheGatewaysErrorMessage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/tenant":
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(body["new_tenant_id"])
		case r.URL.Path == "/v1/tenant/0123456789abcdef0123456789abcdef/timeline":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"msg":"ancestor_start_lsn 1/0 is above the ancestor's last record 0/3000000"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`not json`))
		}
	}))
	defer srv.Close()
	c := &Client{GatewayURL: srv.URL, Token: "tok"}
	ctx := context.Background()
	id, err := c.CreateTenant(ctx, "0123456789abcdef0123456789abcdef")
	if err != nil || id != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("CreateTenant = %q, %v", id, err)
	}
	_, err = c.CreateTimeline(ctx, id, CreateTimeline{AncestorTimelineID: id, AncestorStartLSN: "1/0"})
	if StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "above the ancestor's last record") {
		t.Errorf("CreateTimeline error = %v, want HTTP 400 with the gateway's msg", err)
	}
	_, err = c.GetTimeline(ctx, id, id)
	if StatusOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "not json") {
		t.Errorf("GetTimeline error = %v, want HTTP 404 with the raw body", err)
	}
}
