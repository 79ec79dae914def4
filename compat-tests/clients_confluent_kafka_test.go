package compattests

import (
	"testing"
	"time"
)

// confluent-kafka-python runs on librdkafka, the C client behind most
// non-JVM Kafka clients: it creates a topic, produces idempotently with
// acks=all and reads back with an assign()ed consumer (no group protocol).
func TestConfluentKafkaPythonCreatesProducesIdempotentlyAndReadsBackByteExact(t *testing.T) {
	requirePythonModule(t, "confluent_kafka", "python3-confluent-kafka")
	t.Parallel()
	b := startBroker(t)
	topic := uniqueTopic(t)
	const partitions = 3
	want := clientRecords(topic, partitions, clientRecordCount, time.Now())

	out := runClientScript(t, "testdata/python", scriptInput{Topic: topic, Partitions: partitions, Records: toScriptRecords(want)},
		debianPython, "confluent_kafka_roundtrip.py", b.Addr())
	const client = "confluent-kafka"
	requireScriptSawTopic(t, client, out, topic, partitions)
	requireAcknowledgedAt(t, client, want, out.Produced)
	requireEndOffsets(t, client, want, partitions, out.EndOffsets)
	requireScriptConsumed(t, client, topic, want, out.Consumed)
	requireStoredByteExact(t, b, topic, want)
}
