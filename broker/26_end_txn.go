package broker

// EndTxn commits or aborts a transaction. The transaction coordinator
// (this broker, or NOT_COORDINATOR) answers once its decision
// (PrepareCommit or PrepareAbort) is in the replicated state log; the
// markers then go to every partition of the transaction in the
// background, and until they are written the producer's next
// transaction waits (CONCURRENT_TRANSACTIONS). A retried EndTxn of a
// completed transaction succeeds; the opposite decision is
// INVALID_TXN_STATE. PRODUCER_FENCED goes to v2+, INVALID_PRODUCER_EPOCH
// to older clients. v5 (KIP-890 part 2 epoch bumps) is not served.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.EndTxn, min: 0, max: 4, serve: typed((*Broker).handleEndTxn),
		note: "two-phase commit through `__transaction_state`; markers written in the background"})
}

func (b *Broker) handleEndTxn(ctx context.Context, conn *wire.Conn, req *kmsg.EndTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	if !b.authorized(conn, acl.OpWrite, acl.ResourceTransactionalID, req.TransactionalID) {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code // Kafka: WRITE on the transactional ID
		return resp, nil
	}
	err := b.txns.EndTxn(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit)
	resp.ErrorCode = errorCodeOf(producerFencedFor(err, req.Version >= 2))
	return resp, nil
}
