package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/engine/lsn"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/tools/internal/stackapi"
)

func TestStreamPagesKeepsTheDepthInFlightAgainstTheEchoServer(t *testing.T) {
	conn, stop, err := startEcho()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	rels := []relation{{spc: 1663, db: 5, rel: 16384, blocks: 100}, {spc: 1663, db: 5, rel: 16390, blocks: 3}}
	for _, depth := range []int{1, 8} {
		r, err := streamPages(context.Background(), conn, "t", "tl", lsn.LSN(0x1000), rels, depth, 50*time.Millisecond)
		if err != nil {
			t.Fatalf("depth %d: %v", depth, err)
		}
		if r.Requests < depth || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("depth %d: implausible result %+v", depth, r)
		}
	}
}

func TestParseDepthsRejectsBadLists(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"a comma list is read", "1,8", true},
		{"zero is refused", "0", false},
		{"words are refused", "1,x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseDepths(tt.in); (err == nil) != tt.ok {
				t.Errorf("ParseDepths(%q) = %v, want ok=%t", tt.in, err, tt.ok)
			}
		})
	}
}

type tarPages struct {
	pagev1.UnimplementedPageServiceServer
	archive []byte
}

func (f tarPages) GetBaseBackup(_ *pagev1.GetBaseBackupRequest, s grpc.ServerStreamingServer[pagev1.GetBaseBackupResponse]) error {
	return s.Send(&pagev1.GetBaseBackupResponse{Chunk: f.archive})
}

func TestListRelationsReadsMainForksAndSegmentsFromTheBaseBackup(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, size int64) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o600, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	add("global/1262", 8192)
	add("base/5/16384", 16*8192)
	add("base/5/16384_fsm", 3*8192)
	add("base/5/16400", 2*8192)
	add("base/5/PG_VERSION", 3)
	add("base/1/1259", 20*8192)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	pagev1.RegisterPageServiceServer(s, tarPages{archive: buf.Bytes()})
	go func() { _ = s.Serve(l) }()
	defer s.Stop()
	c := &stackapi.Client{PageServiceAddr: l.Addr().String()}
	rels, err := listRelations(context.Background(), c, "t", "tl", lsn.LSN(8), 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 2 {
		t.Fatalf("relations = %+v, want 16384 and 1259 (16400 is below 8 blocks)", rels)
	}
	got := largestDB(rels)
	if len(got) != 1 || got[0].rel != 1259 || got[0].blocks != 20 {
		t.Errorf("largestDB = %+v, want base/1/1259 with 20 blocks", got)
	}
}
