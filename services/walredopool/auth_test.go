package walredopool

import (
	"errors"
	"testing"

	"github.com/stratadb/strata/libs/platform/auth"
)

func TestCheckPermissionAcceptsOnlyTheServiceScope(t *testing.T) {
	tests := []struct {
		name  string
		scope auth.Scope
		allow bool
	}{
		{"its own scope is allowed", "walredo", true},
		{"another service's scope is refused", "pageserverapi", false},
		{"a tenant token without a tenant in the request is refused", auth.ScopeTenant, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPermission(&auth.Claims{Scope: tt.scope, TenantID: "0123456789abcdef0123456789abcdef"}, "/m", nil)
			if tt.allow && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.allow && !errors.Is(err, auth.ErrPermissionDenied) {
				t.Errorf("err = %v, want permission denied", err)
			}
		})
	}
}
