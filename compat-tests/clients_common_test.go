package compattests

// What the stock-client tests (clients_*_test.go) share: one set of records
// that every client produces, the checks that a client's own consumer and a
// kgo consumer both read them back byte-exact at the offsets they were
// acknowledged at, and the plumbing to run the node and python clients.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// clientRecordCount is how many records each client test produces: enough
// for several batches per partition, few enough to stay well under a second.
const clientRecordCount = 120

// clientRecords returns n keyed records for topic, record i going to
// partition i%partitions at offset i/partitions (set in Offset), with a
// timestamp base+i ms. They hold what clients and brokers most often mangle:
// binary keys and values (NUL and 0xff bytes), an empty value and a null
// value (a tombstone) — which Kafka keeps apart —, values up to 4 KiB, records with no headers, empty and binary header values and a
// UTF-8 header key.
func clientRecords(topic string, partitions int32, n int, base time.Time) []*kgo.Record {
	base = base.Truncate(time.Millisecond)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		rng := rand.New(rand.NewPCG(uint64(i), 0x5a3a))
		key := []byte(fmt.Sprintf("key-%03d", i))
		if i%7 == 4 {
			key = append(key, 0x00, 0xff, byte(i), 0x80)
		}
		var value []byte
		switch i {
		case 1:
			value = []byte{}
		case 2:
			value = nil
		default:
			value = make([]byte, 1+(i*131)%4096)
			for j := range value {
				value[j] = byte(rng.Uint32())
			}
		}
		var headers []kgo.RecordHeader
		if i%5 != 0 {
			bin := make([]byte, i%17)
			for j := range bin {
				bin[j] = byte(rng.Uint32())
			}
			headers = append(headers,
				kgo.RecordHeader{Key: "h-index", Value: []byte(itoa(i))},
				kgo.RecordHeader{Key: "bin", Value: bin}, // empty when i%17 == 0
			)
			if i%10 == 3 {
				headers = append(headers, kgo.RecordHeader{Key: "trâce-ü", Value: []byte("ünïcode")})
			}
		}
		recs[i] = &kgo.Record{
			Topic:     topic,
			Partition: int32(i) % partitions,
			Offset:    int64(i) / int64(partitions),
			Key:       key,
			Value:     value,
			Headers:   headers,
			Timestamp: base.Add(time.Duration(i) * time.Millisecond),
		}
	}
	return recs
}

// byPartition splits records by partition, keeping their order.
func byPartition(recs []*kgo.Record) map[int32][]*kgo.Record {
	m := map[int32][]*kgo.Record{}
	for _, r := range recs {
		m[r.Partition] = append(m[r.Partition], r)
	}
	return m
}

// requireSameRecords fails unless got holds exactly want, in order: same
// partition and offset, and the same key, value, headers and timestamp as
// sameRecord compares them. At most five differences are listed.
func requireSameRecords(t *testing.T, what string, want, got []*kgo.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: read %d records, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		w, g := want[i], got[i]
		err := sameRecord(w, g)
		if err == nil && (w.Partition != g.Partition || w.Offset != g.Offset) {
			err = fmt.Errorf("at partition %d offset %d, want partition %d offset %d", g.Partition, g.Offset, w.Partition, w.Offset)
		}
		if err != nil {
			t.Errorf("%s: record %d (key %q): %v", what, i, w.Key, err)
			if bad++; bad == 5 {
				break
			}
		}
	}
	if bad > 0 {
		t.FailNow()
	}
}

// withEmptyAsNull copies recs with empty keys and values made null, for
// comparing with a client that reads both as null.
func withEmptyAsNull(recs []*kgo.Record) []*kgo.Record {
	out := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		c := *r
		if c.Key != nil && len(c.Key) == 0 {
			c.Key = nil
		}
		if c.Value != nil && len(c.Value) == 0 {
			c.Value = nil
		}
		out[i] = &c
	}
	return out
}

// requireStoredByteExact reads topic with a fresh kgo consumer and fails
// unless every partition holds exactly its records of want, from offset 0:
// what another client wrote is what franz-go reads.
func requireStoredByteExact(t *testing.T, b *testBroker, topic string, want []*kgo.Record) {
	t.Helper()
	got := readAll(t, b, topic)
	wantBy := byPartition(want)
	for p, wantP := range wantBy {
		requireSameRecords(t, fmt.Sprintf("kgo reading %s/%d", topic, p), wantP, got[p])
	}
	for p, gotP := range got {
		if _, ok := wantBy[p]; !ok && len(gotP) > 0 {
			t.Fatalf("kgo reads %d records from %s/%d, where none were produced", len(gotP), topic, p)
		}
	}
}

// requireClientTool skips the test when a client it needs is not installed,
// unless CI is set: there a missing client is a broken CI setup, not a
// reason to test less. missing says what is not there, install the command
// that installs it. A skip is also listed for `make test` to report (see
// skippedClientsFile).
func requireClientTool(t *testing.T, missing, install string) {
	t.Helper()
	if missing == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s; CI must install it (%s)", missing, install)
	}
	skippedClients.add(fmt.Sprintf("%s: %s (%s)", t.Name(), missing, install))
	t.Skipf("%s (%s)", missing, install)
}

// skippedClientsFile is the environment variable naming a file to which
// the package appends, at exit, one line per client test skipped for want
// of its client. `make test` sets it and prints the lines at its end: go
// test shows nothing of the skips of a package that passes.
const skippedClientsFile = "SAMSA_SKIPPED_CLIENTS"

var skippedClients skippedClientList

type skippedClientList struct {
	mu    sync.Mutex
	lines []string
}

func (l *skippedClientList) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

// report appends the skipped tests to the file skippedClientsFile names,
// if it names one.
func (l *skippedClientList) report() error {
	path := os.Getenv(skippedClientsFile)
	l.mu.Lock()
	defer l.mu.Unlock()
	if path == "" || len(l.lines) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strings.Join(l.lines, "\n") + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// scriptRecord is a record as the node and python scripts read and write
// it, one JSON object; JSON gives []byte as base64 and nil as null, so null
// and empty keys, values and header values stay apart.
type scriptRecord struct {
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Key       []byte         `json:"key"`
	Value     []byte         `json:"value"`
	Headers   []scriptHeader `json:"headers"`
	Timestamp int64          `json:"timestamp"` // ms since the epoch
}

type scriptHeader struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// scriptInput is what a client script reads on stdin.
type scriptInput struct {
	Topic      string         `json:"topic"`
	Partitions int32          `json:"partitions"`
	Records    []scriptRecord `json:"records"`
}

// scriptOutput is what a client script prints on stdout: what the client
// saw, for the Go test to judge. Fields a client cannot fill stay empty.
type scriptOutput struct {
	// Topics are the topic names the client's metadata request listed and
	// Partitions the partition count it gave for the test's topic.
	Topics     []string `json:"topics"`
	Partitions int32    `json:"partitions"`
	// Produced is the partition and offset each record was acknowledged
	// at, in the order of the input.
	Produced []scriptRecord `json:"produced"`
	// EndOffsets maps partition (as a string, JSON keys being strings) to
	// the end offset the client listed after producing.
	EndOffsets map[string]int64 `json:"endOffsets"`
	// Consumed are the records the client's consumer read back, in the
	// order it read them.
	Consumed []scriptRecord `json:"consumed"`
}

func toScriptRecords(recs []*kgo.Record) []scriptRecord {
	out := make([]scriptRecord, len(recs))
	for i, r := range recs {
		sr := scriptRecord{Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp.UnixMilli()}
		for _, h := range r.Headers {
			sr.Headers = append(sr.Headers, scriptHeader{Key: h.Key, Value: h.Value})
		}
		out[i] = sr
	}
	return out
}

func fromScriptRecords(topic string, srs []scriptRecord) []*kgo.Record {
	out := make([]*kgo.Record, len(srs))
	for i, sr := range srs {
		r := &kgo.Record{Topic: topic, Partition: sr.Partition, Offset: sr.Offset, Key: sr.Key, Value: sr.Value, Timestamp: time.UnixMilli(sr.Timestamp)}
		for _, h := range sr.Headers {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		out[i] = r
	}
	return out
}

// runClientScript runs name with args in dir, feeding it input as JSON on
// stdin, and decodes the scriptOutput it prints. The script's stderr (its
// client's log) is shown when the test fails.
func runClientScript(t *testing.T, dir string, input scriptInput, name string, args ...string) scriptOutput {
	t.Helper()
	raw := runScript(t, dir, input, name, args...)
	var out scriptOutput
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s printed something that is not its JSON report: %v\n%s", filepath.Base(name), err, tail(raw, 8<<10))
	}
	return out
}

// runScript runs name with args in dir, feeding it input as JSON on stdin,
// and returns what it printed on stdout, failing the test if it exits
// non-zero or runs for more than 45s. Its stderr is shown when the test
// fails.
func runScript(t *testing.T, dir string, input any, name string, args ...string) []byte {
	t.Helper()
	stdin, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmdline := filepath.Base(name) + " " + strings.Join(args, " ")
	t.Cleanup(func() {
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", cmdline, tail(stderr.Bytes(), 32<<10))
		}
	})
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v (after %v)\nstdout:\n%s", cmdline, err, time.Since(start).Round(time.Millisecond), tail(stdout.Bytes(), 8<<10))
	}
	return stdout.Bytes()
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return append([]byte("...\n"), b[len(b)-n:]...)
	}
	return b
}

// requireScriptSawTopic fails unless the script's metadata listed topic with
// the given number of partitions.
func requireScriptSawTopic(t *testing.T, client string, out scriptOutput, topic string, partitions int32) {
	t.Helper()
	if !slices.Contains(out.Topics, topic) {
		t.Fatalf("%s metadata lists topics %q, want %q among them", client, out.Topics, topic)
	}
	if out.Partitions != partitions {
		t.Fatalf("%s metadata gives %s %d partitions, want %d", client, topic, out.Partitions, partitions)
	}
}

// requireAcknowledgedAt fails unless the client was told each record landed
// at the partition and offset clientRecords planned for it.
func requireAcknowledgedAt(t *testing.T, client string, want []*kgo.Record, produced []scriptRecord) {
	t.Helper()
	if len(produced) != len(want) {
		t.Fatalf("%s reports %d produced records, want %d", client, len(produced), len(want))
	}
	for i, w := range want {
		if p := produced[i]; p.Partition != w.Partition || p.Offset != w.Offset {
			t.Fatalf("%s: record %d (key %q) acknowledged at partition %d offset %d, want partition %d offset %d",
				client, i, w.Key, p.Partition, p.Offset, w.Partition, w.Offset)
		}
	}
}

// requireEndOffsets fails unless the end offsets the client listed are the
// number of records produced to each partition.
func requireEndOffsets(t *testing.T, client string, want []*kgo.Record, partitions int32, got map[string]int64) {
	t.Helper()
	for p := int32(0); p < partitions; p++ {
		n := int64(len(byPartition(want)[p]))
		if o, ok := got[itoa(p)]; !ok || o != n {
			t.Fatalf("%s lists end offsets %v, want %d for partition %d", client, got, n, p)
		}
	}
}

// uniqueTopic names a topic after the test, so topics of different tests on
// one broker (and their logs) are easy to tell apart.
func uniqueTopic(t *testing.T) string {
	var sb strings.Builder
	for _, c := range strings.ToLower(t.Name()) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
			sb.WriteRune(c)
		default:
			sb.WriteByte('_')
		}
	}
	s := sb.String()
	if len(s) > 200 {
		s = s[len(s)-200:]
	}
	return s
}

// requireScriptConsumed fails unless the records a script's consumer read
// are want, partition by partition, byte-exact and at their offsets.
func requireScriptConsumed(t *testing.T, client, topic string, want []*kgo.Record, consumed []scriptRecord) {
	t.Helper()
	if len(consumed) != len(want) {
		t.Fatalf("%s consumed %d records, want %d", client, len(consumed), len(want))
	}
	got := byPartition(fromScriptRecords(topic, consumed))
	for p, wantP := range byPartition(want) {
		requireSameRecords(t, fmt.Sprintf("%s consuming %s/%d", client, topic, p), wantP, got[p])
	}
}

// debianPython is the interpreter the python clients are installed for: the
// Debian packages python3-kafka and python3-confluent-kafka put them in the
// system python's dist-packages, which a python3 earlier on PATH (pyenv, a
// virtualenv) does not see.
const debianPython = "/usr/bin/python3"

// requirePythonModule skips (fails in CI) unless debianPython can import
// module, which Debian package pkg provides.
func requirePythonModule(t *testing.T, module, pkg string) {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		requireClientTool(t, debianPython+" is missing", "apt-get install python3 "+pkg)
	}
	if out, err := exec.Command(debianPython, "-c", "import "+module).CombinedOutput(); err != nil {
		requireClientTool(t, fmt.Sprintf("%s cannot import %s: %v: %s", debianPython, module, err, bytes.TrimSpace(out)), "apt-get install "+pkg)
	}
}
