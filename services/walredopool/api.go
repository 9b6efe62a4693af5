package walredopool

import (
	"context"

	walredov1 "github.com/stratadb/strata/proto/gen/strata/walredo/v1"
)

// api implements walredov1.WalRedoServiceServer.
type api struct {
	walredov1.UnimplementedWalRedoServiceServer
	pool *PoolConfig
}

// Redo applies WAL records to a base image.
func (a *api) Redo(context.Context, *walredov1.RedoRequest) (*walredov1.RedoResponse, error) {
	return nil, toStatus(errNotImplemented("Redo: WAL redo is not implemented yet"))
}

// GetStatus reports the pool's size; no worker runs until redo lands.
func (a *api) GetStatus(context.Context, *walredov1.GetStatusRequest) (*walredov1.GetStatusResponse, error) {
	return &walredov1.GetStatusResponse{WorkersTotal: uint32(a.pool.Workers)}, nil
}
