package walredopool

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stratadb/strata/services/walredopool/internal/pool"
)

// ErrNotImplemented marks a capability that has not landed yet.
var ErrNotImplemented = errors.New("not implemented")

// ErrInvalidRequest is wrapped by every validation failure of a request.
var ErrInvalidRequest = errors.New("invalid redo request")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidRequest, fmt.Sprintf(format, args...))
}

// toStatus maps the service's errors to gRPC status codes. It is the only
// place that does; handlers return toStatus(err).
//
//	invalid request, pool.ErrBadRequest        InvalidArgument
//	pool.ErrTimeout (wal_redo_timeout)         DeadlineExceeded
//	pool.ErrRedo (a record cannot be applied)  Internal
//	pool.ErrClosed, ErrWorkerDied, ErrLaunch   Unavailable (retry elsewhere or later)
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
	case errors.Is(err, ErrInvalidRequest), errors.Is(err, pool.ErrBadRequest):
		code = codes.InvalidArgument
	case errors.Is(err, pool.ErrTimeout):
		code = codes.DeadlineExceeded
	case errors.Is(err, pool.ErrRedo):
		code = codes.Internal
	case errors.Is(err, pool.ErrClosed), errors.Is(err, pool.ErrWorkerDied), errors.Is(err, pool.ErrLaunch):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
