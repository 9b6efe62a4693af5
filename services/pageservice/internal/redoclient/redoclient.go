// Package redoclient provides the timeline.Redoer implementations of
// page-service: Pool, which asks walredo-pool over gRPC, and Local, which
// applies records in-process with package redo (tests and development only;
// selected explicitly by configuration, never as a fallback).
//
// Both are safe for concurrent use.
package redoclient

import (
	"context"
	"fmt"
	"time"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/timeline"
	"github.com/stratadb/strata/libs/postgres/redo"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
)

// Local applies records in-process with redo.Apply.
type Local struct{}

// Redo implements timeline.Redoer.
func (Local) Redo(_ context.Context, k key.Key, _ lsn.LSN, base []byte, _ lsn.LSN, recs []timeline.Record) ([]byte, error) {
	rr := make([]redo.Record, len(recs))
	for i, r := range recs {
		rr[i] = redo.Record{LSN: r.LSN, Data: r.Data}
	}
	page, err := redo.Apply(k, base, rr)
	if err != nil {
		return nil, fmt.Errorf("local redo of %s: %w", k, err)
	}
	return page, nil
}

// Pool asks walredo-pool to apply records. Records are sent in Strata's
// record encoding (package redo, value.go: a tag byte then the payload) as
// WAL_RECORD_KIND_ENGINE.
type Pool struct {
	Client  walredov1.WalRedoServiceClient
	Tenant  id.ID         // for the pool's logs and fairness
	Timeout time.Duration // per call; 0 means 30 s
}

// Redo implements timeline.Redoer.
func (p Pool) Redo(ctx context.Context, k key.Key, at lsn.LSN, base []byte, baseLSN lsn.LSN, recs []timeline.Record) ([]byte, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	kb := k.Bytes()
	req := &walredov1.RedoRequest{
		TenantId:  p.Tenant.String(),
		Key:       kb[:],
		Lsn:       uint64(at),
		BaseLsn:   uint64(baseLSN),
		PgVersion: 15,
		Records:   make([]*walredov1.WalRecord, len(recs)),
	}
	if base != nil {
		req.BaseImage = base
	}
	for i, r := range recs {
		req.Records[i] = &walredov1.WalRecord{Lsn: uint64(r.LSN), WillInit: r.WillInit, Data: r.Data, Kind: walredov1.WalRecordKind_WAL_RECORD_KIND_ENGINE}
	}
	resp, err := p.Client.Redo(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("walredo-pool redo of %s at %s (%d records): %w", k, at, len(recs), err)
	}
	return resp.GetPage(), nil
}
