package groupcoord

// KeyPartition is the partition of an internal topic with the given
// number of partitions that holds key, as Kafka places group IDs in
// __consumer_offsets and transactional IDs in __transaction_state:
// Utils.abs(key.hashCode) % partitions, with Java's String.hashCode.
func KeyPartition(key string, partitions int32) int32 {
	return partitionFor(key, partitions)
}
