package uploadworker

import "github.com/stratadb/strata/libs/platform/auth"

// checkPermission is upload-worker's permission check: its admin API
// accepts only `uploadworker` tokens (the gRPC health service needs none).
func checkPermission(c *auth.Claims, _ string, _ any) error {
	return c.Require(auth.ScopeUploadWorker)
}
