package gateway

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	pageservicev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// successStatus lists the RPCs whose REST success status is not 200, as in Neon's API:
// creations answer 201 Created, attach answers 202 Accepted (it continues in the
// background).
var successStatus = map[string]int{
	pageservicev1.ManagementService_CreateTenant_FullMethodName:   http.StatusCreated,
	pageservicev1.ManagementService_CreateTimeline_FullMethodName: http.StatusCreated,
	pageservicev1.ManagementService_AttachTenant_FullMethodName:   http.StatusAccepted,
}

// setSuccessStatus is a forward-response option: it writes the status of successStatus
// for the RPC being answered. The body follows.
func setSuccessStatus(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	method, ok := runtime.RPCMethod(ctx)
	if !ok {
		return nil
	}
	if code, ok := successStatus[method]; ok {
		w.WriteHeader(code)
	}
	return nil
}

// emptyAsNull renders responses of message types that declare no fields as JSON null,
// which is what Neon answers for operations without a result (`200 null`).
func emptyAsNull(_ context.Context, resp proto.Message) (any, error) {
	if resp != nil && resp.ProtoReflect().Descriptor().Fields().Len() == 0 {
		return nil, nil
	}
	return resp, nil
}
