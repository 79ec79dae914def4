package broker

// InitProducerID. Without a transactional ID (idempotent producers), like
// Kafka, every call hands out a fresh producer ID with epoch 0 (also when
// a v3+ client presents its old ID and epoch, KIP-360): the sequence
// state of the old ID stays in the logs. IDs come in blocks from the
// metadata store, so they are never reused, across restarts too.
//
// With a transactional ID the transaction coordinator answers (it must be
// this broker: NOT_COORDINATOR otherwise): the ID's producer ID with a
// bumped epoch, fencing older ones; CONCURRENT_TRANSACTIONS while an
// earlier transaction completes; PRODUCER_FENCED (v4+, else
// INVALID_PRODUCER_EPOCH) when a KIP-360 client presents an epoch that
// is no longer its own; INVALID_TRANSACTION_TIMEOUT beyond
// transaction.max.timeout.ms.

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.InitProducerID, min: 0, max: 5, serve: typed((*Broker).handleInitProducerID),
		note: "idempotent and transactional producers; epoch bumps and fencing, KIP-360 re-initialisation"})
}

const producerIDBlockSize = 1000

func (b *Broker) handleInitProducerID(ctx context.Context, conn *wire.Conn, req *kmsg.InitProducerIDRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil && *req.TransactionalID != "" {
		// Kafka: WRITE on the transactional ID.
		if !b.authorized(conn, acl.OpWrite, acl.ResourceTransactionalID, *req.TransactionalID) {
			resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			return resp, nil
		}
		expectedID, expectedEpoch := int64(-1), int16(-1)
		if req.Version >= 3 {
			expectedID, expectedEpoch = req.ProducerID, req.ProducerEpoch
		}
		id, epoch, err := b.txns.InitProducerID(ctx, *req.TransactionalID, req.TransactionTimeoutMillis, expectedID, expectedEpoch)
		if err != nil {
			resp.ErrorCode = producerFencedFor(err, req.Version >= 4).Code
			return resp, nil
		}
		resp.ProducerID, resp.ProducerEpoch = id, epoch
		return resp, nil
	}
	// Kafka (KIP-679): an idempotent producer needs IDEMPOTENT_WRITE on
	// the cluster or WRITE on some topic.
	if b.authorizer != nil && !b.authorizedCluster(conn, acl.OpIdempotentWrite) &&
		!b.authorizer.AllowedOnAnyResource(principalOf(conn), hostOf(conn), acl.OpWrite, acl.ResourceTopic) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
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
