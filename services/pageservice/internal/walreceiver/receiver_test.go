package walreceiver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/metadata"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/engine/vfs"
	"github.com/stratadb/strata/libs/platform/logging"
	"github.com/stratadb/strata/libs/postgres/datadir"
	"github.com/stratadb/strata/libs/postgres/wal"
)

func TestMalformedWALMakesTheTimelineBrokenWithTheLSN(t *testing.T) {
	start := lsn.MustParse("0/1000028")
	tl, err := timeline.Create(vfs.Default(), t.TempDir(), id.Generate(),
		metadata.Metadata{InitDBLSN: start, LatestGCCutoffLSN: start, PGVersion: 15}, nil, timeline.Options{}, timeline.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	r := New(Config{SlotName: "s"}, tl, logging.Discard(), nil)
	dec := wal.NewDecoder(start, wal.DecoderOptions{})
	garbage := bytes.Repeat([]byte{0xFF}, wal.BlockSize)
	_, err = r.ingest(context.Background(), dec, datadir.NewIngester(tl, start), pglogrepl.XLogData{WALStart: pglogrepl.LSN(lsn.MustParse("0/1000000")), WALData: garbage})
	var be brokenError
	if !errors.As(err, &be) {
		t.Fatalf("ingest of garbage: %v, want a brokenError", err)
	}
	st, reason := tl.State()
	if st != timeline.Broken || !strings.Contains(reason, "malformed WAL at 0/10000") {
		t.Errorf("timeline is %s (%q), want Broken naming the LSN", st, reason)
	}
}

func TestPeerClosedErrorsAreRecognized(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"end of stream", io.EOF, true},
		{"unexpected end of stream", io.ErrUnexpectedEOF, true},
		{"server shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"the server ended streaming", errStreamEnded, true},
		{"a syntax error", &pgconn.PgError{Code: "42601"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPeerClosed(tt.err); got != tt.want {
				t.Errorf("IsPeerClosed(%v) = %v", tt.err, got)
			}
		})
	}
}

func TestSlotNamesAreValidated(t *testing.T) {
	for _, s := range []string{"", "Upper", "with-dash", "x; drop", strings.Repeat("a", 64)} {
		if ValidSlotName(s) {
			t.Errorf("%q accepted", s)
		}
	}
	if !ValidSlotName("strata_0123abcd") {
		t.Error("a valid name refused")
	}
}

func TestConnectingToAStoppedServerIsAPeerClose(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	_, err = Connect(context.Background(), "postgres://u:secretpw@127.0.0.1:"+strconv.Itoa(addr.Port)+"/postgres", 0)
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	if !IsPeerClosed(err) {
		t.Errorf("IsPeerClosed(%v) = false", err)
	}
	if strings.Contains(err.Error(), "secretpw") {
		t.Errorf("the error shows the password: %v", err)
	}
	if _, err := Connect(context.Background(), "postgres://u:secretpw@[bad", 0); err == nil || strings.Contains(err.Error(), "secretpw") {
		t.Errorf("parse error: %v", err)
	}
}
