package uploadworker

import (
	"context"

	uploadworkerv1 "github.com/stratadb/strata/proto/gen/strata/uploadworker/v1"
)

// api implements uploadworkerv1.UploadWorkerServiceServer.
type api struct {
	uploadworkerv1.UnimplementedUploadWorkerServiceServer
	id string
}

// GetStatus reports this instance; it holds no queue until the offload
// issue lands.
func (a *api) GetStatus(context.Context, *uploadworkerv1.GetStatusRequest) (*uploadworkerv1.GetStatusResponse, error) {
	return &uploadworkerv1.GetStatusResponse{WorkerId: a.id, Queues: []*uploadworkerv1.QueueStatus{}}, nil
}

// GetQueue reports one timeline's queue.
func (a *api) GetQueue(context.Context, *uploadworkerv1.GetQueueRequest) (*uploadworkerv1.GetQueueResponse, error) {
	return nil, toStatus(errNotImplemented("GetQueue: upload queues are not implemented yet"))
}
