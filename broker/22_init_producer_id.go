package broker

// InitProducerID, for idempotent producers. Like Kafka, every call
// without a transactional ID hands out a fresh producer ID with epoch 0
// (also when a v3+ client presents its old ID and epoch, KIP-360): the
// sequence state of the old ID stays in the logs. IDs come in blocks from
// the metadata store, so they are never reused, across restarts too.
// Transactional IDs come with transaction support in a later release.

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.InitProducerID, min: 0, max: 5, serve: typed((*Broker).handleInitProducerID),
		note: "idempotent producers; transactional IDs are refused until transactions land"})
}

const producerIDBlockSize = 1000

func (b *Broker) handleInitProducerID(ctx context.Context, _ *wire.Conn, req *kmsg.InitProducerIDRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil && *req.TransactionalID != "" {
		resp.ErrorCode = kerr.UnsupportedVersion.Code
		return resp, nil
	}
	id, err := b.producerIDs.next(ctx)
	if err != nil {
		b.logger.Error().Err(err).Msg("allocate producer id")
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}

// producerIDAllocator hands out producer IDs from blocks reserved in the
// store.
type producerIDAllocator struct {
	store controller.Store
	mu    sync.Mutex
	next_ int64
	end   int64
}

func newProducerIDAllocator(store controller.Store) *producerIDAllocator {
	return &producerIDAllocator{store: store}
}

func (a *producerIDAllocator) next(ctx context.Context) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next_ >= a.end {
		first, err := a.store.AllocateProducerIDs(ctx, producerIDBlockSize)
		if err != nil {
			return 0, err
		}
		a.next_, a.end = first, first+producerIDBlockSize
	}
	id := a.next_
	a.next_++
	return id, nil
}
