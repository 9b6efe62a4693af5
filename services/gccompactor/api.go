package gccompactor

import (
	"context"

	gccompactorv1 "github.com/stratadb/strata/proto/gen/strata/gccompactor/v1"
)

// api implements gccompactorv1.GcCompactorServiceServer.
type api struct {
	gccompactorv1.UnimplementedGcCompactorServiceServer
	id string
}

// GetStatus reports this instance; it holds no tenant lease until GC and
// compaction land.
func (a *api) GetStatus(context.Context, *gccompactorv1.GetStatusRequest) (*gccompactorv1.GetStatusResponse, error) {
	return &gccompactorv1.GetStatusResponse{InstanceId: a.id, Tenants: []*gccompactorv1.TenantStatus{}}, nil
}

// GetTenantStatus reports one tenant's GC and compaction state.
func (a *api) GetTenantStatus(context.Context, *gccompactorv1.GetTenantStatusRequest) (*gccompactorv1.GetTenantStatusResponse, error) {
	return nil, toStatus(errNotImplemented("GetTenantStatus: GC and compaction are not implemented yet"))
}

// RunGc runs GC for a tenant now.
func (a *api) RunGc(context.Context, *gccompactorv1.RunGcRequest) (*gccompactorv1.RunGcResponse, error) {
	return nil, toStatus(errNotImplemented("RunGc: GC is not implemented yet"))
}

// RunCompaction runs compaction for a tenant now.
func (a *api) RunCompaction(context.Context, *gccompactorv1.RunCompactionRequest) (*gccompactorv1.RunCompactionResponse, error) {
	return nil, toStatus(errNotImplemented("RunCompaction: compaction is not implemented yet"))
}
