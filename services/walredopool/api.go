package walredopool

import (
	"context"
	"sync/atomic"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
	"github.com/stratadb/strata/services/walredopool/internal/pool"
	"github.com/stratadb/strata/services/walredopool/internal/wire"
)

// api implements walredov1.WalRedoServiceServer.
type api struct {
	walredov1.UnimplementedWalRedoServiceServer
	cfg  *PoolConfig
	pool *atomic.Pointer[pool.Pool] // set once the pool component has started
}

// Redo validates the request and applies its records on a worker.
func (a *api) Redo(ctx context.Context, req *walredov1.RedoRequest) (*walredov1.RedoResponse, error) {
	var r pool.Request
	if err := a.request(req, &r); err != nil {
		return nil, toStatus(err)
	}
	p := a.pool.Load()
	if p == nil {
		return nil, toStatus(pool.ErrClosed)
	}
	page, err := p.Redo(ctx, nil, &r)
	if err != nil {
		return nil, toStatus(err)
	}
	return &walredov1.RedoResponse{Page: page}, nil
}

// request checks req against the protocol's rules and the configured limits
// and fills r (whose record data alias req's).
func (a *api) request(req *walredov1.RedoRequest, r *pool.Request) error {
	if len(req.Key) != key.Size {
		return invalid("key: %d bytes, want %d", len(req.Key), key.Size)
	}
	k, err := key.FromBinary(req.Key)
	if err != nil {
		return invalid("key: %v", err)
	}
	if !k.IsRelBlock() && !k.IsSLRUBlock() {
		return invalid("key %s: not a relation block or SLRU page", k)
	}
	if v := req.PgVersion; v != 0 && v != 15 {
		return invalid("pg_version %d: only PostgreSQL 15 is supported", v)
	}
	n := len(req.Records)
	switch {
	case n == 0:
		return invalid("records: none (a redo request needs at least one record)")
	case n > a.cfg.MaxRecords:
		return invalid("records: %d exceed pool.max_records (%d)", n, a.cfg.MaxRecords)
	}
	total, prev := 0, lsn.Invalid
	if req.BaseImage != nil {
		if len(req.BaseImage) != wire.PageSize {
			return invalid("base_image: %d bytes, want %d", len(req.BaseImage), wire.PageSize)
		}
		total, prev = wire.PageSize, lsn.LSN(req.BaseLsn)
		r.Base = req.BaseImage
	} else if !req.Records[0].WillInit {
		return invalid("base_image: absent, but the first record (at %s) does not will_init", lsn.LSN(req.Records[0].Lsn))
	}
	r.Key, r.LSN = k, lsn.LSN(req.Lsn)
	r.Records = make([]pool.Record, n)
	for i, rec := range req.Records {
		at := lsn.LSN(rec.Lsn)
		switch {
		case len(rec.Data) == 0:
			return invalid("record %d at %s: no data", i, at)
		case len(rec.Data) > a.cfg.MaxRecordBytes:
			return invalid("record %d at %s: %d bytes exceed pool.max_record_bytes (%d)", i, at, len(rec.Data), a.cfg.MaxRecordBytes)
		case at == lsn.Invalid:
			return invalid("record %d: lsn 0", i)
		case i == 0 && req.BaseImage != nil && at <= prev && prev != lsn.Invalid:
			return invalid("record 0 at %s: not above base_lsn %s", at, prev)
		case i > 0 && at < prev:
			return invalid("record %d at %s: below the previous record at %s (records must ascend)", i, at, prev)
		case r.LSN != lsn.Invalid && at > r.LSN:
			return invalid("record %d at %s: above the requested lsn %s", i, at, r.LSN)
		}
		total += len(rec.Data)
		if total > a.cfg.MaxRequestBytes {
			return invalid("request: more than pool.max_request_bytes (%d) at record %d", a.cfg.MaxRequestBytes, i)
		}
		kind := pool.RecordPostgres
		switch rec.Kind {
		case walredov1.WalRecordKind_WAL_RECORD_KIND_UNSPECIFIED, walredov1.WalRecordKind_WAL_RECORD_KIND_POSTGRES:
		case walredov1.WalRecordKind_WAL_RECORD_KIND_ENGINE:
			kind = pool.RecordStrata
		default:
			return invalid("record %d at %s: unknown kind %d", i, at, rec.Kind)
		}
		r.Records[i] = pool.Record{LSN: at, Kind: kind, Data: rec.Data}
		prev = at
	}
	return nil
}

// GetStatus reports the pool's counters.
func (a *api) GetStatus(context.Context, *walredov1.GetStatusRequest) (*walredov1.GetStatusResponse, error) {
	resp := &walredov1.GetStatusResponse{WorkersTotal: uint32(a.cfg.Workers)}
	if p := a.pool.Load(); p != nil {
		st := p.Stats()
		resp.WorkersBusy = uint32(st.Busy)
		resp.RequestsTotal = st.Requests
		resp.FailuresTotal = st.Failures
		resp.WorkerRestartsTotal = st.Replaced
	}
	return resp, nil
}
