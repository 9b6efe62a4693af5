package pageservice

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	enginetenant "github.com/stratadb/strata/libs/engine/tenant"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/platform/failpoint"
	"github.com/stratadb/strata/libs/postgres/datadir"
	"github.com/stratadb/strata/services/pageservice/internal/tenantmgr"
)

// Domain errors of page-service; toStatus maps them to gRPC codes.
var (
	// ErrNotImplemented marks a capability that has not landed yet.
	ErrNotImplemented = errors.New("not implemented")
	// ErrTenantNotFound: the tenant is not attached to this node.
	ErrTenantNotFound = errors.New("tenant not found")
	// ErrInvalidArgument: the request is malformed.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFailpoint: an injected failure (failpoints build only).
	ErrFailpoint = errors.New("injected failure")
)

func errNotImplemented(what string) error { return fmt.Errorf("%s: %w", what, ErrNotImplemented) }

// toStatus maps page-service's errors to gRPC status codes. It is the only
// place that does; handlers return toStatus(err).
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codeOf(err), err.Error())
}

// codeOf classifies an error of page-service, its tenant manager or the
// engine.
func codeOf(err error) codes.Code {
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrNotImplemented):
		code = codes.Unimplemented
	case errors.Is(err, ErrTenantNotFound), errors.Is(err, tenantmgr.ErrTenantNotFound),
		errors.Is(err, tenantmgr.ErrTimelineNotFound), errors.Is(err, enginetenant.ErrTimelineNotFound),
		errors.Is(err, datadir.ErrNoRelation), errors.Is(err, timeline.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, tenantmgr.ErrExists), errors.Is(err, enginetenant.ErrTimelineExists):
		code = codes.AlreadyExists
	case errors.Is(err, tenantmgr.ErrInvalid), errors.Is(err, timeline.ErrGCCutoff), errors.Is(err, timeline.ErrInvalidLSN):
		code = codes.InvalidArgument
	case errors.Is(err, timeline.ErrWaitLSNTimeout):
		code = codes.DeadlineExceeded
	case errors.Is(err, tenantmgr.ErrNotActive), errors.Is(err, enginetenant.ErrBroken), errors.Is(err, enginetenant.ErrStopping),
		errors.Is(err, timeline.ErrBroken), errors.Is(err, timeline.ErrStopping):
		code = codes.Unavailable
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, failpoint.ErrNotCompiled):
		code = codes.InvalidArgument
	case errors.Is(err, ErrFailpoint):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return code
}
