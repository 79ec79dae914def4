package broker

// The one place where the errors of the layers below (packages log,
// log/recordbatch, controller and broker/replica) become Kafka error
// codes. Every handler answers through kafkaError, so the same failure
// gets the same code in Produce, Fetch, the admin APIs and the group
// coordinator's journal.
//
// A handler that knows Kafka's code for its case returns a *kerr.Error
// itself (POLICY_VIOLATION from DeleteRecords on a compacted topic, say);
// those pass through unchanged. The layers below never choose Kafka codes:
// a partition lookup answers replica.ErrNotLeader, which becomes
// NOT_LEADER_OR_FOLLOWER here. Errors nobody mapped get the fallback the
// caller names: KAFKA_STORAGE_ERROR where the failure was the disk's (a
// read, an append), UNKNOWN_SERVER_ERROR elsewhere, logged, since that is
// a bug to map here.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/broker/replica"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/recordbatch"
)

// errorCodes maps each sentinel error of the lower layers to Kafka's code,
// first match wins (errors.Is), so a more precise error comes before one
// it wraps.
var errorCodes = []struct {
	err  error
	code *kerr.Error
}{
	// The partition table and replication (package broker/replica).
	{replica.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
	{replica.ErrNotReplica, kerr.NotLeaderForPartition},
	{replica.ErrNotLeader, kerr.NotLeaderForPartition},
	{replica.ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
	{replica.ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend},
	{replica.ErrReplicationTimeout, kerr.RequestTimedOut},

	// Package log.
	{plog.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
	{plog.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	{plog.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
	{plog.ErrInvalidTxnState, kerr.InvalidTxnState},
	{plog.ErrCoordinatorFenced, kerr.TransactionCoordinatorFenced},
	// The log was closed under the request: the partition moved away or
	// was deleted. Clients refresh their metadata and retry.
	{plog.ErrClosed, kerr.NotLeaderForPartition},

	// Record batches a producer sent (recordbatch.Validate, Recompress).
	{recordbatch.ErrBatchTooLarge, kerr.MessageTooLarge},
	{recordbatch.ErrUnsupportedCompression, kerr.UnsupportedCompressionType},
	{recordbatch.ErrInvalidRecord, kerr.InvalidRecord},
	{recordbatch.ErrCorrupt, kerr.CorruptMessage},

	// The metadata store (package controller).
	{controller.ErrTopicExists, kerr.TopicAlreadyExists},
	// A topic marked for deletion is gone for clients, as in Kafka.
	{controller.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
	{controller.ErrTopicDeletionPending, kerr.UnknownTopicOrPartition},
	{controller.ErrInvalidPartitions, kerr.InvalidPartitions},
	{controller.ErrInvalidReplication, kerr.InvalidReplicationFactor},
	{controller.ErrInvalidAssignment, kerr.InvalidReplicaAssignment},
	{controller.ErrInvalidTopicName, kerr.InvalidTopicException},
	{controller.ErrNotController, kerr.NotController},
	{controller.ErrBrokerNotAvailable, kerr.BrokerNotAvailable},
	{controller.ErrStaleBrokerEpoch, kerr.StaleBrokerEpoch},
	{controller.ErrStalePartition, kerr.FencedLeaderEpoch},
	{controller.ErrInvalidISR, kerr.IneligibleReplica},
	{controller.ErrElectionNotNeeded, kerr.ElectionNotNeeded},
	{controller.ErrPreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable},
	{controller.ErrEligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable},
	// The metadata file could not be written (a full or failing disk).
	{controller.ErrStorage, kerr.KafkaStorageError},
	// The store cannot be reached (ZooKeeper's session is lost): the
	// controller did not answer in time, which clients retry, as they
	// retry a KRaft controller that is not reachable.
	{controller.ErrStoreUnavailable, kerr.RequestTimedOut},

	// The request ran out of time, or the broker is stopping.
	{context.DeadlineExceeded, kerr.RequestTimedOut},
	{context.Canceled, kerr.RequestTimedOut},
}

// kafkaError returns Kafka's error for err: err itself when it is one, the
// code errorCodes gives its sentinel, or otherwise; nil for nil.
func kafkaError(err error, otherwise *kerr.Error) *kerr.Error {
	if err == nil {
		return nil
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return otherwise
}

// errCode is kafkaError's code, UNKNOWN_SERVER_ERROR for an unmapped
// error, 0 for nil.
func errCode(err error) int16 {
	if ke := kafkaError(err, kerr.UnknownServerError); ke != nil {
		return ke.Code
	}
	return 0
}

// storageError is kafkaError for a failure of the disk under a log: an
// unmapped error is KAFKA_STORAGE_ERROR.
func storageError(err error) *kerr.Error { return kafkaError(err, kerr.KafkaStorageError) }

// replicationRefusals are the errors by which replication refuses a
// request rather than fails at it.
var replicationRefusals = []error{replica.ErrUnknownPartition, replica.ErrNotReplica, replica.ErrNotLeader, replica.ErrNotEnoughReplicas,
	replica.ErrNotEnoughReplicasAfterAppend, replica.ErrReplicationTimeout}

// errorMessage is the message a response sends with err (where its
// version carries one): the error's own, which names what failed, but
// Kafka's description of the code for a refusal of replication (such as
// NOT_ENOUGH_REPLICAS), as a Kafka error would carry.
func errorMessage(err error) string {
	for _, r := range replicationRefusals {
		if errors.Is(err, r) {
			return kafkaError(err, kerr.UnknownServerError).Error()
		}
	}
	return err.Error()
}
