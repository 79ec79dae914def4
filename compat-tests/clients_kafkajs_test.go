package compattests

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// kafkajsDir holds the kafkajs script and its package.json and lock file;
// `npm ci --prefix compat-tests/testdata/kafkajs` installs node_modules there
// (`make test` does when npm is installed, and .ci/run).
const kafkajsDir = "testdata/kafkajs"

// requireKafkajs returns the path of node, skipping the test (failing it
// under CI) unless node is on PATH and kafkajs is installed in kafkajsDir.
func requireKafkajs(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		requireClientTool(t, "node is not on PATH", "apt-get install nodejs npm, then make test installs kafkajs")
	}
	if _, err := os.Stat(filepath.Join(kafkajsDir, "node_modules", "kafkajs", "package.json")); err != nil {
		requireClientTool(t, "kafkajs is not installed in compat-tests/"+kafkajsDir, "npm ci --prefix compat-tests/testdata/kafkajs, which make test runs when npm is installed")
	}
	return node
}

// kafkajs (node) creates a topic and produces with its idempotent producer;
// it has no consumer outside a consumer group, so franz-go reads the records
// back.
func TestKafkajsAdminAndIdempotentProducerWriteByteExact(t *testing.T) {
	node := requireKafkajs(t)
	t.Parallel()
	b := startBroker(t)
	topic := uniqueTopic(t)
	const partitions = 3
	want := clientRecords(topic, partitions, clientRecordCount, time.Now())

	out := runClientScript(t, kafkajsDir, scriptInput{Topic: topic, Partitions: partitions, Records: toScriptRecords(want)},
		node, "roundtrip.js", b.Addr())
	requireScriptSawTopic(t, "kafkajs", out, topic, partitions)
	requireAcknowledgedAt(t, "kafkajs", want, out.Produced)
	requireEndOffsets(t, "kafkajs", want, partitions, out.EndOffsets)
	requireStoredByteExact(t, b, topic, want)
}
