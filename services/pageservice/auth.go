package pageservice

import (
	"strings"

	"github.com/stratadb/strata/libs/platform/auth"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// Permission rules of page-service (ARCHITECTURE.md §7):
//
//	GetStatus                               no token (like Neon's /v1/status)
//	management RPCs without a tenant_id     pageserverapi
//	management and page RPCs on tenant T    pageserverapi, or tenant with tenant_id T
//	pointing a timeline at a data source    pageserverapi only: CreateTimeline with a
//	                                        source, SetTimelineWalSource (page-service
//	                                        would connect to a server or read a local
//	                                        path the caller chose)
//	internal RPCs                           only the calling service's scope (internalScopes)
//	anything else                           refused
var (
	publicMethods = []string{pagev1.ManagementService_GetStatus_FullMethodName}

	internalScopes = map[string][]auth.Scope{
		pagev1.InternalService_ReadLayer_FullMethodName:      {auth.ScopeUploadWorker},
		pagev1.InternalService_ListLayers_FullMethodName:     {auth.ScopeGCCompactor},
		pagev1.InternalService_ApplyLayerEdit_FullMethodName: {auth.ScopeGCCompactor},
		pagev1.InternalService_GetGcInfo_FullMethodName:      {auth.ScopeGCCompactor, auth.ScopeSizeCalculator},
		pagev1.InternalService_GetLogicalSize_FullMethodName: {auth.ScopeSizeCalculator},
	}
)

var (
	managementPrefix = "/" + pagev1.ManagementService_ServiceDesc.ServiceName + "/"
	pagePrefix       = "/" + pagev1.PageService_ServiceDesc.ServiceName + "/"
)

// checkPermission is page-service's auth.CheckFunc. For streams it runs on
// every received message, so each GetPages request is checked for its tenant.
func checkPermission(c *auth.Claims, method string, req any) error {
	if scopes, ok := internalScopes[method]; ok {
		return c.Require(scopes...)
	}
	if choosesDataSource(method, req) {
		return c.Require(auth.ScopePageserverAPI)
	}
	if strings.HasPrefix(method, managementPrefix) || strings.HasPrefix(method, pagePrefix) {
		// Without a tenant_id AllowTenant refuses tenant tokens ("may not
		// access the management api") and requires pageserverapi.
		return c.AllowTenant(auth.RequestTenantID(req), auth.ScopePageserverAPI)
	}
	return auth.Denied("method %s is not served to tokens", method)
}

// choosesDataSource reports whether a request makes page-service connect to a
// PostgreSQL server or read a file the caller names: operators only.
func choosesDataSource(method string, req any) bool {
	switch method {
	case pagev1.ManagementService_SetTimelineWalSource_FullMethodName:
		return true
	case pagev1.ManagementService_CreateTimeline_FullMethodName:
		r, ok := req.(*pagev1.CreateTimelineRequest)
		return !ok || r.GetSource() != nil
	}
	return false
}
