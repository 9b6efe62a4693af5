package grpcx

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/platform/metrics"
)

// reqDesc is `message Req { string tenant_id = 1; bytes timeline_id = 2; string note = 3; }`.
var reqDesc = func() protoreflect.MessageDescriptor {
	s := func(v string) *string { return &v }
	i := func(v int32) *int32 { return &v }
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	fd := &descriptorpb.FileDescriptorProto{
		Name: s("grpcx_test.proto"), Package: s("grpcxtest"), Syntax: s("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: s("Req"),
			Field: []*descriptorpb.FieldDescriptorProto{
				{Name: s("tenant_id"), JsonName: s("tenantId"), Number: i(1), Label: opt, Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
				{Name: s("timeline_id"), JsonName: s("timelineId"), Number: i(2), Label: opt, Type: descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum()},
				{Name: s("note"), JsonName: s("note"), Number: i(3), Label: opt, Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
			},
		}},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		panic(err)
	}
	return f.Messages().Get(0)
}()

func newReq(tenant string, timeline []byte, note string) *dynamicpb.Message {
	m := dynamicpb.NewMessage(reqDesc)
	f := reqDesc.Fields()
	if tenant != "" {
		m.Set(f.ByName("tenant_id"), protoreflect.ValueOfString(tenant))
	}
	if timeline != nil {
		m.Set(f.ByName("timeline_id"), protoreflect.ValueOfBytes(timeline))
	}
	m.Set(f.ByName("note"), protoreflect.ValueOfString(note))
	return m
}

// echo handles /grpcxtest.T/Echo: by note it panics, or reports the
// deadline left and the authorization header in the reply's note.
func echo(ctx context.Context, req *dynamicpb.Message) (*dynamicpb.Message, error) {
	note := req.Get(reqDesc.Fields().ByName("note")).String()
	if note == "panic" {
		panic("boom")
	}
	logging.From(ctx).Info("handler ran")
	dl, ok := ctx.Deadline()
	md, _ := metadata.FromIncomingContext(ctx)
	out := "no-deadline"
	if ok {
		out = time.Until(dl).Round(time.Hour).String()
	}
	return newReq("", nil, out+"|"+strings.Join(md.Get("authorization"), ",")), nil
}

var testDesc = grpc.ServiceDesc{
	ServiceName: "grpcxtest.T",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(srv any, ctx context.Context, dec func(any) error, in grpc.UnaryServerInterceptor) (any, error) {
			req := dynamicpb.NewMessage(reqDesc)
			if err := dec(req); err != nil {
				return nil, err
			}
			h := func(ctx context.Context, r any) (any, error) { return echo(ctx, r.(*dynamicpb.Message)) }
			if in == nil {
				return h(ctx, req)
			}
			return in(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/grpcxtest.T/Echo"}, h)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Watch",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			req := dynamicpb.NewMessage(reqDesc)
			if err := stream.RecvMsg(req); err != nil {
				return err
			}
			if req.Get(reqDesc.Fields().ByName("note")).String() == "panic" {
				panic("stream boom")
			}
			logging.From(stream.Context()).Info("stream handler ran")
			return stream.SendMsg(newReq("", nil, "streamed"))
		},
	}},
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func startServer(t testing.TB, cfg ServerConfig, logs *syncBuf) *Server {
	t.Helper()
	log, _ := logging.New(logs, logging.Config{Format: "text", Level: "debug"}, "test")
	srv := NewServer(cfg, ServerDeps{Logger: log, Registry: metrics.NewRegistry()})
	srv.GRPC().RegisterService(&testDesc, struct{}{})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- lifecycle.Runner{Logger: logging.Discard()}.Run(ctx, srv, lifecycle.Funcs{ComponentName: "probe", StartFn: func(context.Context) error {
			close(started)
			return nil
		}})
	}()
	<-started
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("server run: %v", err)
		}
	})
	return srv
}

func call(t testing.TB, conn *grpc.ClientConn, ctx context.Context, req *dynamicpb.Message) (string, error) {
	t.Helper()
	resp := dynamicpb.NewMessage(reqDesc)
	err := conn.Invoke(ctx, "/grpcxtest.T/Echo", req, resp)
	return resp.Get(reqDesc.Fields().ByName("note")).String(), err
}

func TestServerAndClient(t *testing.T) {
	logs := &syncBuf{}
	srv := startServer(t, ServerConfig{Addr: "127.0.0.1:0", DefaultTimeout: config.Duration(5 * time.Hour), MaxRecvMsgBytes: 4096}, logs)
	conn, err := Dial(srv.Addr(), ClientConfig{Timeout: config.Duration(2 * time.Hour), Token: "tok-secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	plain, err := Dial(srv.Addr(), ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	ctx := context.Background()

	t.Run("the client gives calls its default deadline and sends the bearer token", func(t *testing.T) {
		got, err := call(t, conn, ctx, newReq("t1", nil, ""))
		if err != nil || got != "2h0m0s|Bearer tok-secret" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("the server gives a call without deadline its default", func(t *testing.T) {
		c, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := call(t, c, ctx, newReq("", nil, ""))
		if err != nil || got != "5h0m0s|" {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("a panic becomes codes.Internal and the server keeps serving", func(t *testing.T) {
		_, err := call(t, plain, ctx, newReq("", nil, "panic"))
		if status.Code(err) != codes.Internal {
			t.Fatalf("err = %v", err)
		}
		if _, err := call(t, plain, ctx, newReq("", nil, "")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a message above the size limit is refused", func(t *testing.T) {
		_, err := call(t, plain, ctx, newReq("", nil, strings.Repeat("x", 8192)))
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a server stream logs its ids and turns panics into codes.Internal", func(t *testing.T) {
		watch := func(note string) (string, error) {
			cs, err := conn.NewStream(ctx, &testDesc.Streams[0], "/grpcxtest.T/Watch")
			if err != nil {
				return "", err
			}
			if err := cs.SendMsg(newReq("stream-tenant", nil, note)); err != nil {
				return "", err
			}
			_ = cs.CloseSend()
			resp := dynamicpb.NewMessage(reqDesc)
			if err := cs.RecvMsg(resp); err != nil {
				return "", err
			}
			return resp.Get(reqDesc.Fields().ByName("note")).String(), nil
		}
		if got, err := watch(""); err != nil || got != "streamed" {
			t.Fatalf("watch = %q %v", got, err)
		}
		if _, err := watch("panic"); status.Code(err) != codes.Internal {
			t.Fatalf("panic: %v", err)
		}
		if out := logs.String(); !regexp.MustCompile(`msg="stream handler ran" .*tenant_id=stream-tenant`).MatchString(out) {
			t.Fatalf("stream logs lack the tenant:\n%s", out)
		}
	})
	t.Run("logs carry tenant and timeline ids and never the token", func(t *testing.T) {
		if _, err := call(t, conn, ctx, newReq("0123abcd", []byte{0xde, 0xad}, "")); err != nil {
			t.Fatal(err)
		}
		out := logs.String()
		for _, want := range []string{`msg="handler ran"`, "tenant_id=0123abcd", "timeline_id=dead", "rpc panicked", "code=Internal"} {
			if !strings.Contains(out, want) {
				t.Fatalf("logs lack %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "tok-secret") {
			t.Fatalf("token in logs:\n%s", out)
		}
	})
}

func TestIDAttrs(t *testing.T) {
	tests := []struct {
		name string
		msg  any
		want []any
	}{
		{"string and bytes ids are found", newReq("ab", []byte{1, 2}, ""), []any{"tenant_id", "ab", "timeline_id", "0102"}},
		{"unset ids are skipped", newReq("", nil, "x"), nil},
		{"a non-proto value has none", "x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IDAttrs(tt.msg)
			if slog.Group("", got...).String() != slog.Group("", tt.want...).String() {
				t.Fatalf("got %v want %v", got, tt.want)
			}
		})
	}
	var _ proto.Message = newReq("", nil, "")
}
