package sizecalculator

import "github.com/stratadb/strata/libs/platform/auth"

// checkPermission is size-calculator's permission check: `pageserverapi`
// tokens, or `tenant` tokens whose tenant_id matches the request's (the
// gRPC health service needs none).
func checkPermission(c *auth.Claims, _ string, req any) error {
	return c.AllowTenant(auth.RequestTenantID(req), auth.ScopePageserverAPI)
}
