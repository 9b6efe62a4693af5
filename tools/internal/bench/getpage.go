package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stratadb/strata/libs/engine/lsn"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/tools/internal/stackapi"
)

// GetPageOptions configure `stratactl bench getpage`.
type GetPageOptions struct {
	Stack string
	// Tenant and Timeline name an existing timeline; when empty the bench
	// loads pgbench at Scale into a fresh primary and imports it.
	Tenant, Timeline string
	Scale            int
	// LSN to read at; lsn.Invalid means the timeline's last record.
	LSN lsn.LSN
	// Depths are the queue depths (requests in flight on one stream).
	Depths   []int
	Duration time.Duration
}

// GetPageResult is one measured configuration.
type GetPageResult struct {
	Name     string
	Depth    int
	Requests int
	Elapsed  time.Duration
	P50, P99 time.Duration
	Mean     time.Duration
}

// ReqPerSec is the request rate.
func (r GetPageResult) ReqPerSec() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// ParseDepths reads "1,8".
func ParseDepths(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d < 1 || d > 1024 {
			return nil, fmt.Errorf("invalid queue depth %q: want numbers 1-1024 separated by commas", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// RawName names the baseline rows: the GetPages stream against a gRPC
// server in a separate process (`stratactl bench echo-server`) that answers
// every request with a constant 8 KiB page.
const RawName = "raw 8 KiB echo (process)"

const pageName = "page-service GetPages"

// RunGetPage measures GetPages on page-service at each depth (random
// existing blocks, one block per request, request_lsn = not_modified_since
// = the LSN), then the same client against a gRPC server in another process
// that answers every request with a constant 8 KiB page — the raw cost of a
// gRPC round trip of an 8 KiB message between two processes on this machine —
// and against the same server inside this process.
func RunGetPage(ctx context.Context, o GetPageOptions, progress io.Writer) ([]GetPageResult, error) {
	c, err := stackapi.Open(o.Stack)
	if err != nil {
		return nil, err
	}
	tenant, timeline, at := o.Tenant, o.Timeline, o.LSN
	if tenant == "" || timeline == "" {
		im, err := importPgbench(ctx, c, o.Scale, progress)
		if err != nil {
			return nil, err
		}
		defer im.close()
		tenant, timeline, at = im.tenant, im.timeline, im.at
	} else if at == lsn.Invalid {
		tl, err := c.GetTimeline(ctx, tenant, timeline)
		if err != nil {
			return nil, err
		}
		if at, err = lsn.Parse(tl.LastRecordLSN); err != nil {
			return nil, err
		}
	}
	rels, err := listRelations(ctx, c, tenant, timeline, at, 8)
	if err != nil {
		return nil, err
	}
	rels = largestDB(rels)
	var total uint64
	for _, r := range rels {
		total += uint64(r.blocks)
	}
	fmt.Fprintf(progress, "reading random blocks of %d relations (%d blocks, %.0f MiB) at %s\n", len(rels), total, float64(total)*8192/(1<<20), at)

	conn, err := c.DialPageService()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	echo, stopEcho, err := startEchoProcess(ctx)
	if err != nil {
		return nil, err
	}
	defer stopEcho()
	local, stopLocal, err := startEcho()
	if err != nil {
		return nil, err
	}
	defer stopLocal()

	var out []GetPageResult
	for _, d := range o.Depths {
		// A short warm-up per depth: connection, caches, goroutines.
		if _, err := streamPages(ctx, conn, tenant, timeline, at, rels, d, o.Duration/10); err != nil {
			return nil, err
		}
		r, err := streamPages(ctx, conn, tenant, timeline, at, rels, d, o.Duration)
		if err != nil {
			return nil, err
		}
		r.Name = pageName
		out = append(out, r)
		fmt.Fprintf(progress, "depth %d: page-service done\n", d)
	}
	for _, base := range []struct {
		name string
		conn grpc.ClientConnInterface
	}{{RawName, echo}, {"raw 8 KiB echo in-process", local}} {
		for _, d := range o.Depths {
			if _, err := streamPages(ctx, base.conn, tenant, timeline, at, rels, d, o.Duration/10); err != nil {
				return nil, err
			}
			r, err := streamPages(ctx, base.conn, tenant, timeline, at, rels, d, o.Duration)
			if err != nil {
				return nil, err
			}
			r.Name = base.name
			out = append(out, r)
		}
	}
	return out, nil
}

// largestDB keeps the relations of the database with the most blocks (the
// pgbench database).
func largestDB(rels []relation) []relation {
	per := map[uint32]uint64{}
	for _, r := range rels {
		per[r.db] += uint64(r.blocks)
	}
	var best uint32
	for db, n := range per {
		if n > per[best] {
			best = db
		}
	}
	var out []relation
	for _, r := range rels {
		if r.db == best {
			out = append(out, r)
		}
	}
	return out
}

// streamPages keeps depth single-block requests in flight on one GetPages
// stream for d and returns the latency distribution.
func streamPages(ctx context.Context, conn grpc.ClientConnInterface, tenant, timeline string, at lsn.LSN, rels []relation, depth int, d time.Duration) (GetPageResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pagev1.NewPageServiceClient(conn).GetPages(ctx)
	if err != nil {
		return GetPageResult{}, fmt.Errorf("open GetPages stream: %w", err)
	}
	var weights []uint64 // cumulative blocks, to pick a block uniformly
	var sum uint64
	for _, r := range rels {
		sum += uint64(r.blocks)
		weights = append(weights, sum)
	}
	rng := rand.New(rand.NewPCG(1, uint64(depth)))
	pick := func() (relation, uint32) {
		n := rng.Uint64N(sum)
		i, _ := slices.BinarySearchFunc(weights, n+1, func(w, t uint64) int {
			switch {
			case w < t:
				return -1
			case w > t:
				return 1
			}
			return 0
		})
		r := rels[i]
		return r, uint32(rng.Uint64N(uint64(r.blocks)))
	}
	var mu sync.Mutex
	sent := map[uint64]time.Time{}
	var nextID uint64
	send := func() error {
		r, blk := pick()
		mu.Lock()
		nextID++
		id := nextID
		sent[id] = time.Now()
		mu.Unlock()
		return stream.Send(&pagev1.GetPagesRequest{
			RequestId: id, TenantId: tenant, TimelineId: timeline,
			ReadLsn:     &pagev1.ReadLSN{RequestLsn: uint64(at), NotModifiedSinceLsn: uint64(at)},
			Rel:         &pagev1.RelTag{SpcOid: r.spc, DbOid: r.db, RelNumber: r.rel, ForkNumber: 0},
			BlockNumber: []uint32{blk},
		})
	}
	for range depth {
		if err := send(); err != nil {
			return GetPageResult{}, fmt.Errorf("send GetPages request: %w", err)
		}
	}
	began := time.Now()
	end := began.Add(d)
	var lat []time.Duration
	inFlight := depth
	for inFlight > 0 {
		resp, err := stream.Recv()
		if err != nil {
			return GetPageResult{}, fmt.Errorf("receive GetPages response: %w", err)
		}
		now := time.Now()
		inFlight--
		if resp.GetStatus() != pagev1.PageStatus_PAGE_STATUS_OK {
			return GetPageResult{}, fmt.Errorf("GetPages request %d: %s: %s", resp.GetRequestId(), resp.GetStatus(), resp.GetReason())
		}
		if len(resp.GetPages()) != 1 || len(resp.GetPages()[0].GetImage()) != 8192 {
			return GetPageResult{}, fmt.Errorf("GetPages request %d: want one 8192-byte page, got %d pages", resp.GetRequestId(), len(resp.GetPages()))
		}
		mu.Lock()
		t0, ok := sent[resp.GetRequestId()]
		delete(sent, resp.GetRequestId())
		mu.Unlock()
		if !ok {
			return GetPageResult{}, fmt.Errorf("GetPages: answer to unknown request %d", resp.GetRequestId())
		}
		lat = append(lat, now.Sub(t0))
		if now.Before(end) {
			if err := send(); err != nil {
				return GetPageResult{}, fmt.Errorf("send GetPages request: %w", err)
			}
			inFlight++
		}
	}
	elapsed := time.Since(began)
	_ = stream.CloseSend()
	if len(lat) == 0 {
		return GetPageResult{}, errors.New("no request completed")
	}
	slices.Sort(lat)
	var tot time.Duration
	for _, l := range lat {
		tot += l
	}
	return GetPageResult{
		Depth: depth, Requests: len(lat), Elapsed: elapsed,
		P50: lat[len(lat)/2], P99: lat[len(lat)*99/100], Mean: tot / time.Duration(len(lat)),
	}, nil
}

// echoPages answers every GetPages request with a constant 8 KiB page.
type echoPages struct {
	pagev1.UnimplementedPageServiceServer
}

func (echoPages) GetPages(s grpc.BidiStreamingServer[pagev1.GetPagesRequest, pagev1.GetPagesResponse]) error {
	page := make([]byte, 8192)
	for i := range page {
		page[i] = byte(i * 31)
	}
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		pages := make([]*pagev1.Page, 0, len(req.GetBlockNumber()))
		for _, b := range req.GetBlockNumber() {
			pages = append(pages, &pagev1.Page{BlockNumber: b, Image: page})
		}
		if err := s.Send(&pagev1.GetPagesResponse{RequestId: req.GetRequestId(), Status: pagev1.PageStatus_PAGE_STATUS_OK, Pages: pages}); err != nil {
			return err
		}
	}
}

// startEcho serves echoPages on a loopback port in this process and returns
// a client connection to it.
func startEcho() (*grpc.ClientConn, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	s := grpc.NewServer()
	pagev1.RegisterPageServiceServer(s, echoPages{})
	go func() { _ = s.Serve(l) }()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.Stop()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); s.Stop() }, nil
}
