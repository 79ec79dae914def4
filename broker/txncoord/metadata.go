package txncoord

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// StateTopic is the internal topic holding the coordinator's state: one
// record per transactional ID (compacted), in Kafka's schema
// (kmsg.TxnMetadataKey and kmsg.TxnMetadataValue), so Kafka's tools can
// read it and a log Kafka wrote can be loaded.
const StateTopic = "__transaction_state"

// State is a transaction's state, numbered as Kafka numbers them in the
// state log.
type State int8

const (
	Empty State = iota
	Ongoing
	PrepareCommit
	PrepareAbort
	CompleteCommit
	CompleteAbort
	Dead
	PrepareEpochFence
)

var stateNames = [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}

// String is the state's name as DescribeTransactions and
// ListTransactions spell it.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// ParseState reads a state name as ListTransactions filters give it.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if strings.EqualFold(n, name) {
			return State(i), true
		}
	}
	return 0, false
}

// TopicPartition names one partition of a transaction.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// ByTopic yields each topic of tps with its partitions, runs of one
// topic together, in order (a transaction's partitions are sorted), as
// the protocol's topic lists want them.
func ByTopic(tps []TopicPartition) iter.Seq2[string, []int32] {
	return func(yield func(string, []int32) bool) {
		for i := 0; i < len(tps); {
			j := i
			var partitions []int32
			for ; j < len(tps) && tps[j].Topic == tps[i].Topic; j++ {
				partitions = append(partitions, tps[j].Partition)
			}
			if !yield(tps[i].Topic, partitions) {
				return
			}
			i = j
		}
	}
}

func compareTopicPartitions(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

// Txn is what the coordinator knows of one transactional ID.
type Txn struct {
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
	TimeoutMs       int32
	State           State
	// Partitions are the partitions of the running (or completing)
	// transaction, sorted.
	Partitions          []TopicPartition
	StartTimestamp      int64 // when the running transaction began, -1 when none
	LastUpdateTimestamp int64
}

func (t Txn) clone() Txn {
	t.Partitions = slices.Clone(t.Partitions)
	return t
}

func (t Txn) hasPartition(tp TopicPartition) bool {
	_, ok := slices.BinarySearchFunc(t.Partitions, tp, compareTopicPartitions)
	return ok
}

// withPartitions adds tps to the transaction's partitions.
func (t Txn) withPartitions(tps []TopicPartition) Txn {
	t.Partitions = slices.Clone(t.Partitions)
	for _, tp := range tps {
		if i, ok := slices.BinarySearchFunc(t.Partitions, tp, compareTopicPartitions); !ok {
			t.Partitions = slices.Insert(t.Partitions, i, tp)
		}
	}
	return t
}

// encodeKey and encodeValue write a state log record in Kafka's schema
// (key version 0; value version 0, which every Kafka version reads).
func encodeKey(id string) []byte {
	k := kmsg.NewTxnMetadataKey()
	k.Version = 0
	k.TransactionalID = id
	return k.AppendTo(nil)
}

func encodeValue(t Txn) []byte {
	v := kmsg.NewTxnMetadataValue()
	v.Version = 0
	v.ProducerID = t.ProducerID
	v.ProducerEpoch = t.ProducerEpoch
	v.TimeoutMillis = t.TimeoutMs
	v.State = kmsg.TransactionState(t.State)
	for topic, partitions := range ByTopic(t.Partitions) {
		vt := kmsg.NewTxnMetadataValueTopic()
		vt.Topic, vt.Partitions = topic, partitions
		v.Topics = append(v.Topics, vt)
	}
	v.LastUpdateTimestamp = t.LastUpdateTimestamp
	v.StartTimestamp = t.StartTimestamp
	return v.AppendTo(nil)
}

// decodeRecord reads a state log record. ok is false for a record that
// is not a transaction record (another key version); a nil value is a
// tombstone (deleted is true).
func decodeRecord(key, value []byte) (t Txn, deleted, ok bool, err error) {
	if len(key) < 2 || key[0] != 0 || key[1] != 0 {
		return Txn{}, false, false, nil
	}
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return Txn{}, false, false, fmt.Errorf("transaction state key: %w", err)
	}
	t.TransactionalID = k.TransactionalID
	if value == nil {
		return t, true, true, nil
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return Txn{}, false, false, fmt.Errorf("transaction state of %q: %w", k.TransactionalID, err)
	}
	t.ProducerID = v.ProducerID
	t.ProducerEpoch = v.ProducerEpoch
	t.TimeoutMs = v.TimeoutMillis
	t.State = State(v.State)
	for _, vt := range v.Topics {
		for _, p := range vt.Partitions {
			t.Partitions = append(t.Partitions, TopicPartition{vt.Topic, p})
		}
	}
	slices.SortFunc(t.Partitions, compareTopicPartitions)
	t.Partitions = slices.Compact(t.Partitions)
	t.LastUpdateTimestamp = v.LastUpdateTimestamp
	t.StartTimestamp = v.StartTimestamp
	return t, false, true, nil
}
