package pageservice

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/platform/failpoint"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/services/pageservice/internal/tenant"
)

// management implements pagev1.ManagementServiceServer. Status, the tenant
// list, tenant lookup and failpoints work; the rest answer Unimplemented
// until their issues land.
type management struct {
	pagev1.UnimplementedManagementServiceServer
	nodeID  uint64
	tenants *tenant.Registry
}

// FailpointGetStatus fails GetStatus while set (failpoints build): the
// simplest way to see a runtime failpoint change from outside.
const FailpointGetStatus = "page-service-get-status"

func (m *management) GetStatus(context.Context, *pagev1.GetStatusRequest) (*pagev1.GetStatusResponse, error) {
	if v, ok := failpoint.Eval(FailpointGetStatus); ok {
		return nil, toStatus(fmt.Errorf("failpoint %s: %v: %w", FailpointGetStatus, v, ErrFailpoint))
	}
	return &pagev1.GetStatusResponse{Id: m.nodeID}, nil
}

func (m *management) ListTenants(context.Context, *pagev1.ListTenantsRequest) (*pagev1.ListTenantsResponse, error) {
	resp := &pagev1.ListTenantsResponse{Tenants: []*pagev1.TenantInfo{}}
	for _, t := range m.tenants.List() {
		resp.Tenants = append(resp.Tenants, tenantInfo(t))
	}
	return resp, nil
}

func (m *management) GetTenant(_ context.Context, req *pagev1.GetTenantRequest) (*pagev1.GetTenantResponse, error) {
	tid, err := parseTenantID(req.GetTenantId())
	if err != nil {
		return nil, toStatus(err)
	}
	t, ok := m.tenants.Get(tid)
	if !ok {
		return nil, toStatus(fmt.Errorf("tenant %s: %w", tid, ErrTenantNotFound))
	}
	return &pagev1.GetTenantResponse{Tenant: tenantInfo(t)}, nil
}

func (m *management) ConfigureFailpoints(_ context.Context, req *pagev1.ConfigureFailpointsRequest) (*pagev1.ConfigureFailpointsResponse, error) {
	cs := make([]failpoint.Config, 0, len(req.GetFailpoints()))
	for _, f := range req.GetFailpoints() {
		cs = append(cs, failpoint.Config{Name: f.GetName(), Actions: f.GetActions()})
	}
	if err := failpoint.Configure(cs); err != nil {
		return nil, toStatus(fmt.Errorf("configure failpoints: %w", err))
	}
	return &pagev1.ConfigureFailpointsResponse{}, nil
}

func (m *management) CreateTenant(context.Context, *pagev1.CreateTenantRequest) (*pagev1.CreateTenantResponse, error) {
	return nil, toStatus(errNotImplemented("CreateTenant: tenant management is not implemented yet"))
}

func (m *management) AttachTenant(context.Context, *pagev1.AttachTenantRequest) (*pagev1.AttachTenantResponse, error) {
	return nil, toStatus(errNotImplemented("AttachTenant: attach from object storage is not implemented yet"))
}

func (m *management) CreateTimeline(context.Context, *pagev1.CreateTimelineRequest) (*pagev1.CreateTimelineResponse, error) {
	return nil, toStatus(errNotImplemented("CreateTimeline: timelines are not implemented yet"))
}

func parseTenantID(s string) (id.ID, error) {
	tid, err := id.Parse(s)
	if err != nil {
		return id.ID{}, fmt.Errorf("tenant_id %q: %w: %v", s, ErrInvalidArgument, err)
	}
	return tid, nil
}

func tenantInfo(t tenant.Info) *pagev1.TenantInfo {
	info := &pagev1.TenantInfo{Id: t.ID.String(), State: string(t.State), Generation: t.Generation}
	if t.BrokenReason != "" {
		info.BrokenReason = &t.BrokenReason
	}
	return info
}

// pages implements pagev1.PageServiceServer: the read path is not
// implemented yet, every RPC says so.
type pages struct {
	pagev1.UnimplementedPageServiceServer
}

const readPathMissing = ": the page read path is not implemented yet"

func (pages) GetPages(grpc.BidiStreamingServer[pagev1.GetPagesRequest, pagev1.GetPagesResponse]) error {
	return toStatus(errNotImplemented("GetPages" + readPathMissing))
}

func (pages) GetPage(context.Context, *pagev1.GetPageRequest) (*pagev1.GetPageResponse, error) {
	return nil, toStatus(errNotImplemented("GetPage" + readPathMissing))
}

func (pages) GetRelSize(context.Context, *pagev1.GetRelSizeRequest) (*pagev1.GetRelSizeResponse, error) {
	return nil, toStatus(errNotImplemented("GetRelSize" + readPathMissing))
}

func (pages) CheckRelExists(context.Context, *pagev1.CheckRelExistsRequest) (*pagev1.CheckRelExistsResponse, error) {
	return nil, toStatus(errNotImplemented("CheckRelExists" + readPathMissing))
}

func (pages) GetDbSize(context.Context, *pagev1.GetDbSizeRequest) (*pagev1.GetDbSizeResponse, error) {
	return nil, toStatus(errNotImplemented("GetDbSize" + readPathMissing))
}

func (pages) GetSlruSegment(context.Context, *pagev1.GetSlruSegmentRequest) (*pagev1.GetSlruSegmentResponse, error) {
	return nil, toStatus(errNotImplemented("GetSlruSegment" + readPathMissing))
}

func (pages) GetBaseBackup(*pagev1.GetBaseBackupRequest, grpc.ServerStreamingServer[pagev1.GetBaseBackupResponse]) error {
	return toStatus(errNotImplemented("GetBaseBackup: basebackup is not implemented yet"))
}

// internalAPI implements pagev1.InternalServiceServer for upload-worker,
// gc-compactor and size-calculator; nothing is implemented yet.
type internalAPI struct {
	pagev1.UnimplementedInternalServiceServer
}

func (internalAPI) ReadLayer(*pagev1.ReadLayerRequest, grpc.ServerStreamingServer[pagev1.ReadLayerResponse]) error {
	return toStatus(errNotImplemented("ReadLayer: layer files are not implemented yet"))
}

func (internalAPI) ListLayers(context.Context, *pagev1.ListLayersRequest) (*pagev1.ListLayersResponse, error) {
	return nil, toStatus(errNotImplemented("ListLayers: the layer map is not implemented yet"))
}

func (internalAPI) ApplyLayerEdit(context.Context, *pagev1.ApplyLayerEditRequest) (*pagev1.ApplyLayerEditResponse, error) {
	return nil, toStatus(errNotImplemented("ApplyLayerEdit: layer map edits are not implemented yet"))
}

func (internalAPI) GetGcInfo(context.Context, *pagev1.GetGcInfoRequest) (*pagev1.GetGcInfoResponse, error) {
	return nil, toStatus(errNotImplemented("GetGcInfo: GC inputs are not implemented yet"))
}

func (internalAPI) GetLogicalSize(context.Context, *pagev1.GetLogicalSizeRequest) (*pagev1.GetLogicalSizeResponse, error) {
	return nil, toStatus(errNotImplemented("GetLogicalSize: logical sizes are not implemented yet"))
}
