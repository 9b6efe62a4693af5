package pageservice

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/platform/failpoint"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/services/pageservice/internal/tenantmgr"
)

// management implements pagev1.ManagementServiceServer: status, tenants,
// timelines (root from a PostgreSQL source, branches, WAL sources) and
// failpoints. Attach/detach, config updates, GC and compaction answer
// Unimplemented until their issues land.
type management struct {
	pagev1.UnimplementedManagementServiceServer
	nodeID  uint64
	tenants *tenantmgr.Manager
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
	t, err := m.tenant(req.GetTenantId())
	if err != nil {
		return nil, toStatus(err)
	}
	info := tenantInfo(t)
	var phys uint64
	for _, tl := range t.Timelines() {
		phys += tl.PhysicalSize()
	}
	info.CurrentPhysicalSize = &phys
	return &pagev1.GetTenantResponse{Tenant: info}, nil
}

func (m *management) tenant(s string) (*tenantmgr.Tenant, error) {
	tid, err := parseTenantID(s)
	if err != nil {
		return nil, err
	}
	return m.tenants.Get(tid)
}

// timeline finds a timeline of an Active tenant (waiting for a loading one).
func (m *management) timeline(ctx context.Context, tenantID, timelineID string) (*tenantmgr.Tenant, *tenantmgr.Timeline, error) {
	tid, err := parseTenantID(tenantID)
	if err != nil {
		return nil, nil, err
	}
	tlid, err := parseTimelineID(timelineID)
	if err != nil {
		return nil, nil, err
	}
	t, err := m.tenants.Active(ctx, tid)
	if err != nil {
		return nil, nil, err
	}
	tl, err := t.Timeline(tlid)
	if err != nil {
		return nil, nil, err
	}
	return t, tl, nil
}

func (m *management) CreateTenant(ctx context.Context, req *pagev1.CreateTenantRequest) (*pagev1.CreateTenantResponse, error) {
	tid := id.Generate()
	if req.NewTenantId != nil {
		var err error
		if tid, err = parseTenantID(req.GetNewTenantId()); err != nil {
			return nil, toStatus(err)
		}
	}
	conf := &pagev1.TenantConfig{
		CheckpointDistance: req.CheckpointDistance, CheckpointTimeout: req.CheckpointTimeout,
		CompactionTargetSize: req.CompactionTargetSize, CompactionPeriod: req.CompactionPeriod,
		CompactionThreshold: req.CompactionThreshold, ImageCreationThreshold: req.ImageCreationThreshold,
		GcPeriod: req.GcPeriod, GcHorizon: req.GcHorizon, PitrInterval: req.PitrInterval,
		WalreceiverConnectTimeout: req.WalreceiverConnectTimeout, LaggingWalTimeout: req.LaggingWalTimeout,
		MaxLsnWalLag: req.MaxLsnWalLag, TraceReadRequests: req.TraceReadRequests,
	}
	if _, err := m.tenants.Create(ctx, tid, conf); err != nil {
		return nil, toStatus(err)
	}
	return &pagev1.CreateTenantResponse{TenantId: tid.String()}, nil
}

func (m *management) GetTenantConfig(_ context.Context, req *pagev1.GetTenantConfigRequest) (*pagev1.GetTenantConfigResponse, error) {
	t, err := m.tenant(req.GetTenantId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pagev1.GetTenantConfigResponse{TenantSpecificOverrides: t.Conf(), EffectiveConfig: tenantmgr.Effective(t.Conf())}, nil
}

func (m *management) UpdateTenantConfig(_ context.Context, req *pagev1.UpdateTenantConfigRequest) (*pagev1.UpdateTenantConfigResponse, error) {
	t, err := m.tenant(req.GetTenantId())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := t.SetConf(req.GetConfig()); err != nil {
		return nil, toStatus(err)
	}
	return &pagev1.UpdateTenantConfigResponse{}, nil
}

func (m *management) ListTimelines(ctx context.Context, req *pagev1.ListTimelinesRequest) (*pagev1.ListTimelinesResponse, error) {
	tid, err := parseTenantID(req.GetTenantId())
	if err != nil {
		return nil, toStatus(err)
	}
	t, err := m.tenants.Active(ctx, tid)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &pagev1.ListTimelinesResponse{Timelines: []*pagev1.TimelineInfo{}}
	for _, tl := range t.Timelines() {
		resp.Timelines = append(resp.Timelines, tl.Info())
	}
	return resp, nil
}

func (m *management) GetTimeline(ctx context.Context, req *pagev1.GetTimelineRequest) (*pagev1.GetTimelineResponse, error) {
	_, tl, err := m.timeline(ctx, req.GetTenantId(), req.GetTimelineId())
	if err != nil {
		return nil, toStatus(err)
	}
	info := tl.Info()
	if req.GetIncludeNonIncrementalPhysicalSize() {
		info.CurrentPhysicalSizeNonIncremental = info.CurrentPhysicalSize
	}
	if req.GetIncludeNonIncrementalLogicalSize() {
		n, err := tl.LogicalSize(ctx)
		if err != nil {
			return nil, toStatus(fmt.Errorf("logical size of %s: %w", tl.TL.ID(), err))
		}
		info.CurrentLogicalSizeNonIncremental = &n
	}
	return &pagev1.GetTimelineResponse{Timeline: info}, nil
}

func (m *management) CreateTimeline(ctx context.Context, req *pagev1.CreateTimelineRequest) (*pagev1.CreateTimelineResponse, error) {
	tid, err := parseTenantID(req.GetTenantId())
	if err != nil {
		return nil, toStatus(err)
	}
	tlid := id.Generate()
	if req.NewTimelineId != nil {
		if tlid, err = parseTimelineID(req.GetNewTimelineId()); err != nil {
			return nil, toStatus(err)
		}
	}
	if v := req.GetPgVersion(); v != 0 && v != 15 {
		return nil, toStatus(fmt.Errorf("pg_version %d: %w: only 15 is supported", v, ErrInvalidArgument))
	}
	t, err := m.tenants.Active(ctx, tid)
	if err != nil {
		return nil, toStatus(err)
	}
	src := req.GetSource()
	var tl *tenantmgr.Timeline
	if req.AncestorTimelineId != nil {
		if src.GetConnstr() != "" || src.GetBasebackupTarPath() != "" {
			return nil, toStatus(fmt.Errorf("%w: source must be absent for a branch (attach a WAL source with SetTimelineWalSource)", ErrInvalidArgument))
		}
		anc, err := parseTimelineID(req.GetAncestorTimelineId())
		if err != nil {
			return nil, toStatus(err)
		}
		at, err := parseOptLSN("ancestor_start_lsn", req.GetAncestorStartLsn())
		if err != nil {
			return nil, toStatus(err)
		}
		tl, err = t.CreateBranch(ctx, tlid, anc, at)
		if err != nil {
			return nil, toStatus(err)
		}
	} else {
		rs := tenantmgr.RootSource{ConnString: src.GetConnstr(), SlotName: src.GetSlotName(), TarPath: src.GetBasebackupTarPath()}
		if rs.TarLSN, err = parseOptLSN("basebackup_lsn", src.GetBasebackupLsn()); err != nil {
			return nil, toStatus(err)
		}
		if rs.TarEndLSN, err = parseOptLSN("basebackup_end_lsn", src.GetBasebackupEndLsn()); err != nil {
			return nil, toStatus(err)
		}
		tl, err = t.CreateRoot(ctx, tlid, rs)
		if err != nil {
			return nil, toStatus(err)
		}
	}
	return &pagev1.CreateTimelineResponse{Timeline: tl.Info()}, nil
}

func (m *management) SetTimelineWalSource(ctx context.Context, req *pagev1.SetTimelineWalSourceRequest) (*pagev1.SetTimelineWalSourceResponse, error) {
	t, tl, err := m.timeline(ctx, req.GetTenantId(), req.GetTimelineId())
	if err != nil {
		return nil, toStatus(err)
	}
	tl, err = t.SetWALSource(ctx, tl.TL.ID(), req.GetSource().GetConnstr(), req.GetSource().GetSlotName())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pagev1.SetTimelineWalSourceResponse{Timeline: tl.Info()}, nil
}

func (m *management) CheckpointTimeline(ctx context.Context, req *pagev1.CheckpointTimelineRequest) (*pagev1.CheckpointTimelineResponse, error) {
	_, tl, err := m.timeline(ctx, req.GetTenantId(), req.GetTimelineId())
	if err != nil {
		return nil, toStatus(err)
	}
	if err := tl.TL.FreezeAndFlush(ctx); err != nil {
		return nil, toStatus(fmt.Errorf("checkpoint timeline %s: %w", tl.TL.ID(), err))
	}
	return &pagev1.CheckpointTimelineResponse{}, nil
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

func (m *management) AttachTenant(context.Context, *pagev1.AttachTenantRequest) (*pagev1.AttachTenantResponse, error) {
	return nil, toStatus(errNotImplemented("AttachTenant: attach from object storage is not implemented yet"))
}

func parseTenantID(s string) (id.ID, error) {
	tid, err := id.Parse(s)
	if err != nil {
		return id.ID{}, fmt.Errorf("tenant_id %q: %w: %v", s, ErrInvalidArgument, err)
	}
	return tid, nil
}

func parseTimelineID(s string) (id.ID, error) {
	tlid, err := id.Parse(s)
	if err != nil {
		return id.ID{}, fmt.Errorf("timeline_id %q: %w: %v", s, ErrInvalidArgument, err)
	}
	return tlid, nil
}

// parseOptLSN parses an "X/Y" LSN; empty is Invalid.
func parseOptLSN(field, s string) (lsn.LSN, error) {
	if s == "" {
		return lsn.Invalid, nil
	}
	l, err := lsn.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w: %v", field, s, ErrInvalidArgument, err)
	}
	return l, nil
}

func tenantInfo(t *tenantmgr.Tenant) *pagev1.TenantInfo {
	state, reason := t.State()
	loading := state == "Loading" || state == "Attaching"
	info := &pagev1.TenantInfo{Id: t.ID().String(), State: state, HasInProgressDownloads: &loading}
	if reason != "" {
		info.BrokenReason = &reason
	}
	return info
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
