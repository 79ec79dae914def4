package recordbatch

// BuildTransactional encodes records as one uncompressed batch of a
// transactional producer, as Kafka's group coordinator writes a
// TxnOffsetCommit to __consumer_offsets: the producer's ID and epoch, a
// base sequence, the transactional attribute, CreateTime timestamps and
// base offset 0 (the log assigns the offsets). The producer's COMMIT or
// ABORT marker, written later, decides whether the records count.
func BuildTransactional(records []KeyValue, timestamp, producerID int64, producerEpoch int16, baseSequence int32) ([]byte, error) {
	h := Header{
		Magic: 2, Attributes: transactionalBit, LastOffsetDelta: int32(len(records) - 1),
		BaseTimestamp: timestamp, MaxTimestamp: timestamp,
		ProducerID: producerID, ProducerEpoch: producerEpoch, BaseSequence: baseSequence,
		PartitionLeaderEpoch: -1, RecordCount: int32(len(records)),
	}
	b := NewRetained(h)
	for i, kv := range records {
		b.Add(Record{Offset: int64(i), Timestamp: timestamp, Key: kv.Key, Value: kv.Value, Headers: []byte{0}})
	}
	return b.Bytes(-1)
}
