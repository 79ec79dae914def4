package compattests

import (
	"testing"
	"time"
)

// kafka-python is a pure-python client that picks its request versions from
// the Kafka version it infers from ApiVersions: it creates a topic, produces
// with acks=all and reads back with a group-less, assign()ed consumer.
func TestKafkaPythonCreatesProducesAndReadsBackByteExact(t *testing.T) {
	requirePythonModule(t, "kafka", "python3-kafka")
	t.Parallel()
	b := startBroker(t)
	topic := uniqueTopic(t)
	const partitions = 3
	want := clientRecords(topic, partitions, clientRecordCount, time.Now())

	out := runClientScript(t, "testdata/python", scriptInput{Topic: topic, Partitions: partitions, Records: toScriptRecords(want)},
		debianPython, "kafka_python_roundtrip.py", b.Addr())
	const client = "kafka-python"
	requireScriptSawTopic(t, client, out, topic, partitions)
	requireAcknowledgedAt(t, client, want, out.Produced)
	requireEndOffsets(t, client, want, partitions, out.EndOffsets)
	requireScriptConsumed(t, client, topic, want, out.Consumed)
	requireStoredByteExact(t, b, topic, want)
}
