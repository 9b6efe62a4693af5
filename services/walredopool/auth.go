package walredopool

import "github.com/stratadb/strata/libs/platform/auth"

// checkPermission is walredo-pool's permission check: every RPC (the gRPC
// health service aside, which needs no token) requires a `walredo` token.
// Management (`pageserverapi`) and tenant tokens are refused: redo is an
// internal capability of page-service and gc-compactor.
func checkPermission(c *auth.Claims, _ string, _ any) error {
	return c.Require(auth.ScopeWalredo)
}
