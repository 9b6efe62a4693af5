package pageservice

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/platform/config"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/postgres/basebackup"
	"github.com/stratadb/strata/libs/postgres/pgtest"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// node is an in-process page-service with local redo on workdir.
type node struct {
	svc   *Service
	mgmt  pagev1.ManagementServiceClient
	pages pagev1.PageServiceClient
	stop  func()
}

func startNode(t testing.TB, workdir string) *node {
	t.Helper()
	var cfg Config
	fs := flag.NewFlagSet("page-service", flag.ContinueOnError)
	args := []string{"-auth.trust", "-grpc.addr=127.0.0.1:0", "-admin.addr=127.0.0.1:0", "-redo=local",
		"-workdir=" + workdir, "-wait-lsn-timeout=30s", "-grpc.default-timeout=5m", "-redis.addr=127.0.0.1:1"}
	if err := config.Parse(fs, args, &cfg); err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, Deps{Logger: logging.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	// Status is synchronized: once every component runs, the gRPC address
	// is set.
	for svc.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("page-service did not start")
		}
		select {
		case err := <-done:
			t.Fatalf("page-service stopped: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	conn, err := grpc.NewClient(svc.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	n := &node{svc: svc, mgmt: pagev1.NewManagementServiceClient(conn), pages: pagev1.NewPageServiceClient(conn)}
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("page-service run: %v", err)
		}
	}
	t.Cleanup(n.stop)
	return n
}

func callCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (n *node) timeline(t testing.TB, tenant, tl string) *pagev1.TimelineInfo {
	t.Helper()
	resp, err := n.mgmt.GetTimeline(callCtx(t), &pagev1.GetTimelineRequest{TenantId: tenant, TimelineId: tl})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetTimeline()
}

// waitIngested polls until the timeline's last_record_lsn reaches at.
func (n *node) waitIngested(t testing.TB, tenant, tl string, at lsn.LSN) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		info := n.timeline(t, tenant, tl)
		if info.GetState() == "Broken" {
			t.Fatalf("timeline %s broken: %s", tl, info.GetBrokenReason())
		}
		if lsn.MustParse(info.GetLastRecordLsn()) >= at {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline %s: last_record_lsn %s did not reach %s", tl, info.GetLastRecordLsn(), at)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a timing assumption
	}
}

// basebackup fetches a base backup through the page API.
func (n *node) basebackup(t testing.TB, tenant, tl string, at lsn.LSN, comp pagev1.BaseBackupCompression) ([]byte, error) {
	t.Helper()
	stream, err := n.pages.GetBaseBackup(callCtx(t), &pagev1.GetBaseBackupRequest{TenantId: tenant, TimelineId: tl, Lsn: uint64(at), Compression: comp})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return buf.Bytes(), nil
		}
		if err != nil {
			return nil, err
		}
		buf.Write(msg.GetChunk())
	}
}

// startFrom starts a stock PG15 from a base backup of the timeline.
func (n *node) startFrom(t testing.TB, tenant, tl string, at lsn.LSN) *pgtest.Cluster {
	t.Helper()
	tar, err := n.basebackup(t, tenant, tl, at, pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_NONE)
	if err != nil {
		t.Fatalf("basebackup of %s at %s: %v", tl, at, err)
	}
	c := pgtest.FromArchive(t, bytes.NewReader(tar), pgtest.Options{NoSlot: true})
	c.Start(t)
	return c
}

// snapshot captures query results that identify a cluster's state.
func snapshot(t testing.TB, c *pgtest.Cluster, dbs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, db := range dbs {
		tables, err := c.Psql(db, "select string_agg(format('%I.%I', schemaname, relname), ' ' order by relname) from pg_stat_user_tables")
		if err != nil {
			t.Fatal(err)
		}
		for _, tab := range strings.Fields(tables) {
			q := fmt.Sprintf("select count(*), coalesce(md5(string_agg(t::text, ',' order by t::text)), '-') from %s t", tab)
			out, err := c.Psql(db, q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			fmt.Fprintf(&b, "%s %s: %s\n", db, tab, out)
		}
	}
	return b.String()
}

func wantCode(t testing.TB, err error, code codes.Code, contains string) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("got %v, want code %s", err, code)
	}
	if contains != "" && !strings.Contains(status.Convert(err).Message(), contains) {
		t.Fatalf("error %q does not mention %q", status.Convert(err).Message(), contains)
	}
}

type point struct {
	at   lsn.LSN
	want string
	dbs  []string
}

func mark(t testing.TB, p *pgtest.Cluster, dbs ...string) point {
	t.Helper()
	p.SQL(t, "select pg_switch_wal()") // nothing in flight: the snapshot is the state at the LSN
	want := snapshot(t, p, dbs...)
	return point{at: p.FlushLSN(t), want: want, dbs: dbs}
}

// A running primary imported into Strata, streamed while pgbench and DDL run,
// is reproduced by stock PostgreSQL servers started from Strata's basebackup
// at recorded LSNs; a branch at an earlier LSN runs as its own primary whose
// WAL lands in the branch; after a restart ingest resumes.
func TestPageServiceStreamsARunningPrimary(t *testing.T) {
	primary := pgtest.Start(t, pgtest.Options{})
	primary.SQL(t, "create table accounts (id int primary key, balance bigint, note text)",
		"insert into accounts select g, 0, repeat('x', g % 200) from generate_series(1, 5000) g")
	primary.Pgbench(t, "-i", "-s", "1", "-q")

	workdir := t.TempDir()
	n := startNode(t, workdir)
	ctx := callCtx(t)
	tenant := id.Generate().String()
	if _, err := n.mgmt.CreateTenant(ctx, &pagev1.CreateTenantRequest{NewTenantId: &tenant}); err != nil {
		t.Fatal(err)
	}

	// Writes run while the base backup is taken: the imported files are fuzzy.
	writes := make(chan error, 1)
	go func() {
		for i := 0; i < 100; i++ {
			if _, err := primary.Psql("postgres", fmt.Sprintf("update accounts set balance = balance + 1 where id %% 100 = %d", i)); err != nil {
				writes <- err
				return
			}
		}
		writes <- nil
	}()
	root := id.Generate().String()
	created, err := n.mgmt.CreateTimeline(ctx, &pagev1.CreateTimelineRequest{TenantId: tenant, NewTimelineId: &root,
		Source: &pagev1.TimelineSource{Connstr: primary.ConnString("") + "&password=s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-writes; err != nil {
		t.Fatal(err)
	}
	info := created.GetTimeline()
	t.Logf("imported: initdb_lsn %s, min_readable_lsn %s, source %s", info.GetInitdbLsn(), info.GetMinReadableLsn(), info.GetWalSourceConnstr())
	if strings.Contains(info.GetWalSourceConnstr(), "s3cret") {
		t.Errorf("wal_source_connstr shows the password: %s", info.GetWalSourceConnstr())
	}
	minReadable := lsn.MustParse(info.GetMinReadableLsn())

	var points []point
	points = append(points, mark(t, primary, "postgres"))
	primary.Pgbench(t, "-c", "2", "-t", "200", "-n")
	primary.SQL(t,
		"create table t2 (id int, body text)",
		"insert into t2 select g, md5(g::text) from generate_series(1, 3000) g",
		"create index on t2 (body)",
		"delete from accounts where id % 7 = 0",
		"vacuum accounts",
		"drop table pgbench_history",
		"create database other",
	)
	primary.SQLDB(t, "other", "create table o (v int)", "insert into o select generate_series(1, 500)")
	points = append(points, mark(t, primary, "postgres", "other"))
	n.waitIngested(t, tenant, root, primary.FlushLSN(t))

	for i, pt := range points {
		t.Run(fmt.Sprintf("basebackup at point %d reproduces the primary", i), func(t *testing.T) {
			c := n.startFrom(t, tenant, root, pt.at)
			if got := snapshot(t, c, pt.dbs...); got != pt.want {
				t.Errorf("query results differ at %s\n got:\n%s\nwant:\n%s", pt.at, got, pt.want)
			}
		})
	}

	t.Run("sizes are reported", func(t *testing.T) {
		resp, err := n.mgmt.GetTimeline(ctx, &pagev1.GetTimelineRequest{TenantId: tenant, TimelineId: root, IncludeNonIncrementalLogicalSize: true})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetTimeline().GetCurrentPhysicalSize() == 0 || resp.GetTimeline().GetCurrentLogicalSizeNonIncremental() < 8<<20 {
			t.Errorf("physical size %d, logical size %d", resp.GetTimeline().GetCurrentPhysicalSize(), resp.GetTimeline().GetCurrentLogicalSizeNonIncremental())
		}
	})

	t.Run("WAL receiver metrics are exported", func(t *testing.T) {
		resp, err := http.Get("http://" + n.svc.AdminAddr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, re := range []string{`strata_walreceiver_received_bytes_total [1-9]`, `strata_walreceiver_ingested_records_total [1-9]`,
			`strata_walreceiver_last_record_lsn\{tenant_id="` + tenant + `",timeline_id="` + root + `"\} [1-9]`} {
			if !regexp.MustCompile(re).Match(body) {
				t.Errorf("no metric matching %s", re)
			}
		}
	})

	t.Run("a gzip basebackup at the tip starts", func(t *testing.T) {
		gz, err := n.basebackup(t, tenant, root, 0, pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_GZIP)
		if err != nil {
			t.Fatal(err)
		}
		r, err := basebackup.Decompress(basebackup.Gzip, bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		c := pgtest.FromArchive(t, r, pgtest.Options{NoSlot: true})
		c.Start(t)
		if got := snapshot(t, c, points[1].dbs...); got != points[1].want {
			t.Errorf("query results differ at the tip\n got:\n%s\nwant:\n%s", got, points[1].want)
		}
	})

	t.Run("page API reads relations at an LSN", func(t *testing.T) {
		rel := primary.Query(t, "select pg_relation_filenode('t2')")
		db := primary.Query(t, "select oid from pg_database where datname = 'postgres'")
		var relNo, dbOid uint32
		fmt.Sscan(rel, &relNo)
		fmt.Sscan(db, &dbOid)
		tag := &pagev1.RelTag{SpcOid: 1663, DbOid: dbOid, RelNumber: relNo}
		at := &pagev1.ReadLSN{RequestLsn: uint64(points[1].at)}
		size, err := n.pages.GetRelSize(ctx, &pagev1.GetRelSizeRequest{TenantId: tenant, TimelineId: root, ReadLsn: at, Rel: tag})
		if err != nil {
			t.Fatal(err)
		}
		want := primary.Query(t, "select pg_relation_size('t2') / 8192")
		if fmt.Sprint(size.GetNumBlocks()) != want {
			t.Errorf("t2 has %d blocks, primary says %s", size.GetNumBlocks(), want)
		}
		// Before t2 existed it is missing.
		before := &pagev1.ReadLSN{RequestLsn: uint64(points[0].at)}
		ex, err := n.pages.CheckRelExists(ctx, &pagev1.CheckRelExistsRequest{TenantId: tenant, TimelineId: root, ReadLsn: before, Rel: tag})
		if err != nil || ex.GetExists() {
			t.Errorf("t2 exists at point 0: %v %v", ex.GetExists(), err)
		}
		stream, err := n.pages.GetPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		reqs := []*pagev1.GetPagesRequest{
			{RequestId: 1, TenantId: tenant, TimelineId: root, ReadLsn: at, Rel: tag, BlockNumber: []uint32{0, 1, size.GetNumBlocks() + 5}},
			{RequestId: 2, TenantId: tenant, TimelineId: root, ReadLsn: before, Rel: tag, BlockNumber: []uint32{0}},
			{RequestId: 3, TenantId: tenant, TimelineId: root, ReadLsn: &pagev1.ReadLSN{RequestLsn: uint64(minReadable) - 8}, Rel: tag, BlockNumber: []uint32{0}},
		}
		for _, r := range reqs {
			if err := stream.Send(r); err != nil {
				t.Fatal(err)
			}
		}
		stream.CloseSend()
		want2 := map[uint64]pagev1.PageStatus{1: pagev1.PageStatus_PAGE_STATUS_OK, 2: pagev1.PageStatus_PAGE_STATUS_NOT_FOUND, 3: pagev1.PageStatus_PAGE_STATUS_INVALID_REQUEST}
		for range reqs {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetStatus() != want2[resp.GetRequestId()] {
				t.Errorf("request %d: status %s (%s), want %s", resp.GetRequestId(), resp.GetStatus(), resp.GetReason(), want2[resp.GetRequestId()])
			}
			if resp.GetRequestId() == 1 {
				if len(resp.GetPages()) != 3 {
					t.Fatalf("got %d pages", len(resp.GetPages()))
				}
				if !bytes.Equal(resp.GetPages()[2].GetImage(), make([]byte, 8192)) {
					t.Error("a block beyond the relation's end is not a zero page")
				}
				if bytes.Equal(resp.GetPages()[0].GetImage(), make([]byte, 8192)) {
					t.Error("block 0 of t2 is a zero page")
				}
			}
		}
		dbSize, err := n.pages.GetDbSize(ctx, &pagev1.GetDbSizeRequest{TenantId: tenant, TimelineId: root, ReadLsn: at, DbOid: dbOid})
		if err != nil || dbSize.GetNumBytes() == 0 {
			t.Errorf("db size %d, %v", dbSize.GetNumBytes(), err)
		}
		seg, err := n.pages.GetSlruSegment(ctx, &pagev1.GetSlruSegmentRequest{TenantId: tenant, TimelineId: root, ReadLsn: at, Kind: pagev1.SlruKind_SLRU_KIND_CLOG})
		if err != nil || len(seg.GetSegment()) == 0 || len(seg.GetSegment())%8192 != 0 {
			t.Errorf("clog segment 0: %d bytes, %v", len(seg.GetSegment()), err)
		}
	})

	t.Run("bad input is refused with the right code", func(t *testing.T) {
		_, err := n.mgmt.GetTenant(ctx, &pagev1.GetTenantRequest{TenantId: "not-an-id"})
		wantCode(t, err, codes.InvalidArgument, "tenant_id")
		_, err = n.mgmt.GetTenant(ctx, &pagev1.GetTenantRequest{TenantId: id.Generate().String()})
		wantCode(t, err, codes.NotFound, "")
		_, err = n.mgmt.GetTimeline(ctx, &pagev1.GetTimelineRequest{TenantId: tenant, TimelineId: "zz"})
		wantCode(t, err, codes.InvalidArgument, "timeline_id")
		_, err = n.mgmt.GetTimeline(ctx, &pagev1.GetTimelineRequest{TenantId: tenant, TimelineId: id.Generate().String()})
		wantCode(t, err, codes.NotFound, "")
		_, err = n.mgmt.CreateTenant(ctx, &pagev1.CreateTenantRequest{NewTenantId: &tenant})
		wantCode(t, err, codes.AlreadyExists, "")
		bad := "ten minutes"
		_, err = n.mgmt.CreateTenant(ctx, &pagev1.CreateTenantRequest{CheckpointTimeout: &bad})
		wantCode(t, err, codes.InvalidArgument, "checkpoint_timeout")
		tip := lsn.MustParse(n.timeline(t, tenant, root).GetLastRecordLsn())
		above := (tip + 1<<20).String()
		_, err = n.mgmt.CreateTimeline(ctx, &pagev1.CreateTimelineRequest{TenantId: tenant, AncestorTimelineId: &root, AncestorStartLsn: &above})
		wantCode(t, err, codes.InvalidArgument, above)
		below := (minReadable - 8).String()
		_, err = n.mgmt.CreateTimeline(ctx, &pagev1.CreateTimelineRequest{TenantId: tenant, AncestorTimelineId: &root, AncestorStartLsn: &below})
		wantCode(t, err, codes.InvalidArgument, "minimum readable LSN")
		_, err = n.basebackup(t, tenant, root, minReadable-8, pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_NONE)
		wantCode(t, err, codes.InvalidArgument, "minimum readable LSN")
	})

	t.Run("a branch at an earlier LSN runs as its own primary and its WAL lands in the branch", func(t *testing.T) {
		branch := id.Generate().String()
		at := points[0].at.String()
		if _, err := n.mgmt.CreateTimeline(ctx, &pagev1.CreateTimelineRequest{TenantId: tenant, NewTimelineId: &branch,
			AncestorTimelineId: &root, AncestorStartLsn: &at}); err != nil {
			t.Fatal(err)
		}
		bpg := n.startFrom(t, tenant, branch, 0)
		if got := snapshot(t, bpg, points[0].dbs...); got != points[0].want {
			t.Fatalf("the branch differs from the primary at %s\n got:\n%s\nwant:\n%s", at, got, points[0].want)
		}
		if _, err := n.mgmt.SetTimelineWalSource(ctx, &pagev1.SetTimelineWalSourceRequest{TenantId: tenant, TimelineId: branch,
			Source: &pagev1.TimelineSource{Connstr: bpg.ConnString("")}}); err != nil {
			t.Fatal(err)
		}
		bpg.SQL(t, "insert into accounts values (-1, 42, 'written on the branch')", "create table branch_only (v int)", "insert into branch_only values (7)")
		// pgtest runs with synchronous_commit off: wait for the insert LSN,
		// which the walwriter flushes and the walsender then sends.
		n.waitIngested(t, tenant, branch, bpg.CurrentLSN(t))
		c := n.startFrom(t, tenant, branch, 0)
		if got := c.Query(t, "select balance::text || ' ' || note from accounts where id = -1"); got != "42 written on the branch" {
			t.Errorf("the branch's row read back through basebackup: %q", got)
		}
		if got := c.Query(t, "select sum(v) from branch_only"); got != "7" {
			t.Errorf("branch_only: %q", got)
		}
		if got := primary.Query(t, "select count(*) from accounts where id = -1"); got != "0" {
			t.Errorf("the branch's row is on the primary: %s", got)
		}
		stopStart := time.Now()
		bpg.Stop(t, "fast")
		t.Logf("the branch's primary stopped in %s while streaming to page-service", time.Since(stopStart))
		detached, err := n.mgmt.SetTimelineWalSource(ctx, &pagev1.SetTimelineWalSourceRequest{TenantId: tenant, TimelineId: branch, Source: &pagev1.TimelineSource{}})
		if err != nil {
			t.Fatal(err)
		}
		if detached.GetTimeline().WalSourceConnstr != nil {
			t.Errorf("source still attached: %s", detached.GetTimeline().GetWalSourceConnstr())
		}
	})

	t.Run("after a restart tenants load and ingest resumes from the slot", func(t *testing.T) {
		n.stop()
		primary.SQL(t, "insert into accounts values (-2, 2, 'while page-service was down')")
		n2 := startNode(t, workdir)
		primary.SQL(t, "insert into accounts values (-3, 3, 'after the restart')")
		pt := mark(t, primary, "postgres", "other")
		n2.waitIngested(t, tenant, root, pt.at)
		c := n2.startFrom(t, tenant, root, pt.at)
		if got := snapshot(t, c, pt.dbs...); got != pt.want {
			t.Errorf("query results differ after the restart at %s\n got:\n%s\nwant:\n%s", pt.at, got, pt.want)
		}
		list, err := n2.mgmt.ListTenants(callCtx(t), &pagev1.ListTenantsRequest{})
		if err != nil || len(list.GetTenants()) != 1 || list.GetTenants()[0].GetState() != "Active" {
			t.Errorf("tenants after restart: %v %v", list, err)
		}
	})
}
