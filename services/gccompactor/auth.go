package gccompactor

import "github.com/stratadb/strata/libs/platform/auth"

// checkPermission is gc-compactor's permission check: its admin API accepts
// only `gccompactor` tokens (the gRPC health service needs none).
func checkPermission(c *auth.Claims, _ string, _ any) error {
	return c.Require(auth.ScopeGCCompactor)
}
