package gateway

import (
	"context"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	gccompactorv1 "github.com/stratadb/strata/proto/gen/strata/gccompactor/v1"
	pageservicev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	sizecalculatorv1 "github.com/stratadb/strata/proto/gen/strata/sizecalculator/v1"
	uploadworkerv1 "github.com/stratadb/strata/proto/gen/strata/uploadworker/v1"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
)

// registerFunc registers one gRPC service's REST routes on the mux, forwarding to conn.
type registerFunc func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error

// registrations lists, per upstream (Upstreams YAML key), the generated registration
// functions of the services with REST routes that the upstream serves.
var registrations = map[string][]registerFunc{
	"page_service": {
		pageservicev1.RegisterManagementServiceHandler,
		pageservicev1.RegisterPageServiceHandler,
	},
	"walredo_pool":    {walredov1.RegisterWalRedoServiceHandler},
	"upload_worker":   {uploadworkerv1.RegisterUploadWorkerServiceHandler},
	"gc_compactor":    {gccompactorv1.RegisterGcCompactorServiceHandler},
	"size_calculator": {sizecalculatorv1.RegisterSizeCalculatorServiceHandler},
}
