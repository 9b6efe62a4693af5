package pageservice

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stratadb/strata/libs/platform/failpoint"
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
	code := codes.Internal
	switch {
	case errors.Is(err, ErrNotImplemented):
		code = codes.Unimplemented
	case errors.Is(err, ErrTenantNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrInvalidArgument), errors.Is(err, failpoint.ErrNotCompiled):
		code = codes.InvalidArgument
	case errors.Is(err, ErrFailpoint):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
