package broker

// AddPartitionsToTxn. v0-v3: a transactional producer adds partitions to
// its transaction before it writes to them; the transaction coordinator
// (this broker, or NOT_COORDINATOR) records them in the state log. A
// topic that does not exist fails its partitions with
// UNKNOWN_TOPIC_OR_PARTITION and the others with OPERATION_NOT_ATTEMPTED,
// as in Kafka. v4 (KIP-890) is the brokers' form: several transactions
// at once, and verify_only asks, without adding, whether partitions are
// in their transactions; partition leaders send it before a
// transactional write opens a transaction. PRODUCER_FENCED goes to v2+,
// INVALID_PRODUCER_EPOCH to older clients.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/txncoord"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.AddPartitionsToTxn, min: 0, max: 4, serve: typed((*Broker).handleAddPartitionsToTxn),
		note: "the client form (v0-v3) and the brokers' batched and verify-only form (v4, KIP-890)"})
}

func (b *Broker) handleAddPartitionsToTxn(ctx context.Context, conn *wire.Conn, req *kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	if req.Version < 4 {
		codes := b.addPartitionsToTxnRefused(conn, req.TransactionalID, req.Topics)
		if codes == nil {
			codes = b.addPartitionsToTxn(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Topics, false, req.Version >= 2)
		}
		for _, rt := range req.Topics {
			st := kmsg.NewAddPartitionsToTxnResponseTopic()
			st.Topic = rt.Topic
			for _, p := range rt.Partitions {
				sp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				sp.Partition, sp.ErrorCode = p, codes[txncoord.TopicPartition{Topic: rt.Topic, Partition: p}]
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil
	}
	// v4+ is the partition leaders' verification (KIP-890), a
	// broker-to-broker request: Kafka asks CLUSTER_ACTION.
	if !b.authorizedCluster(conn, acl.OpClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	for _, tx := range req.Transactions {
		topics := make([]kmsg.AddPartitionsToTxnRequestTopic, len(tx.Topics))
		for i, t := range tx.Topics {
			topics[i] = kmsg.AddPartitionsToTxnRequestTopic{Topic: t.Topic, Partitions: t.Partitions}
		}
		codes := b.addPartitionsToTxn(ctx, tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, topics, tx.VerifyOnly, true)
		rt := kmsg.NewAddPartitionsToTxnResponseTransaction()
		rt.TransactionalID = tx.TransactionalID
		for _, t := range tx.Topics {
			st := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			st.Topic = t.Topic
			for _, p := range t.Partitions {
				sp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				sp.Partition, sp.ErrorCode = p, codes[txncoord.TopicPartition{Topic: t.Topic, Partition: p}]
				st.Partitions = append(st.Partitions, sp)
			}
			rt.Topics = append(rt.Topics, st)
		}
		resp.Transactions = append(resp.Transactions, rt)
	}
	return resp, nil
}

// addPartitionsToTxn adds (or, verifyOnly, checks) one transaction's
// partitions and returns an error code per partition.
// addPartitionsToTxnRefused answers a client's AddPartitionsToTxn as
// Kafka does when authorization refuses part of it (nil when nothing is
// refused): without WRITE on the transactional ID every partition fails
// with TRANSACTIONAL_ID_AUTHORIZATION_FAILED; else the partitions of
// topics without WRITE fail with TOPIC_AUTHORIZATION_FAILED and the
// others are not attempted (OPERATION_NOT_ATTEMPTED).
func (b *Broker) addPartitionsToTxnRefused(conn *wire.Conn, txnID string, topics []kmsg.AddPartitionsToTxnRequestTopic) map[txncoord.TopicPartition]int16 {
	if b.authorizer == nil {
		return nil
	}
	txnAllowed := b.authorized(conn, acl.OpWrite, acl.ResourceTransactionalID, txnID)
	mayWrite := b.topicCheck(conn, acl.OpWrite)
	codes := make(map[txncoord.TopicPartition]int16)
	refused := !txnAllowed
	for _, t := range topics {
		code := kerr.OperationNotAttempted.Code
		switch {
		case !txnAllowed:
			code = kerr.TransactionalIDAuthorizationFailed.Code
		case !mayWrite(t.Topic):
			code, refused = kerr.TopicAuthorizationFailed.Code, true
		}
		for _, p := range t.Partitions {
			codes[txncoord.TopicPartition{Topic: t.Topic, Partition: p}] = code
		}
	}
	if !refused {
		return nil
	}
	return codes
}

func (b *Broker) addPartitionsToTxn(ctx context.Context, id string, producerID int64, epoch int16, topics []kmsg.AddPartitionsToTxnRequestTopic, verifyOnly, knowsFenced bool) map[txncoord.TopicPartition]int16 {
	codes := make(map[txncoord.TopicPartition]int16)
	var tps []txncoord.TopicPartition
	unknown := false
	for _, rt := range topics {
		t, ok := b.store.Topic(rt.Topic)
		for _, p := range rt.Partitions {
			tp := txncoord.TopicPartition{Topic: rt.Topic, Partition: p}
			tps = append(tps, tp)
			if !ok || p < 0 || int(p) >= len(t.Partitions) {
				codes[tp] = kerr.UnknownTopicOrPartition.Code
				unknown = true
			}
		}
	}
	if unknown {
		for _, tp := range tps {
			if codes[tp] == 0 {
				codes[tp] = kerr.OperationNotAttempted.Code
			}
		}
		return codes
	}
	if verifyOnly {
		res, err := b.txns.VerifyPartitions(id, producerID, epoch, tps)
		for _, tp := range tps {
			if err != nil {
				codes[tp] = producerFencedFor(err, knowsFenced).Code
			} else {
				codes[tp] = errorCodeOf(res[tp])
			}
		}
		return codes
	}
	err := producerFencedFor(b.txns.AddPartitions(ctx, id, producerID, epoch, tps), knowsFenced)
	for _, tp := range tps {
		codes[tp] = errorCodeOf(err)
	}
	return codes
}
