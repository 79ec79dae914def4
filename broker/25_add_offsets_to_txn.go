package broker

// AddOffsetsToTxn: a transactional producer that will commit a group's
// offsets in its transaction (TxnOffsetCommit) first adds the group's
// __consumer_offsets partition to it, so the transaction's markers reach
// that partition and complete the offsets. Answered by the transaction
// coordinator as AddPartitionsToTxn is; PRODUCER_FENCED goes to v2+,
// INVALID_PRODUCER_EPOCH to older clients.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/txncoord"
	"github.com/samsa-io/samsa/groupcoord"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.AddOffsetsToTxn, min: 0, max: 3, serve: typed((*Broker).handleAddOffsetsToTxn),
		note: "adds the group's `__consumer_offsets` partition to the transaction"})
}

func (b *Broker) handleAddOffsetsToTxn(ctx context.Context, conn *wire.Conn, req *kmsg.AddOffsetsToTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	// Kafka: WRITE on the transactional ID, READ on the group.
	switch {
	case !b.authorized(conn, acl.OpWrite, acl.ResourceTransactionalID, req.TransactionalID):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	case !b.authorized(conn, acl.OpRead, acl.ResourceGroup, req.Group):
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	if err := b.ensureOffsetsTopic(ctx); err != nil {
		b.logger.Debug().Err(err).Msg("add offsets to transaction")
	}
	tp := txncoord.TopicPartition{Topic: groupcoord.OffsetsTopic, Partition: b.groups.PartitionFor(req.Group)}
	err := b.txns.AddPartitions(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, []txncoord.TopicPartition{tp})
	resp.ErrorCode = errorCodeOf(producerFencedFor(err, req.Version >= 2))
	return resp, nil
}
