package service

import (
	"context"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stratadb/strata/libs/platform/admin"
	"github.com/stratadb/strata/libs/platform/auth"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/lifecycle"
	"github.com/stratadb/strata/libs/platform/logging"
)

func TestBaseRunsComponentsBetweenAdminAndGRPCAndStopsInReverse(t *testing.T) {
	b, err := New(Options{
		Name:   "test-service",
		GRPC:   grpcx.ServerConfig{Addr: "127.0.0.1:0"},
		Admin:  admin.Config{Addr: "127.0.0.1:0"},
		Auth:   auth.Config{Trust: true},
		Check:  func(*auth.Claims, string, any) error { return nil },
		Logger: logging.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	comp := lifecycle.Funcs{
		ComponentName: "work",
		StartFn: func(context.Context) error {
			// The admin server runs already; gRPC does not yet.
			events = append(events, "start work")
			return nil
		},
		StopFn: func(context.Context) error { events = append(events, "stop work"); return nil },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, comp) }()
	deadline := time.Now().Add(10 * time.Second)
	for b.Ready(context.Background()) != nil {
		select {
		case err := <-done:
			t.Fatalf("Run ended early: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready")
		}
	}
	resp, err := http.Get("http://" + b.AdminAddr() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	conn, err := grpc.NewClient(b.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || hc.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("grpc health: %v %v", hc, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(events) != 2 || events[0] != "start work" || events[1] != "stop work" {
		t.Fatalf("events = %v", events)
	}
}

func TestNewRefusesAMissingKeyConfiguration(t *testing.T) {
	if _, err := New(Options{Name: "x", Check: func(*auth.Claims, string, any) error { return nil }}); err == nil {
		t.Fatal("auth without keys and without trust was accepted")
	}
}
