package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	gccompactorv1 "github.com/stratadb/strata/proto/gen/strata/gccompactor/v1"
	pageservicev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	sizecalculatorv1 "github.com/stratadb/strata/proto/gen/strata/sizecalculator/v1"
	uploadqueuev1 "github.com/stratadb/strata/proto/gen/strata/uploadqueue/v1"
	uploadworkerv1 "github.com/stratadb/strata/proto/gen/strata/uploadworker/v1"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
)

// files are every Strata proto file.
var files = []protoreflect.FileDescriptor{
	gccompactorv1.File_strata_gccompactor_v1_gccompactor_proto,
	pageservicev1.File_strata_pageservice_v1_page_proto,
	pageservicev1.File_strata_pageservice_v1_management_proto,
	pageservicev1.File_strata_pageservice_v1_internal_proto,
	sizecalculatorv1.File_strata_sizecalculator_v1_sizecalculator_proto,
	uploadqueuev1.File_strata_uploadqueue_v1_uploadqueue_proto,
	uploadworkerv1.File_strata_uploadworker_v1_uploadworker_proto,
	walredov1.File_strata_walredo_v1_walredo_proto,
}

// restRoutes returns "METHOD /path" for every google.api.http rule (additional bindings
// included) of every RPC.
func restRoutes(tb testing.TB) map[string]string {
	tb.Helper()
	routes := map[string]string{}
	var add func(rpc string, rule *annotations.HttpRule)
	add = func(rpc string, rule *annotations.HttpRule) {
		var method, path string
		switch p := rule.GetPattern().(type) {
		case *annotations.HttpRule_Get:
			method, path = "GET", p.Get
		case *annotations.HttpRule_Put:
			method, path = "PUT", p.Put
		case *annotations.HttpRule_Post:
			method, path = "POST", p.Post
		case *annotations.HttpRule_Delete:
			method, path = "DELETE", p.Delete
		case *annotations.HttpRule_Patch:
			method, path = "PATCH", p.Patch
		default:
			tb.Fatalf("%s: unsupported http rule %v", rpc, rule)
		}
		routes[method+" "+path] = rpc
		for _, b := range rule.GetAdditionalBindings() {
			add(rpc, b)
		}
	}
	for _, f := range files {
		for i := range f.Services().Len() {
			svc := f.Services().Get(i)
			for j := range svc.Methods().Len() {
				m := svc.Methods().Get(j)
				opts, ok := m.Options().(*descriptorpb.MethodOptions)
				if !ok || !proto.HasExtension(opts, annotations.E_Http) {
					continue
				}
				add(string(m.FullName()), proto.GetExtension(opts, annotations.E_Http).(*annotations.HttpRule))
			}
		}
	}
	return routes
}

func TestDocumentHasEveryRESTRoute(t *testing.T) {
	var spec struct {
		Swagger string                                `json:"swagger"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(JSON, &spec); err != nil {
		t.Fatalf("strata.swagger.json is not JSON: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routes := restRoutes(t)
	if len(routes) < 20 {
		t.Fatalf("found only %d REST routes in the protos", len(routes))
	}
	for route, rpc := range routes {
		if !documented[route] {
			t.Errorf("%s (%s) is missing from strata.swagger.json; run make proto", route, rpc)
		}
	}
	for route := range documented {
		if _, ok := routes[route]; !ok {
			t.Errorf("strata.swagger.json documents %s, which no RPC maps; run make proto", route)
		}
	}
}

// The routes that follow Neon's pageserver API keep Neon's paths and methods.
func TestNeonRoutesArePresent(t *testing.T) {
	routes := restRoutes(t)
	for _, want := range []string{
		"GET /v1/status",
		"GET /v1/tenant",
		"POST /v1/tenant",
		"GET /v1/tenant/{tenant_id}",
		"GET /v1/tenant/{tenant_id}/size",
		"POST /v1/tenant/{tenant_id}/attach",
		"POST /v1/tenant/{tenant_id}/detach",
		"GET /v1/tenant/{tenant_id}/timeline",
		"POST /v1/tenant/{tenant_id}/timeline",
		"GET /v1/tenant/{tenant_id}/timeline/{timeline_id}",
		"DELETE /v1/tenant/{tenant_id}/timeline/{timeline_id}",
		"GET /v1/tenant/{tenant_id}/timeline/{timeline_id}/get_lsn_by_timestamp",
		"PUT /v1/tenant/{tenant_id}/timeline/{timeline_id}/do_gc",
		"PUT /v1/tenant/{tenant_id}/timeline/{timeline_id}/compact",
		"PUT /v1/tenant/{tenant_id}/timeline/{timeline_id}/checkpoint",
		"PUT /v1/failpoints",
	} {
		if _, ok := routes[want]; !ok {
			t.Errorf("route %s is not mapped by any RPC", want)
		}
	}
}
