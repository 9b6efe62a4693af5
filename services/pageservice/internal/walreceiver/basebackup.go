package walreceiver

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/stratadb/strata/libs/engine/lsn"
)

// BaseBackup is a BASE_BACKUP in progress on a replication connection.
type BaseBackup struct {
	conn *pgconn.PgConn
	// Start is the backup's start LSN: the redo point of its checkpoint.
	Start lsn.LSN
	// TimeLineID is the server's timeline at the start.
	TimeLineID uint32
}

// StartBaseBackup sends BASE_BACKUP (fast checkpoint, no WAL, no manifest)
// and reads the start position. Only the base tablespace is supported.
func StartBaseBackup(ctx context.Context, conn *pgconn.PgConn, label string) (*BaseBackup, error) {
	res, err := pglogrepl.StartBaseBackup(ctx, conn, pglogrepl.BaseBackupOptions{Label: label, Fast: true, NoWait: true})
	if err != nil {
		return nil, fmt.Errorf("start base backup: %w", err)
	}
	if len(res.Tablespaces) > 0 {
		return nil, fmt.Errorf("start base backup: the source has %d tablespaces besides pg_default and pg_global: not supported", len(res.Tablespaces))
	}
	return &BaseBackup{conn: conn, Start: lsn.LSN(res.LSN), TimeLineID: uint32(res.TimelineID)}, nil
}

// Stream copies the base archive (a tar) to w and reads the end position:
// the LSN from which the copied data files are consistent.
func (b *BaseBackup) Stream(ctx context.Context, w io.Writer) (lsn.LSN, error) {
	if err := pglogrepl.NextTableSpace(ctx, b.conn); err != nil {
		return lsn.Invalid, fmt.Errorf("base backup: %w", err)
	}
	archives := 0
	manifest := false
	for done := false; !done; {
		msg, err := b.conn.ReceiveMessage(ctx)
		if err != nil {
			return lsn.Invalid, fmt.Errorf("base backup: receive: %w", err)
		}
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			if len(msg.Data) == 0 {
				continue
			}
			switch msg.Data[0] {
			case 'n': // new archive
				archives++
				if archives > 1 {
					return lsn.Invalid, errors.New("base backup: more than one archive (tablespaces are not supported)")
				}
			case 'm': // manifest follows
				manifest = true
			case 'd':
				if manifest {
					continue
				}
				if _, err := w.Write(msg.Data[1:]); err != nil {
					return lsn.Invalid, fmt.Errorf("base backup: import: %w", err)
				}
			}
		case *pgproto3.CopyDone:
			done = true
		case *pgproto3.ErrorResponse:
			return lsn.Invalid, fmt.Errorf("base backup: %w", pgconn.ErrorResponseToPgError(msg))
		}
	}
	res, err := pglogrepl.FinishBaseBackup(ctx, b.conn)
	if err != nil {
		return lsn.Invalid, fmt.Errorf("finish base backup: %w", err)
	}
	return lsn.LSN(res.LSN), nil
}
