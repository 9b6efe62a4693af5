package grpcx

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/stratadb/strata/libs/platform/logging"
)

// IDAttrs returns tenant_id and timeline_id attributes found in msg (a proto
// message) by field name: a string field, a bytes field (hex), or a message
// field whose first field is a string or bytes.
func IDAttrs(msg any) []any {
	m, ok := msg.(proto.Message)
	if !ok || m == nil {
		return nil
	}
	r := m.ProtoReflect()
	if !r.IsValid() {
		return nil
	}
	var attrs []any
	for _, name := range []protoreflect.Name{"tenant_id", "timeline_id"} {
		if s := idField(r, name); s != "" {
			attrs = append(attrs, string(name), s)
		}
	}
	return attrs
}

func idField(r protoreflect.Message, name protoreflect.Name) string {
	fd := r.Descriptor().Fields().ByName(name)
	if fd == nil || fd.IsList() || fd.IsMap() || !r.Has(fd) {
		return ""
	}
	return scalarText(fd, r.Get(fd), true)
}

func scalarText(fd protoreflect.FieldDescriptor, v protoreflect.Value, nest bool) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BytesKind:
		return hex.EncodeToString(v.Bytes())
	case protoreflect.MessageKind:
		if !nest {
			return ""
		}
		inner := v.Message()
		fields := inner.Descriptor().Fields()
		if fields.Len() == 0 {
			return ""
		}
		f0 := fields.Get(0)
		if f0.IsList() || f0.IsMap() {
			return ""
		}
		return scalarText(f0, inner.Get(f0), false)
	}
	return ""
}

// levelFor maps a status code to the level of its RPC log record.
func levelFor(c codes.Code) slog.Level {
	switch c {
	case codes.OK:
		return slog.LevelDebug
	case codes.Internal, codes.Unknown, codes.DataLoss:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func unaryLogging(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		l := log.With(append([]any{"method", info.FullMethod}, IDAttrs(req)...)...)
		resp, err := handler(logging.With(ctx, l), req)
		logRPC(ctx, l, err, start)
		return resp, err
	}
}

func logRPC(ctx context.Context, l *slog.Logger, err error, start time.Time) {
	st := status.Convert(err)
	lvl := levelFor(st.Code())
	if !l.Enabled(ctx, lvl) {
		return
	}
	attrs := []any{"code", st.Code().String(), "duration", time.Since(start)}
	if err != nil {
		attrs = append(attrs, "err", st.Message())
	}
	l.Log(ctx, lvl, "rpc finished", attrs...)
}

// loggedStream gives the handler a context whose logger gains the IDs of the
// first received message.
type loggedStream struct {
	grpc.ServerStream
	mu    sync.Mutex
	ctx   context.Context
	log   *slog.Logger
	found bool
}

func (s *loggedStream) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx
}

func (s *loggedStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.mu.Lock()
		if !s.found {
			s.found = true
			if attrs := IDAttrs(m); len(attrs) > 0 {
				s.log = s.log.With(attrs...)
				s.ctx = logging.With(s.ctx, s.log)
			}
		}
		s.mu.Unlock()
	}
	return err
}

func (s *loggedStream) logger() *slog.Logger {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log
}

func streamLogging(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		l := log.With("method", info.FullMethod)
		ws := &loggedStream{ServerStream: ss, ctx: logging.With(ss.Context(), l), log: l}
		err := handler(srv, ws)
		logRPC(ss.Context(), ws.logger(), err, start)
		return err
	}
}

// panicError logs a recovered panic with the RPC's logger (which carries the
// method and ids) and returns codes.Internal.
func panicError(ctx context.Context, p any) error {
	logging.From(ctx).Error("rpc panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return status.Error(codes.Internal, "internal error")
}

func unaryRecovery() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, panicError(ctx, p)
			}
		}()
		return handler(ctx, req)
	}
}

func streamRecovery() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = panicError(ss.Context(), p)
			}
		}()
		return handler(srv, ss)
	}
}

func unaryDeadline(d time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return handler(ctx, req)
	}
}
