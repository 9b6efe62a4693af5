package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	gccompactorv1 "github.com/stratadb/strata/proto/gen/strata/gccompactor/v1"
	pageservicev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	sizecalculatorv1 "github.com/stratadb/strata/proto/gen/strata/sizecalculator/v1"
	uploadworkerv1 "github.com/stratadb/strata/proto/gen/strata/uploadworker/v1"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
)

const (
	tenantA   = "0123456789abcdef0123456789abcdef"
	timelineA = "fedcba9876543210fedcba9876543210"
	// slowTimeline's GetTimeline never answers before the deadline.
	slowTimeline = "51015101510151015101510151015101"
)

// fakeManagement is an in-process ManagementService: GetTenant answers with the error
// whose code name is the tenant id ("NotFound" → codes.NotFound), and every call records
// the authorization metadata it saw.
type fakeManagement struct {
	pageservicev1.UnimplementedManagementServiceServer

	mu   sync.Mutex
	auth []string
}

func (f *fakeManagement) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, strings.Join(md.Get("authorization"), ","))
}

func (f *fakeManagement) seenAuth() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

func (f *fakeManagement) GetStatus(ctx context.Context, _ *pageservicev1.GetStatusRequest) (*pageservicev1.GetStatusResponse, error) {
	f.record(ctx)
	return &pageservicev1.GetStatusResponse{Id: 7}, nil
}

func (f *fakeManagement) ListTenants(ctx context.Context, _ *pageservicev1.ListTenantsRequest) (*pageservicev1.ListTenantsResponse, error) {
	f.record(ctx)
	return &pageservicev1.ListTenantsResponse{Tenants: []*pageservicev1.TenantInfo{{Id: tenantA, State: "Active"}}}, nil
}

func (f *fakeManagement) GetTenant(ctx context.Context, req *pageservicev1.GetTenantRequest) (*pageservicev1.GetTenantResponse, error) {
	f.record(ctx)
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if c != codes.OK && c.String() == req.GetTenantId() {
			return nil, status.Errorf(c, "tenant %s: failed with %s", req.GetTenantId(), c)
		}
	}
	return &pageservicev1.GetTenantResponse{Tenant: &pageservicev1.TenantInfo{
		Id: req.GetTenantId(), State: "Active", CurrentPhysicalSize: proto.Uint64(8192),
	}}, nil
}

func (f *fakeManagement) CreateTenant(ctx context.Context, req *pageservicev1.CreateTenantRequest) (*pageservicev1.CreateTenantResponse, error) {
	f.record(ctx)
	if req.GetNewTenantId() == tenantA {
		return nil, status.Error(codes.AlreadyExists, "tenant already exists")
	}
	return &pageservicev1.CreateTenantResponse{TenantId: req.GetNewTenantId()}, nil
}

func (f *fakeManagement) CreateTimeline(ctx context.Context, req *pageservicev1.CreateTimelineRequest) (*pageservicev1.CreateTimelineResponse, error) {
	f.record(ctx)
	return &pageservicev1.CreateTimelineResponse{Timeline: &pageservicev1.TimelineInfo{
		TenantId: req.GetTenantId(), TimelineId: req.GetNewTimelineId(), LastRecordLsn: "0/16B9188", State: "Active", PgVersion: 15,
	}}, nil
}

// GetTimeline of slowTimeline blocks until the call's deadline passes (for the request
// timeout test); other timelines are Unimplemented.
func (f *fakeManagement) GetTimeline(ctx context.Context, req *pageservicev1.GetTimelineRequest) (*pageservicev1.GetTimelineResponse, error) {
	f.record(ctx)
	if req.GetTimelineId() != slowTimeline {
		return nil, status.Error(codes.Unimplemented, "not implemented by the fake")
	}
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

func (f *fakeManagement) AttachTenant(ctx context.Context, _ *pageservicev1.AttachTenantRequest) (*pageservicev1.AttachTenantResponse, error) {
	f.record(ctx)
	return &pageservicev1.AttachTenantResponse{}, nil
}

func (f *fakeManagement) ConfigureFailpoints(ctx context.Context, req *pageservicev1.ConfigureFailpointsRequest) (*pageservicev1.ConfigureFailpointsResponse, error) {
	f.record(ctx)
	if len(req.GetFailpoints()) != 1 || req.GetFailpoints()[0].GetName() != "fp" || req.GetFailpoints()[0].GetActions() != "return(1)" {
		return nil, status.Errorf(codes.InvalidArgument, "unexpected failpoints %v", req.GetFailpoints())
	}
	return &pageservicev1.ConfigureFailpointsResponse{}, nil
}

// fakeUpstream is one gRPC server serving every Strata service: ManagementService through
// fakeManagement, the rest Unimplemented.
type fakeUpstream struct {
	addr string
	mgmt *fakeManagement
}

func startFakeUpstream(tb testing.TB) *fakeUpstream {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer()
	f := &fakeUpstream{addr: ln.Addr().String(), mgmt: &fakeManagement{}}
	pageservicev1.RegisterManagementServiceServer(srv, f.mgmt)
	pageservicev1.RegisterPageServiceServer(srv, pageservicev1.UnimplementedPageServiceServer{})
	walredov1.RegisterWalRedoServiceServer(srv, walredov1.UnimplementedWalRedoServiceServer{})
	uploadworkerv1.RegisterUploadWorkerServiceServer(srv, uploadworkerv1.UnimplementedUploadWorkerServiceServer{})
	gccompactorv1.RegisterGcCompactorServiceServer(srv, gccompactorv1.UnimplementedGcCompactorServiceServer{})
	sizecalculatorv1.RegisterSizeCalculatorServiceServer(srv, sizecalculatorv1.UnimplementedSizeCalculatorServiceServer{})
	go func() { _ = srv.Serve(ln) }() // returns when Stop closes the listener
	tb.Cleanup(srv.Stop)
	return f
}

// testConfig returns a valid config pointing every upstream at addr.
func testConfig(tb testing.TB, addr string) Config {
	tb.Helper()
	var cfg Config
	cfg.RegisterFlags(newFlagSet())
	cfg.ListenAddr = "127.0.0.1:0"
	cfg.Upstreams = Upstreams{PageService: addr, WalredoPool: addr, UploadWorker: addr, GcCompactor: addr, SizeCalculator: addr}
	return cfg
}

// newTestGateway starts a gateway in front of a fake upstream and returns its base URL.
func newTestGateway(tb testing.TB) (string, *fakeUpstream) {
	tb.Helper()
	up := startFakeUpstream(tb)
	gw, err := New(testConfig(tb, up.addr), Deps{})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(gw.Handler())
	tb.Cleanup(func() {
		srv.Close()
		gw.closeConns()
	})
	return srv.URL, up
}

type response struct {
	code int
	body string
}

func do(tb testing.TB, method, url, body string, header http.Header) response {
	tb.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read body: %v", err)
	}
	return response{code: resp.StatusCode, body: string(b)}
}

// decodeMsg checks that body is exactly {"msg": <string>} and returns the string.
func decodeMsg(tb testing.TB, body string) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		tb.Fatalf("error body %q is not JSON: %v", body, err)
	}
	msg, ok := m["msg"].(string)
	if len(m) != 1 || !ok {
		tb.Fatalf("error body %q is not exactly {\"msg\": string}", body)
	}
	return msg
}

func TestStatusMapping(t *testing.T) {
	base, _ := newTestGateway(t)
	tests := []struct {
		code codes.Code
		want int
	}{
		{codes.InvalidArgument, 400},
		{codes.OutOfRange, 400},
		{codes.Unauthenticated, 401},
		{codes.PermissionDenied, 403},
		{codes.NotFound, 404},
		{codes.AlreadyExists, 409},
		{codes.Aborted, 409},
		{codes.FailedPrecondition, 412},
		{codes.ResourceExhausted, 429},
		{codes.Unimplemented, 501},
		{codes.Unavailable, 503},
		{codes.DeadlineExceeded, 504},
		{codes.Internal, 500},
		{codes.Unknown, 500},
		{codes.DataLoss, 500},
	}
	for _, tt := range tests {
		t.Run(tt.code.String()+" becomes HTTP "+http.StatusText(tt.want), func(t *testing.T) {
			r := do(t, "GET", base+"/v1/tenant/"+tt.code.String(), "", nil)
			if r.code != tt.want {
				t.Fatalf("status %d, want %d (body %s)", r.code, tt.want, r.body)
			}
			want := "tenant " + tt.code.String() + ": failed with " + tt.code.String()
			if msg := decodeMsg(t, r.body); msg != want {
				t.Fatalf("msg %q, want %q", msg, want)
			}
		})
	}
}

func TestResponses(t *testing.T) {
	base, _ := newTestGateway(t)
	tests := []struct {
		name     string
		method   string
		path     string
		body     string
		wantCode int
		wantJSON string
	}{
		{"status answers the node id", "GET", "/v1/status", "", 200, `{"id":7}`},
		{"a tenant list is a bare JSON array with snake_case names and nulls", "GET", "/v1/tenant", "", 200,
			`[{"id":"` + tenantA + `","state":"Active","current_physical_size":null,"has_in_progress_downloads":null,"broken_reason":null,"generation":0}]`},
		{"a tenant's 64-bit sizes are JSON numbers", "GET", "/v1/tenant/" + tenantA, "", 200,
			`{"id":"` + tenantA + `","state":"Active","current_physical_size":8192,"has_in_progress_downloads":null,"broken_reason":null,"generation":0}`},
		{"creating a tenant answers 201 with its id as a JSON string", "POST", "/v1/tenant",
			`{"new_tenant_id":"11111111111111111111111111111111","checkpoint_distance":268435456,"gc_period":"100 s"}`, 201,
			`"11111111111111111111111111111111"`},
		{"creating an existing tenant is a conflict", "POST", "/v1/tenant", `{"new_tenant_id":"` + tenantA + `"}`, 409,
			`{"msg":"tenant already exists"}`},
		{"an unknown config key is a bad request", "POST", "/v1/tenant", `{"checkpoint_distanse":1}`, 400, ""},
		{"creating a timeline answers 201 with the timeline", "POST", "/v1/tenant/" + tenantA + "/timeline",
			`{"new_timeline_id":"` + timelineA + `","pg_version":15}`, 201, ""},
		{"attaching answers 202 null", "POST", "/v1/tenant/" + tenantA + "/attach", `{}`, 202, `null`},
		{"failpoints take a bare array and answer null", "PUT", "/v1/failpoints", `[{"name":"fp","actions":"return(1)"}]`, 200, `null`},
		{"an unknown path is 404 page not found", "GET", "/v1/nothing/here", "", 404, `{"msg":"page not found"}`},
		{"an unimplemented RPC is 501", "DELETE", "/v1/tenant/" + tenantA + "/timeline/" + timelineA, "", 501, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, base+tt.path, tt.body, nil)
			if r.code != tt.wantCode {
				t.Fatalf("status %d, want %d (body %s)", r.code, tt.wantCode, r.body)
			}
			if r.code >= 400 {
				decodeMsg(t, r.body)
			}
			if tt.wantJSON != "" {
				assertJSONEqual(t, r.body, tt.wantJSON)
			}
		})
	}
}

func TestCreatedTimelineBody(t *testing.T) {
	base, _ := newTestGateway(t)
	r := do(t, "POST", base+"/v1/tenant/"+tenantA+"/timeline", `{"new_timeline_id":"`+timelineA+`"}`, nil)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	if got["tenant_id"] != tenantA || got["timeline_id"] != timelineA || got["last_record_lsn"] != "0/16B9188" {
		t.Fatalf("timeline body %v lacks the expected ids and LSN", got)
	}
	if v, ok := got["ancestor_timeline_id"]; !ok || v != nil {
		t.Fatalf("ancestor_timeline_id = %v (present %v), want null", v, ok)
	}
}

func TestAuthorizationIsForwarded(t *testing.T) {
	base, up := newTestGateway(t)
	do(t, "GET", base+"/v1/tenant", "", http.Header{"Authorization": {"Bearer abc.def.ghi"}})
	do(t, "GET", base+"/v1/tenant", "", nil)
	got := up.mgmt.seenAuth()
	if len(got) != 2 || got[0] != "Bearer abc.def.ghi" || got[1] != "" {
		t.Fatalf("upstream saw authorization %q, want [\"Bearer abc.def.ghi\" \"\"]", got)
	}
}

func TestUnreachableUpstreamIsServiceUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	gw, err := New(testConfig(t, addr), Deps{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	defer gw.closeConns()
	r := do(t, "GET", srv.URL+"/v1/tenant", "", nil)
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 (body %s)", r.code, r.body)
	}
	decodeMsg(t, r.body)
}

func assertJSONEqual(tb testing.TB, got, want string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		tb.Fatalf("got %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("want %q is not JSON: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		tb.Fatalf("body %s, want %s", gb, wb)
	}
}
