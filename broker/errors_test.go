package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/broker/replica"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/recordbatch"
)

func TestEveryLowerLayerErrorHasOneKafkaCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want *kerr.Error
	}{
		{replica.ErrUnknownPartition, kerr.UnknownTopicOrPartition},
		{replica.ErrNotReplica, kerr.NotLeaderForPartition},
		{replica.ErrNotLeader, kerr.NotLeaderForPartition},
		{replica.ErrNotEnoughReplicas, kerr.NotEnoughReplicas},
		{replica.ErrNotEnoughReplicasAfterAppend, kerr.NotEnoughReplicasAfterAppend},
		{replica.ErrReplicationTimeout, kerr.RequestTimedOut},
		{plog.ErrOffsetOutOfRange, kerr.OffsetOutOfRange},
		{plog.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
		{plog.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch},
		{plog.ErrClosed, kerr.NotLeaderForPartition},
		{recordbatch.ErrBatchTooLarge, kerr.MessageTooLarge},
		{recordbatch.ErrUnsupportedCompression, kerr.UnsupportedCompressionType},
		{recordbatch.ErrInvalidRecord, kerr.InvalidRecord},
		{recordbatch.ErrCorrupt, kerr.CorruptMessage},
		{controller.ErrTopicExists, kerr.TopicAlreadyExists},
		{controller.ErrUnknownTopic, kerr.UnknownTopicOrPartition},
		{controller.ErrTopicDeletionPending, kerr.UnknownTopicOrPartition},
		{controller.ErrInvalidPartitions, kerr.InvalidPartitions},
		{controller.ErrInvalidReplication, kerr.InvalidReplicationFactor},
		{controller.ErrInvalidAssignment, kerr.InvalidReplicaAssignment},
		{controller.ErrInvalidTopicName, kerr.InvalidTopicException},
		{controller.ErrNotController, kerr.NotController},
		{controller.ErrBrokerNotAvailable, kerr.BrokerNotAvailable},
		{controller.ErrElectionNotNeeded, kerr.ElectionNotNeeded},
		{controller.ErrPreferredLeaderNotAvailable, kerr.PreferredLeaderNotAvailable},
		{controller.ErrEligibleLeadersNotAvailable, kerr.EligibleLeadersNotAvailable},
		{controller.ErrStorage, kerr.KafkaStorageError},
		// A store that cannot be reached is retriable, never
		// UNKNOWN_SERVER_ERROR.
		{controller.ErrStoreUnavailable, kerr.RequestTimedOut},
		{context.DeadlineExceeded, kerr.RequestTimedOut},
	} {
		wrapped := fmt.Errorf("some context: %w", tc.err)
		if got := kafkaError(wrapped, kerr.UnknownServerError); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
		if got := storageError(wrapped); got != tc.want {
			t.Errorf("%v as a storage failure: %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestKafkaErrorsPassThroughAndTheRestGetTheFallback(t *testing.T) {
	if got := kafkaError(fmt.Errorf("lookup: %w", kerr.NotLeaderForPartition), kerr.UnknownServerError); got != kerr.NotLeaderForPartition {
		t.Errorf("a Kafka error became %v", got)
	}
	unknown := errors.New("disk on fire")
	if got := storageError(unknown); got != kerr.KafkaStorageError {
		t.Errorf("an unmapped disk failure is %v, want KAFKA_STORAGE_ERROR", got)
	}
	if got := errCode(unknown); got != kerr.UnknownServerError.Code {
		t.Errorf("an unmapped failure elsewhere is %v, want UNKNOWN_SERVER_ERROR", kerr.ErrorForCode(got))
	}
	if kafkaError(nil, kerr.UnknownServerError) != nil || errCode(nil) != 0 {
		t.Error("nil is not an error")
	}
}

// A refusal of replication goes out with Kafka's description of its code,
// as when the partition answered with the Kafka error itself; any other
// failure with its own message, which names what failed.
func TestReplicationRefusalsCarryKafkasMessage(t *testing.T) {
	if got, want := errorMessage(replica.ErrNotEnoughReplicas), kerr.NotEnoughReplicas.Error(); got != want {
		t.Errorf("NOT_ENOUGH_REPLICAS message %q, want %q", got, want)
	}
	if got, want := errorMessage(replica.ErrNotLeader), kerr.NotLeaderForPartition.Error(); got != want {
		t.Errorf("NOT_LEADER_OR_FOLLOWER message %q, want %q", got, want)
	}
	disk := fmt.Errorf("append to orders-0: %w", errors.New("disk on fire"))
	if got := errorMessage(disk); got != disk.Error() {
		t.Errorf("a disk failure's message %q, want its own", got)
	}
}
