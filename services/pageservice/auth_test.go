package pageservice

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/stratadb/strata/libs/platform/auth"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

const tenantA = "0123456789abcdef0123456789abcdef"

func TestCheckPermission(t *testing.T) {
	claims := func(s auth.Scope, tenant string) *auth.Claims { return &auth.Claims{Scope: s, TenantID: tenant} }
	getTenant := &pagev1.GetTenantRequest{TenantId: tenantA}
	tests := []struct {
		name   string
		claims *auth.Claims
		method string
		req    any
		allow  bool
	}{
		{"pageserverapi lists tenants", claims(auth.ScopePageserverAPI, ""), pagev1.ManagementService_ListTenants_FullMethodName, &pagev1.ListTenantsRequest{}, true},
		{"a tenant token may not list tenants", claims(auth.ScopeTenant, tenantA), pagev1.ManagementService_ListTenants_FullMethodName, &pagev1.ListTenantsRequest{}, false},
		{"a tenant token reads its own tenant", claims(auth.ScopeTenant, tenantA), pagev1.ManagementService_GetTenant_FullMethodName, getTenant, true},
		{"a tenant token may not read another tenant", claims(auth.ScopeTenant, "fedcba9876543210fedcba9876543210"), pagev1.ManagementService_GetTenant_FullMethodName, getTenant, false},
		{"a tenant token reads pages of its tenant", claims(auth.ScopeTenant, tenantA), pagev1.PageService_GetPage_FullMethodName, &pagev1.GetPageRequest{TenantId: tenantA}, true},
		{"a walredo token may not use the management API", claims(auth.ScopeWalredo, ""), pagev1.ManagementService_GetTenant_FullMethodName, getTenant, false},
		{"upload-worker reads layers", claims(auth.ScopeUploadWorker, ""), pagev1.InternalService_ReadLayer_FullMethodName, &pagev1.ReadLayerRequest{}, true},
		{"pageserverapi may not read layers", claims(auth.ScopePageserverAPI, ""), pagev1.InternalService_ReadLayer_FullMethodName, &pagev1.ReadLayerRequest{}, false},
		{"gc-compactor applies layer edits", claims(auth.ScopeGCCompactor, ""), pagev1.InternalService_ApplyLayerEdit_FullMethodName, &pagev1.ApplyLayerEditRequest{}, true},
		{"upload-worker may not apply layer edits", claims(auth.ScopeUploadWorker, ""), pagev1.InternalService_ApplyLayerEdit_FullMethodName, &pagev1.ApplyLayerEditRequest{}, false},
		{"size-calculator reads logical sizes", claims(auth.ScopeSizeCalculator, ""), pagev1.InternalService_GetLogicalSize_FullMethodName, &pagev1.GetLogicalSizeRequest{}, true},
		{"a tenant token branches its own tenant", claims(auth.ScopeTenant, tenantA), pagev1.ManagementService_CreateTimeline_FullMethodName,
			&pagev1.CreateTimelineRequest{TenantId: tenantA, AncestorTimelineId: proto.String(tenantA)}, true},
		{"a tenant token may not import from a server of its choice", claims(auth.ScopeTenant, tenantA), pagev1.ManagementService_CreateTimeline_FullMethodName,
			&pagev1.CreateTimelineRequest{TenantId: tenantA, Source: &pagev1.TimelineSource{Connstr: "host=10.0.0.1"}}, false},
		{"a tenant token may not set a WAL source", claims(auth.ScopeTenant, tenantA), pagev1.ManagementService_SetTimelineWalSource_FullMethodName,
			&pagev1.SetTimelineWalSourceRequest{TenantId: tenantA}, false},
		{"pageserverapi imports from a server", claims(auth.ScopePageserverAPI, ""), pagev1.ManagementService_CreateTimeline_FullMethodName,
			&pagev1.CreateTimelineRequest{TenantId: tenantA, Source: &pagev1.TimelineSource{Connstr: "host=127.0.0.1"}}, true},
		{"an unknown method is refused", claims(auth.ScopePageserverAPI, ""), "/other.Service/Method", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPermission(tt.claims, tt.method, tt.req)
			if tt.allow && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tt.allow && !errors.Is(err, auth.ErrPermissionDenied) {
				t.Errorf("err = %v, want permission denied", err)
			}
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	var c Config
	err := c.Validate()
	if err == nil {
		t.Fatal("empty config validated")
	}
	for _, want := range []string{"node_id", "admin.addr", "redis.addr", "walredo_pool.addr", "grpc addr", "public_key_files"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, missing %q", err, want)
		}
	}
}
