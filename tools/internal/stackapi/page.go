package stackapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/platform/grpcx"
	"github.com/stratadb/strata/libs/platform/logging"
	pagev1 "github.com/stratadb/strata/proto/gen/strata/pageservice/v1"
)

// DialPageService opens a gRPC connection to page-service that sends the
// client's token on every call. The caller closes it.
func (c *Client) DialPageService() (*grpc.ClientConn, error) {
	if c.PageServiceAddr == "" {
		return nil, errors.New("stack.json names no page-service gRPC address")
	}
	return grpcx.Dial(c.PageServiceAddr, grpcx.ClientConfig{Token: logging.Secret(c.Token)})
}

// ParseCompression maps "none", "gzip" or "zstd" to the API's enum.
func ParseCompression(s string) (pagev1.BaseBackupCompression, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_NONE, nil
	case "gzip":
		return pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_GZIP, nil
	case "zstd":
		return pagev1.BaseBackupCompression_BASE_BACKUP_COMPRESSION_ZSTD, nil
	}
	return 0, fmt.Errorf("invalid compression %q: want none, gzip or zstd", s)
}

// BaseBackup streams GetBaseBackup of a timeline at an LSN (lsn.Invalid: the
// timeline's last record) into w and returns the number of bytes written.
// An error midway leaves w holding a prefix without the end-of-archive
// marker; the caller must not treat it as a backup.
func (c *Client) BaseBackup(ctx context.Context, tenantID, timelineID string, at lsn.LSN, comp pagev1.BaseBackupCompression, w io.Writer) (int64, error) {
	conn, err := c.DialPageService()
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	return BaseBackupOn(ctx, conn, tenantID, timelineID, at, comp, w)
}

// BaseBackupOn is BaseBackup over an existing connection.
func BaseBackupOn(ctx context.Context, conn grpc.ClientConnInterface, tenantID, timelineID string, at lsn.LSN, comp pagev1.BaseBackupCompression, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pagev1.NewPageServiceClient(conn).GetBaseBackup(ctx, &pagev1.GetBaseBackupRequest{
		TenantId: tenantID, TimelineId: timelineID, Lsn: uint64(at), Compression: comp,
	})
	if err != nil {
		return 0, fmt.Errorf("basebackup of %s/%s at %s: %w", tenantID, timelineID, atText(at), err)
	}
	var n int64
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("basebackup of %s/%s at %s after %d bytes: %w", tenantID, timelineID, atText(at), n, err)
		}
		m, err := w.Write(msg.GetChunk())
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("basebackup of %s/%s: write: %w", tenantID, timelineID, err)
		}
	}
}

func atText(at lsn.LSN) string {
	if at == lsn.Invalid {
		return "its last record"
	}
	return at.String()
}
