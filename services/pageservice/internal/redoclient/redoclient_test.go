package redoclient

import (
	"bytes"
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/stratadb/strata/libs/engine/id"
	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/engine/timeline"
	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
)

// fakePool records the request (unit test fake of walredo-pool).
type fakePool struct {
	walredov1.WalRedoServiceClient
	got      *walredov1.RedoRequest
	deadline bool
}

func (f *fakePool) Redo(ctx context.Context, req *walredov1.RedoRequest, _ ...grpc.CallOption) (*walredov1.RedoResponse, error) {
	f.got = req
	_, f.deadline = ctx.Deadline()
	return &walredov1.RedoResponse{Page: bytes.Repeat([]byte{7}, 8192)}, nil
}

func TestPoolSendsStrataRecordsWithTheKeyAndADeadline(t *testing.T) {
	tests := []struct {
		name string
		base []byte
		recs []timeline.Record
	}{
		{"a base image and one record", make([]byte, 8192), []timeline.Record{{LSN: 0x100, Data: []byte{1, 2}}}},
		{"no base image when the first record initializes the page", nil, []timeline.Record{{LSN: 0x100, Data: []byte{1}, WillInit: true}, {LSN: 0x108, Data: []byte{3}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakePool{}
			tid := id.Generate()
			k := key.RelBlock(key.RelTag{SpcNode: 1663, DbNode: 5, RelNode: 16384}, 3)
			p := Pool{Client: f, Tenant: tid, Timeout: time.Minute}
			page, err := p.Redo(context.Background(), k, lsn.LSN(0x108), tt.base, lsn.LSN(0x50), tt.recs)
			if err != nil || len(page) != 8192 {
				t.Fatalf("redo: %d bytes, %v", len(page), err)
			}
			req := f.got
			kb := k.Bytes()
			if !bytes.Equal(req.GetKey(), kb[:]) || req.GetTenantId() != tid.String() || req.GetLsn() != 0x108 || req.GetPgVersion() != 15 {
				t.Errorf("request header: %v", req)
			}
			if (req.BaseImage != nil) != (tt.base != nil) {
				t.Errorf("base image present %v, want %v", req.BaseImage != nil, tt.base != nil)
			}
			if len(req.GetRecords()) != len(tt.recs) {
				t.Fatalf("%d records sent", len(req.GetRecords()))
			}
			for i, r := range req.GetRecords() {
				if r.GetKind() != walredov1.WalRecordKind_WAL_RECORD_KIND_ENGINE || r.GetLsn() != uint64(tt.recs[i].LSN) ||
					r.GetWillInit() != tt.recs[i].WillInit || !bytes.Equal(r.GetData(), tt.recs[i].Data) {
					t.Errorf("record %d: %v", i, r)
				}
			}
			if !f.deadline {
				t.Error("the call has no deadline")
			}
		})
	}
}
