package walredopool

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrNotImplemented marks a capability that has not landed yet.
var ErrNotImplemented = errors.New("not implemented")

func errNotImplemented(what string) error { return fmt.Errorf("%s: %w", what, ErrNotImplemented) }

// toStatus maps the service's errors to gRPC status codes. It is the only
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
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
