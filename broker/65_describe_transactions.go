package broker

// DescribeTransactions (KIP-664): a transactional ID's state, producer
// ID and epoch, timeout, start time and partitions, from its coordinator
// (NOT_COORDINATOR elsewhere, COORDINATOR_LOAD_IN_PROGRESS while loading,
// TRANSACTIONAL_ID_NOT_FOUND for an unknown ID).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/txncoord"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DescribeTransactions, min: 0, max: 0, serve: typed((*Broker).handleDescribeTransactions),
		note: "state, producer, timeout, start and partitions of transactional IDs (KIP-664)"})
}

func (b *Broker) handleDescribeTransactions(_ context.Context, conn *wire.Conn, req *kmsg.DescribeTransactionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID = id
		st.ProducerID, st.ProducerEpoch, st.StartTimestamp = -1, -1, -1
		if !b.authorized(conn, acl.OpDescribe, acl.ResourceTransactionalID, id) {
			st.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code // Kafka: DESCRIBE on the ID
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		txn, err := b.txns.Describe(id)
		if err != nil {
			st.ErrorCode = err.Code
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		st.State = txn.State.String()
		st.TimeoutMillis = txn.TimeoutMs
		st.StartTimestamp = txn.StartTimestamp
		st.ProducerID, st.ProducerEpoch = txn.ProducerID, txn.ProducerEpoch
		for topic, partitions := range txncoord.ByTopic(txn.Partitions) {
			if !b.authorizedTopic(conn, acl.OpDescribe, topic) {
				continue // Kafka: topics the caller may not describe are left out
			}
			t := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
			t.Topic, t.Partitions = topic, partitions
			st.Topics = append(st.Topics, t)
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp, nil
}
