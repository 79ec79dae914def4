package broker

// ListTransactions (KIP-664): the transactional IDs this broker
// coordinates, filtered by state (unknown state names are echoed back in
// unknown_state_filters), by producer ID, by running longer than a
// duration (v1, KIP-994) and by a regular expression on the ID (v2,
// KIP-1152). While a state partition is still loading the answer is
// COORDINATOR_LOAD_IN_PROGRESS, with what is known.

import (
	"context"
	"regexp"
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/txncoord"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.ListTransactions, min: 0, max: 2, serve: typed((*Broker).handleListTransactions),
		note: "filters by state, producer ID, duration (v1) and ID pattern (v2)"})
}

func (b *Broker) handleListTransactions(_ context.Context, conn *wire.Conn, req *kmsg.ListTransactionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	var states []txncoord.State
	for _, name := range req.StateFilters {
		if s, ok := txncoord.ParseState(name); ok {
			states = append(states, s)
		} else {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, name)
		}
	}
	if len(req.StateFilters) > 0 && len(states) == 0 {
		return resp, nil // only unknown states: nothing matches
	}
	var pattern *regexp.Regexp
	if req.Version >= 2 && req.TransactionalIDPattern != nil && *req.TransactionalIDPattern != "" {
		// The whole ID must match, as Java's Matcher.matches does.
		re, err := regexp.Compile("^(?:" + *req.TransactionalIDPattern + ")$")
		if err != nil {
			resp.ErrorCode = kerr.InvalidRegularExpression.Code
			return resp, nil
		}
		pattern = re
	}
	nowMs := b.now().UnixMilli()
	txns, loading := b.txns.List(func(t txncoord.Txn) bool {
		switch {
		case len(states) > 0 && !slices.Contains(states, t.State):
			return false
		case len(req.ProducerIDFilters) > 0 && !slices.Contains(req.ProducerIDFilters, t.ProducerID):
			return false
		case req.Version >= 1 && req.DurationFilterMillis >= 0 && (t.StartTimestamp < 0 || nowMs-t.StartTimestamp < req.DurationFilterMillis):
			return false
		case pattern != nil && !pattern.MatchString(t.TransactionalID):
			return false
		case !b.authorized(conn, acl.OpDescribe, acl.ResourceTransactionalID, t.TransactionalID):
			return false // Kafka lists only the IDs the caller may DESCRIBE
		}
		return true
	})
	if loading {
		resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
	}
	sort.Slice(txns, func(i, j int) bool { return txns[i].TransactionalID < txns[j].TransactionalID })
	for _, t := range txns {
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = t.TransactionalID, t.ProducerID, t.State.String()
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp, nil
}
