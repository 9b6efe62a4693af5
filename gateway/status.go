package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// This file is the only place where gRPC status codes become HTTP status codes, and where
// error bodies are written. Every error the gateway returns has the body
//
//	{"msg": "<text>"}
//
// as Neon's pageserver does.

// httpStatus maps a gRPC status code to the HTTP status the gateway answers with.
//
//	OK                                   200
//	InvalidArgument, OutOfRange          400  bad request (bad id, bad LSN, bad body)
//	Unauthenticated                      401  missing or invalid token
//	PermissionDenied                     403  wrong scope or tenant
//	NotFound                             404
//	AlreadyExists, Aborted               409  conflict
//	FailedPrecondition                   412  precondition failed (e.g. stale generation)
//	ResourceExhausted                    429  slow down
//	Canceled                             499  the client went away
//	Unimplemented                        501
//	Unavailable                          503  service down or shutting down
//	DeadlineExceeded                     504
//	Unknown, Internal, DataLoss, others  500
func httpStatus(c codes.Code) int {
	switch c {
	case codes.OK:
		return http.StatusOK
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest
	case codes.Unauthenticated:
		return http.StatusUnauthorized
	case codes.PermissionDenied:
		return http.StatusForbidden
	case codes.NotFound:
		return http.StatusNotFound
	case codes.AlreadyExists, codes.Aborted:
		return http.StatusConflict
	case codes.FailedPrecondition:
		return http.StatusPreconditionFailed
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests
	case codes.Canceled:
		return 499 // nginx's "client closed request"; nobody reads it
	case codes.Unimplemented:
		return http.StatusNotImplemented
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Msg string `json:"msg"`
}

// writeError writes {"msg": msg} with the given HTTP status.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Del("Content-Length")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(errorBody{Msg: msg}) // the client may be gone; nothing to do
}

// errorHandler is the runtime.ErrorHandlerFunc of the gateway mux: it renders the error
// of a forwarded call (or of decoding the request) as {"msg"} with the mapped status.
func errorHandler(log *slog.Logger) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		var he *runtime.HTTPStatusError
		if errors.As(err, &he) {
			writeError(w, he.HTTPStatus, statusMessage(he.Err))
			return
		}
		st := status.Convert(err)
		code := httpStatus(st.Code())
		if st.Code() == codes.Unavailable {
			method, _ := runtime.RPCMethod(ctx)
			log.Warn("upstream unavailable", "method", method, "path", r.URL.Path, "err", st.Message())
		}
		writeError(w, code, st.Message())
	}
}

func statusMessage(err error) string {
	if err == nil {
		return ""
	}
	return status.Convert(err).Message()
}

// routingErrorHandler answers requests that match no route: 404 {"msg": "page not found"}
// as Neon does, 405 for a known path with another method.
func routingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, code int) {
	switch code {
	case http.StatusNotFound:
		writeError(w, code, "page not found")
	case http.StatusMethodNotAllowed:
		writeError(w, code, "method not allowed")
	default:
		writeError(w, code, http.StatusText(code))
	}
}
