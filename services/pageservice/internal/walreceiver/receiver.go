// Package walreceiver streams WAL from a PostgreSQL 15 server into one
// timeline over physical replication.
//
// A Receiver owns one goroutine (Run) per timeline:
//
//	connect (replication=true) ──► IDENTIFY_SYSTEM ──► ensure slot ──► START_REPLICATION
//	   ▲                                                                │ XLogData: feed the
//	   │ backoff 100 ms .. 10 s                                         │ wal.Decoder, ingest
//	   └──────────── error / peer closed (INFO) ◄────────────────────────┘ every record
//
// Streaming starts at the page holding max(last_record_lsn, Config.StartLSN);
// the decoder starts at that LSN, so records are reassembled across messages,
// pages and segments. Every record is ingested through datadir.Ingester and
// made visible with FinishWrite(rec.EndLSN). Standby status updates report
// write = last_record_lsn, flush = disk_consistent_lsn, apply =
// remote_consistent_lsn (disk_consistent_lsn while nothing is uploaded), so
// the slot keeps WAL that is not yet durable in Strata; after a restart
// ingest resumes at disk_consistent_lsn and the slot still has the WAL. When
// the server asks for a reply while everything it sent is ingested (as its
// walsender does while it shuts down), the timeline is flushed first, so the
// reported flush position reaches the end of its WAL and it can stop.
//
// Malformed WAL (a *wal.Error) or an ingest failure makes the timeline Broken
// with the LSN in the reason, and Run returns: such WAL is never retried.
package walreceiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/postgres/datadir"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Config of one receiver.
type Config struct {
	Tenant, Timeline id.ID
	// ConnString is the source's libpq connection string (secret: never
	// logged).
	ConnString string
	// SlotName is the physical replication slot; created when missing.
	SlotName string
	// StartLSN is where the source's WAL for this timeline begins; streaming
	// starts at max(last_record_lsn, StartLSN).
	StartLSN lsn.LSN
	// ConnectTimeout bounds connecting (0: 10 s).
	ConnectTimeout time.Duration
	// StatusInterval is the period of standby status updates (0: 1 s).
	StatusInterval time.Duration
	// MaxBackoff caps the reconnect delay (0: 10 s).
	MaxBackoff time.Duration
}

// Metrics of the WAL receivers of one process.
type Metrics struct {
	ReceivedBytes   prometheus.Counter
	IngestedRecords prometheus.Counter
	LastRecordLSN   *prometheus.GaugeVec
}

// NewMetrics registers the receiver metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ReceivedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_walreceiver_received_bytes_total", Help: "WAL bytes received from sources.",
		}),
		IngestedRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_walreceiver_ingested_records_total", Help: "WAL records ingested into timelines.",
		}),
		LastRecordLSN: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "strata_walreceiver_last_record_lsn", Help: "last_record_lsn of a timeline after ingest.",
		}, []string{"tenant_id", "timeline_id"}),
	}
	if reg != nil {
		reg.MustRegister(m.ReceivedBytes, m.IngestedRecords, m.LastRecordLSN)
	}
	return m
}

// Receiver streams one timeline's WAL. Create with New, run with Run.
type Receiver struct {
	cfg Config
	tl  *timeline.Timeline
	log *slog.Logger
	met *Metrics

	mu          sync.Mutex
	lastMsgLSN  lsn.LSN
	lastMsgTime time.Time
}

// New returns a receiver for tl. log and met may be nil.
func New(cfg Config, tl *timeline.Timeline, log *slog.Logger, met *Metrics) *Receiver {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.StatusInterval <= 0 {
		cfg.StatusInterval = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	if met == nil {
		met = NewMetrics(nil)
	}
	return &Receiver{cfg: cfg, tl: tl, met: met,
		log: log.With("component", "walreceiver", "tenant_id", cfg.Tenant.String(), "timeline_id", cfg.Timeline.String(), "slot", cfg.SlotName)}
}

// LastReceived returns the LSN and time of the last message from the source.
func (r *Receiver) LastReceived() (lsn.LSN, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastMsgLSN, r.lastMsgTime
}

// brokenError ends Run: the timeline was made Broken.
type brokenError struct{ err error }

func (e brokenError) Error() string { return e.err.Error() }
func (e brokenError) Unwrap() error { return e.err }

// Run streams until ctx ends or the timeline becomes Broken; it reconnects
// with backoff after any other error.
func (r *Receiver) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if st, _ := r.tl.State(); st == timeline.Broken || st == timeline.Stopping {
			return
		}
		progressed, err := r.session(ctx)
		if ctx.Err() != nil {
			return
		}
		var be brokenError
		if errors.As(err, &be) {
			r.log.Error("timeline broken by WAL ingest", "err", err)
			return
		}
		if progressed {
			backoff = 100 * time.Millisecond
		}
		if err != nil && IsPeerClosed(err) {
			r.log.Info("WAL source connection closed; reconnecting", "err", err, "backoff", backoff)
		} else if err != nil {
			r.log.Warn("WAL receiver session failed; reconnecting", "err", err, "backoff", backoff)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.cfg.MaxBackoff)
	}
}

// session is one connection: it returns whether any record was ingested.
func (r *Receiver) session(ctx context.Context) (bool, error) {
	conn, err := Connect(ctx, r.cfg.ConnString, r.cfg.ConnectTimeout)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	sys, err := pglogrepl.IdentifySystem(ctx, conn)
	if err != nil {
		return false, fmt.Errorf("identify system: %w", err)
	}
	if _, err := EnsureSlot(ctx, conn, r.cfg.SlotName); err != nil {
		return false, err
	}
	start := max(r.tl.LastRecordLSN(), r.cfg.StartLSN)
	feedFrom := start &^ (wal.BlockSize - 1)
	dec := wal.NewDecoder(start, wal.DecoderOptions{})
	in := datadir.NewIngester(r.tl, r.tl.LastRecordLSN())
	err = pglogrepl.StartReplication(ctx, conn, r.cfg.SlotName, pglogrepl.LSN(feedFrom),
		pglogrepl.StartReplicationOptions{Timeline: sys.Timeline, Mode: pglogrepl.PhysicalReplication})
	if err != nil {
		return false, fmt.Errorf("start replication at %s on timeline %d: %w", lsn.LSN(feedFrom), sys.Timeline, err)
	}
	r.log.Info("streaming WAL", "lsn", start.String(), "source_timeline", sys.Timeline, "source_flush_lsn", lsn.LSN(sys.XLogPos).String())

	progressed := false
	nextStatus := time.Now()
	for {
		if time.Now().After(nextStatus) {
			if err := r.sendStatus(ctx, conn); err != nil {
				return progressed, err
			}
			nextStatus = time.Now().Add(r.cfg.StatusInterval)
		}
		rctx, cancel := context.WithDeadline(ctx, nextStatus)
		msg, err := conn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) && ctx.Err() == nil {
				continue
			}
			return progressed, fmt.Errorf("receive: %w", err)
		}
		switch msg := msg.(type) {
		case *pgproto3.CopyData:
			if len(msg.Data) == 0 {
				continue
			}
			switch msg.Data[0] {
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(msg.Data[1:])
				if err != nil {
					return progressed, fmt.Errorf("parse XLogData: %w", err)
				}
				n, err := r.ingest(ctx, dec, in, xld)
				if n > 0 {
					progressed = true
				}
				if err != nil {
					return progressed, err
				}
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(msg.Data[1:])
				if err != nil {
					return progressed, fmt.Errorf("parse keepalive: %w", err)
				}
				if ka.ReplyRequested {
					r.flushIfCaughtUp(ctx, lsn.LSN(ka.ServerWALEnd))
					nextStatus = time.Time{}
				}
			}
		case *pgproto3.CopyDone:
			return progressed, errStreamEnded
		case *pgproto3.ErrorResponse:
			return progressed, pgconn.ErrorResponseToPgError(msg)
		}
	}
}

// ingest feeds one XLogData message and ingests every complete record.
func (r *Receiver) ingest(ctx context.Context, dec *wal.Decoder, in *datadir.Ingester, xld pglogrepl.XLogData) (int, error) {
	r.met.ReceivedBytes.Add(float64(len(xld.WALData)))
	r.mu.Lock()
	r.lastMsgLSN = lsn.LSN(xld.WALStart) + lsn.LSN(len(xld.WALData))
	r.lastMsgTime = time.Now()
	r.mu.Unlock()
	if err := dec.Feed(lsn.LSN(xld.WALStart), xld.WALData); err != nil {
		return 0, r.broken(fmt.Sprintf("feed WAL at %s", lsn.LSN(xld.WALStart)), err)
	}
	var w *timeline.Writer
	defer func() {
		if w != nil {
			w.Close()
		}
	}()
	n := 0
	for {
		rec, err := dec.Next()
		if errors.Is(err, wal.ErrNeedData) || errors.Is(err, wal.ErrEndOfWAL) {
			break
		}
		if err != nil {
			var we *wal.Error
			if errors.As(err, &we) {
				return n, r.broken(fmt.Sprintf("malformed WAL at %s", we.LSN), err)
			}
			return n, r.broken(fmt.Sprintf("decode WAL at %s", dec.Position()), err)
		}
		if w == nil {
			w = r.tl.Writer()
		}
		if err := in.Ingest(ctx, rec, w); err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			return n, r.broken(fmt.Sprintf("ingest WAL record at %s", rec.LSN), err)
		}
		if err := w.FinishWrite(rec.EndLSN); err != nil {
			return n, r.broken(fmt.Sprintf("finish WAL record at %s", rec.LSN), err)
		}
		n++
	}
	if n > 0 {
		r.met.IngestedRecords.Add(float64(n))
		r.met.LastRecordLSN.WithLabelValues(r.cfg.Tenant.String(), r.cfg.Timeline.String()).Set(float64(r.tl.LastRecordLSN()))
	}
	return n, nil
}

func (r *Receiver) broken(reason string, err error) error {
	r.tl.SetBroken(reason+": "+err.Error(), err)
	return brokenError{fmt.Errorf("%s: %w", reason, err)}
}

// flushIfCaughtUp flushes the in-memory layer when the server asks for a
// reply and everything it sent is ingested. A server asks when it has not
// heard from us for half its wal_sender_timeout (we reply every second, so
// rarely) and when it shuts down: its walsenders exit only once the reported
// flush position reaches the end of its WAL, so without this a fast stop of
// the source would wait for wal_sender_timeout.
func (r *Receiver) flushIfCaughtUp(ctx context.Context, serverEnd lsn.LSN) {
	tip := r.tl.LastRecordLSN()
	if serverEnd > tip || r.tl.DiskConsistentLSN() >= tip {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := r.tl.FreezeAndFlush(fctx); err != nil && ctx.Err() == nil {
		r.log.Warn("flush on the source's reply request", "lsn", tip.String(), "err", err)
	}
}

func (r *Receiver) sendStatus(ctx context.Context, conn *pgconn.PgConn) error {
	disk := r.tl.DiskConsistentLSN()
	apply := r.tl.RemoteConsistentLSN()
	if apply == lsn.Invalid {
		apply = disk
	}
	err := pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: pglogrepl.LSN(r.tl.LastRecordLSN()),
		WALFlushPosition: pglogrepl.LSN(disk),
		WALApplyPosition: pglogrepl.LSN(apply),
	})
	if err != nil {
		return fmt.Errorf("send standby status: %w", err)
	}
	return nil
}
