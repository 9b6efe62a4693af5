package pageservice

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/basebackup"
	"github.com/stratadb/strata/libs/postgres/datadir"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
	"github.com/stratadb/strata/services/pageservice/internal/tenantmgr"
)

// pages implements pagev1.PageServiceServer: the read path at an LSN.
//
// LSN rules (Neon's): request_lsn 0 reads at last_record_lsn; a
// not_modified_since promise lets a read use min(request_lsn,
// last_record_lsn) after waiting only for not_modified_since; otherwise the
// read waits for request_lsn up to wait_lsn_timeout. Reads below the GC
// cutoff or the timeline's minimum readable LSN are InvalidArgument. A block
// beyond the relation's size reads as a zero page.
type pages struct {
	pagev1.UnimplementedPageServiceServer
	tenants *tenantmgr.Manager
}

// baseBackupChunk is the size of GetBaseBackup messages.
const baseBackupChunk = 256 << 10

func (p *pages) timeline(ctx context.Context, tenantID, timelineID string) (*tenantmgr.Timeline, error) {
	tid, err := parseTenantID(tenantID)
	if err != nil {
		return nil, err
	}
	tlid, err := parseTimelineID(timelineID)
	if err != nil {
		return nil, err
	}
	t, err := p.tenants.Active(ctx, tid)
	if err != nil {
		return nil, err
	}
	return t.Timeline(tlid)
}

// view resolves the read LSN of a request and returns the data directory
// view at it.
func (p *pages) view(ctx context.Context, tenantID, timelineID string, rl *pagev1.ReadLSN) (*datadir.View, error) {
	tl, err := p.timeline(ctx, tenantID, timelineID)
	if err != nil {
		return nil, err
	}
	at, err := tl.ReadLSN(ctx, lsn.LSN(rl.GetRequestLsn()), lsn.LSN(rl.GetNotModifiedSinceLsn()))
	if err != nil {
		return nil, err
	}
	return datadir.At(tl.TL, at), nil
}

func relTag(r *pagev1.RelTag) (key.RelTag, error) {
	if r == nil {
		return key.RelTag{}, fmt.Errorf("rel: %w: missing", ErrInvalidArgument)
	}
	if r.GetForkNumber() > uint32(key.ForkInit) {
		return key.RelTag{}, fmt.Errorf("rel: %w: fork number %d", ErrInvalidArgument, r.GetForkNumber())
	}
	return key.RelTag{SpcNode: r.GetSpcOid(), DbNode: r.GetDbOid(), RelNode: r.GetRelNumber(), Fork: uint8(r.GetForkNumber())}, nil
}

func (p *pages) GetPages(stream grpc.BidiStreamingServer[pagev1.GetPagesRequest, pagev1.GetPagesResponse]) error {
	ctx := stream.Context()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		resp := &pagev1.GetPagesResponse{RequestId: req.GetRequestId(), Status: pagev1.PageStatus_PAGE_STATUS_OK}
		if err := p.getPages(ctx, req, resp); err != nil {
			if ctx.Err() != nil {
				return toStatus(ctx.Err())
			}
			resp.Pages = nil
			resp.Status = pageStatus(err)
			resp.Reason = err.Error()
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

func (p *pages) getPages(ctx context.Context, req *pagev1.GetPagesRequest, resp *pagev1.GetPagesResponse) error {
	tag, err := relTag(req.GetRel())
	if err != nil {
		return err
	}
	v, err := p.view(ctx, req.GetTenantId(), req.GetTimelineId(), req.GetReadLsn())
	if err != nil {
		return err
	}
	if ok, err := v.RelExists(ctx, tag); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("relation %s at %s: %w", tag, v.LSN(), datadir.ErrNoRelation)
	}
	for _, blk := range req.GetBlockNumber() {
		img, err := v.Page(ctx, key.RelBlock(tag, blk))
		if err != nil {
			return fmt.Errorf("read %s block %d at %s: %w", tag, blk, v.LSN(), err)
		}
		resp.Pages = append(resp.Pages, &pagev1.Page{BlockNumber: blk, Image: img})
	}
	return nil
}

// pageStatus classifies a failed GetPages request (through codeOf, the one
// error mapping of page-service).
func pageStatus(err error) pagev1.PageStatus {
	switch codeOf(err) {
	case codes.NotFound:
		return pagev1.PageStatus_PAGE_STATUS_NOT_FOUND
	case codes.InvalidArgument:
		return pagev1.PageStatus_PAGE_STATUS_INVALID_REQUEST
	case codes.DeadlineExceeded:
		return pagev1.PageStatus_PAGE_STATUS_LSN_TIMEOUT
	case codes.ResourceExhausted:
		return pagev1.PageStatus_PAGE_STATUS_SLOW_DOWN
	default:
		return pagev1.PageStatus_PAGE_STATUS_INTERNAL_ERROR
	}
}

func (p *pages) GetPage(ctx context.Context, req *pagev1.GetPageRequest) (*pagev1.GetPageResponse, error) {
	at, err := parseOptLSN("lsn", req.GetLsn())
	if err != nil {
		return nil, toStatus(err)
	}
	tag, err := relTag(&pagev1.RelTag{SpcOid: req.GetSpc(), DbOid: req.GetDb(), RelNumber: req.GetRel(), ForkNumber: req.GetFork()})
	if err != nil {
		return nil, toStatus(err)
	}
	v, err := p.view(ctx, req.GetTenantId(), req.GetTimelineId(), &pagev1.ReadLSN{RequestLsn: uint64(at)})
	if err != nil {
		return nil, toStatus(err)
	}
	if ok, err := v.RelExists(ctx, tag); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("relation %s at %s: %w", tag, v.LSN(), datadir.ErrNoRelation)
		}
		return nil, toStatus(err)
	}
	img, err := v.Page(ctx, key.RelBlock(tag, req.GetBlkno()))
	if err != nil {
		return nil, toStatus(fmt.Errorf("read %s block %d at %s: %w", tag, req.GetBlkno(), v.LSN(), err))
	}
	return &pagev1.GetPageResponse{Lsn: v.LSN().String(), Image: img}, nil
}

func (p *pages) GetRelSize(ctx context.Context, req *pagev1.GetRelSizeRequest) (*pagev1.GetRelSizeResponse, error) {
	tag, err := relTag(req.GetRel())
	if err != nil {
		return nil, toStatus(err)
	}
	v, err := p.view(ctx, req.GetTenantId(), req.GetTimelineId(), req.GetReadLsn())
	if err != nil {
		return nil, toStatus(err)
	}
	n, err := v.RelSize(ctx, tag)
	if errors.Is(err, datadir.ErrNoRelation) && req.GetAllowMissing() {
		return &pagev1.GetRelSizeResponse{Missing: true}, nil
	}
	if err != nil {
		return nil, toStatus(fmt.Errorf("size of %s at %s: %w", tag, v.LSN(), err))
	}
	return &pagev1.GetRelSizeResponse{NumBlocks: n}, nil
}

func (p *pages) CheckRelExists(ctx context.Context, req *pagev1.CheckRelExistsRequest) (*pagev1.CheckRelExistsResponse, error) {
	tag, err := relTag(req.GetRel())
	if err != nil {
		return nil, toStatus(err)
	}
	v, err := p.view(ctx, req.GetTenantId(), req.GetTimelineId(), req.GetReadLsn())
	if err != nil {
		return nil, toStatus(err)
	}
	ok, err := v.RelExists(ctx, tag)
	if err != nil {
		return nil, toStatus(fmt.Errorf("exists %s at %s: %w", tag, v.LSN(), err))
	}
	return &pagev1.CheckRelExistsResponse{Exists: ok}, nil
}

func (p *pages) GetDbSize(ctx context.Context, req *pagev1.GetDbSizeRequest) (*pagev1.GetDbSizeResponse, error) {
	v, err := p.view(ctx, req.GetTenantId(), req.GetTimelineId(), req.GetReadLsn())
	if err != nil {
		return nil, toStatus(err)
	}
	n, err := v.DbSize(ctx, basebackup.DefaultTablespace, req.GetDbOid())
	if err != nil {
		return nil, toStatus(fmt.Errorf("size of database %d at %s: %w", req.GetDbOid(), v.LSN(), err))
	}
	return &pagev1.GetDbSizeResponse{NumBytes: n}, nil
}

var slruKinds = map[pagev1.SlruKind]uint32{
	pagev1.SlruKind_SLRU_KIND_CLOG:              key.SLRUClog,
	pagev1.SlruKind_SLRU_KIND_MULTIXACT_MEMBERS: key.SLRUMultiXactMembers,
	pagev1.SlruKind_SLRU_KIND_MULTIXACT_OFFSETS: key.SLRUMultiXactOffsets,
}

func (p *pages) GetSlruSegment(ctx context.Context, req *pagev1.GetSlruSegmentRequest) (*pagev1.GetSlruSegmentResponse, error) {
	kind, ok := slruKinds[req.GetKind()]
	if !ok {
		return nil, toStatus(fmt.Errorf("kind %s: %w", req.GetKind(), ErrInvalidArgument))
	}
	v, err := p.view(ctx, req.GetTenantId(), req.GetTimelineId(), req.GetReadLsn())
	if err != nil {
		return nil, toStatus(err)
	}
	seg, err := v.SLRUSegment(ctx, kind, req.GetSegno())
	if err != nil {
		return nil, toStatus(fmt.Errorf("SLRU %s segment %04X at %s: %w", req.GetKind(), req.GetSegno(), v.LSN(), err))
	}
	return &pagev1.GetSlruSegmentResponse{Segment: seg}, nil
}

var compressions = map[pagev1.BaseBackupCompression]basebackup.Compression{
	pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_UNSPECIFIED: basebackup.None,
	pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_NONE:        basebackup.None,
	pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_GZIP:        basebackup.Gzip,
	pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_ZSTD:        basebackup.Zstd,
}

// chunkSender sends each write as one GetBaseBackup message (gRPC copies it
// before Send returns).
type chunkSender struct {
	stream grpc.ServerStreamingServer[pagev1.GetBaseBackupResponse]
}

func (c chunkSender) Write(b []byte) (int, error) {
	if err := c.stream.Send(&pagev1.GetBaseBackupResponse{Chunk: b}); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (p *pages) GetBaseBackup(req *pagev1.GetBaseBackupRequest, stream grpc.ServerStreamingServer[pagev1.GetBaseBackupResponse]) error {
	ctx := stream.Context()
	comp, ok := compressions[req.GetCompression()]
	if !ok {
		return toStatus(fmt.Errorf("compression %s: %w", req.GetCompression(), ErrInvalidArgument))
	}
	tl, err := p.timeline(ctx, req.GetTenantId(), req.GetTimelineId())
	if err != nil {
		return toStatus(err)
	}
	at, err := tl.ReadLSN(ctx, lsn.LSN(req.GetLsn()), 0)
	if err != nil {
		return toStatus(err)
	}
	bw := bufio.NewWriterSize(chunkSender{stream}, baseBackupChunk)
	_, err = basebackup.Write(ctx, bw, datadir.At(tl.TL, at), basebackup.Options{LSN: at, Compression: comp})
	// Send what was written even on failure: the archive is unterminated,
	// and the error status follows it.
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return toStatus(fmt.Errorf("basebackup of %s at %s: %w", tl.TL.ID(), at, err))
	}
	return nil
}
