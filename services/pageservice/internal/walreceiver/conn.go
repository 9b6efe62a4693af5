package walreceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Connect opens a physical replication connection (replication=true) to the
// server of connstr. connstr is a libpq URL or key=value string; it is
// never logged or put into errors (the errors of pgconn name host and port
// only).
func Connect(ctx context.Context, connstr string, timeout time.Duration) (*pgconn.PgConn, error) {
	cfg, err := pgconn.ParseConfig(connstr)
	if err != nil {
		// pgconn's parse errors may quote the string: do not wrap them.
		return nil, errors.New("parse WAL source connection string: invalid connection string")
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["replication"] = "true"
	delete(cfg.RuntimeParams, "database")
	if timeout > 0 {
		cfg.ConnectTimeout = timeout
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to WAL source %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	return conn, nil
}

// EnsureSlot creates the physical replication slot name with RESERVE_WAL
// unless it exists. It reports whether it created the slot.
func EnsureSlot(ctx context.Context, conn *pgconn.PgConn, name string) (bool, error) {
	if !ValidSlotName(name) {
		return false, fmt.Errorf("replication slot name %q: only lower-case letters, digits and underscores, at most 63", name)
	}
	_, err := conn.Exec(ctx, "CREATE_REPLICATION_SLOT "+name+" PHYSICAL RESERVE_WAL").ReadAll()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42710" { // duplicate_object
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create replication slot %s: %w", name, err)
	}
	return true, nil
}

// DropSlot drops the replication slot name on a new connection (best
// effort cleanup after a failed timeline creation: a leaked slot would keep
// WAL on the source forever).
func DropSlot(ctx context.Context, connstr, name string) error {
	conn, err := Connect(ctx, connstr, 0)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP_REPLICATION_SLOT "+name).ReadAll(); err != nil {
		return fmt.Errorf("drop replication slot %s: %w", name, err)
	}
	return nil
}

// ValidSlotName reports whether s may name a replication slot: lower-case
// letters, digits and underscores, at most 63 bytes.
func ValidSlotName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// IsPeerClosed reports whether err means the server ended the connection
// (shutdown, restart, network close): logged at INFO, not ERROR.
func IsPeerClosed(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, errStreamEnded) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03") {
		return true // admin_shutdown, crash_shutdown, cannot_connect_now
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true // connection refused or reset: the server is down
	}
	s := err.Error()
	return strings.Contains(s, "connection reset") || strings.Contains(s, "connection refused") || strings.Contains(s, "unexpected EOF")
}

var errStreamEnded = errors.New("the server ended streaming")
