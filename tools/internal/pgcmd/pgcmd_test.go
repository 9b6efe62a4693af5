package pgcmd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stratadb/strata/libs/engine/lsn"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/tools/internal/stackapi"
)

// fakePages streams two chunks, then fails when fail is set.
type fakePages struct {
	pagev1.UnimplementedPageServiceServer
	fail bool
}

func (f *fakePages) GetBaseBackup(_ *pagev1.GetBaseBackupRequest, s grpc.ServerStreamingServer[pagev1.GetBaseBackupResponse]) error {
	for _, c := range []string{"first chunk ", "second chunk"} {
		if err := s.Send(&pagev1.GetBaseBackupResponse{Chunk: []byte(c)}); err != nil {
			return err
		}
	}
	if f.fail {
		return status.Error(codes.Internal, "build basebackup: injected failure")
	}
	return nil
}

func fakeClient(t *testing.T, fail bool) *stackapi.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pagev1.RegisterPageServiceServer(s, &fakePages{fail: fail})
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return &stackapi.Client{PageServiceAddr: l.Addr().String(), Token: "tok"}
}

func TestWriteBaseBackupLeavesAFileOnlyWhenTheStreamCompletes(t *testing.T) {
	tests := []struct {
		name     string
		fail     bool
		wantFile bool
	}{
		{"a complete stream becomes the file", false, true},
		{"a stream that fails midway leaves no file at all", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeClient(t, tt.fail)
			out := filepath.Join(t.TempDir(), "bb.tar")
			_, err := WriteBaseBackup(context.Background(), c, "t", "tl", lsn.LSN(0x100), "none", out)
			if (err == nil) != tt.wantFile {
				t.Fatalf("WriteBaseBackup error = %v, want success=%t", err, tt.wantFile)
			}
			b, statErr := os.ReadFile(out)
			if tt.wantFile && (statErr != nil || string(b) != "first chunk second chunk") {
				t.Errorf("file = %q, %v", b, statErr)
			}
			if !tt.wantFile && statErr == nil {
				t.Errorf("a partial backup was left at %s", out)
			}
			if _, err := os.Stat(out + ".partial"); err == nil {
				t.Errorf("the .partial file was left behind")
			}
		})
	}
}

func TestParseTargetRejectsBadIDsAndLSNs(t *testing.T) {
	good := "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, tenant, timeline, at string
		ok                         bool
	}{
		{"valid ids without an LSN are accepted", good, good, "", true},
		{"a valid LSN is accepted", good, good, "0/3000028", true},
		{"a bad tenant id is refused", "x", good, "", false},
		{"a bad timeline id is refused", good, "nothex", "", false},
		{"a malformed LSN is refused", good, good, "3000028", false},
		{"LSN 0/0 is refused", good, good, "0/0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTarget(tt.tenant, tt.timeline, tt.at)
			if (err == nil) != tt.ok {
				t.Errorf("parseTarget error = %v, want ok=%t", err, tt.ok)
			}
		})
	}
}

func TestCheckReachableNamesTheDirectoryThePostgresUserCannotEnter(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands servers to the postgres user")
	}
	closed := filepath.Join(t.TempDir(), "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(closed), filepath.Dir(filepath.Dir(closed))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	err := checkReachable(filepath.Join(closed, "pg"))
	if err == nil || !strings.Contains(err.Error(), closed) {
		t.Errorf("checkReachable = %v, want an error naming %s", err, closed)
	}
	if err := os.Chmod(closed, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkReachable(filepath.Join(closed, "pg")); err != nil {
		t.Errorf("checkReachable after opening the directory: %v", err)
	}
}
