package acceptance

import (
	"net/http"
	"testing"

	"github.com/stratadb/strata/tests/harness"
)

func TestNoTokenOrKeyAppearsInAnyLog(t *testing.T) {
	s := harness.Start(t, harness.Options{})
	// Exercise every auth outcome so that a service logging a token on
	// success or failure would be caught.
	tokens := []string{
		s.Token(t, "pageserverapi", ""),
		s.Token(t, "tenant", tenantA),
		s.Token(t, "walredo", ""),
		foreignToken(t),
		s.AdminToken,
	}
	for _, tok := range tokens {
		for _, path := range []string{"/v1/status", "/v1/tenant", "/v1/tenant/" + tenantA, "/v1/walredo/status", "/v1/tenant/" + tenantA + "/size"} {
			get(t, s.GatewayURL+path, tok)
		}
		do(t, http.MethodPut, s.GatewayURL+"/v1/failpoints", tok, `[]`)
	}
	s.Down(t)
	if found := harness.FindSecrets(s.Dir); len(found) > 0 {
		t.Errorf("secrets in logs:\n%v", found)
	}
}
