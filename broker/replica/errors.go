package replica

import "errors"

// Errors of the partition table and of replication. They say what
// happened to a partition; package broker (errors.go there) gives each
// its Kafka code, noted here.
var (
	// ErrUnknownPartition: the topic or the partition does not exist
	// (UNKNOWN_TOPIC_OR_PARTITION).
	ErrUnknownPartition = errors.New("unknown topic or partition")
	// ErrNotReplica: the partition exists but this broker holds no
	// replica of it (NOT_LEADER_OR_FOLLOWER).
	ErrNotReplica = errors.New("this broker holds no replica of the partition")
	// ErrNotLeader: this broker does not lead the partition, or the
	// leadership a write was made under has ended
	// (NOT_LEADER_OR_FOLLOWER).
	ErrNotLeader = errors.New("this broker is not the partition's leader")
	// ErrNotEnoughReplicas: an acks=all write refused before the append,
	// the ISR being smaller than min.insync.replicas
	// (NOT_ENOUGH_REPLICAS).
	ErrNotEnoughReplicas = errors.New("the ISR is smaller than min.insync.replicas")
	// ErrNotEnoughReplicasAfterAppend: an acks=all write was replicated,
	// but the ISR is now smaller than min.insync.replicas
	// (NOT_ENOUGH_REPLICAS_AFTER_APPEND).
	ErrNotEnoughReplicasAfterAppend = errors.New("the ISR shrank below min.insync.replicas after the append")
	// ErrReplicationTimeout: an acks=all write was not replicated before
	// its deadline, or its caller gave up (REQUEST_TIMED_OUT).
	ErrReplicationTimeout = errors.New("the ISR did not replicate the write in time")
)
