package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
)

// produceRecords writes records with a plain kgo producer, synchronously.
func produceRecords(t *testing.T, cluster *embedded.Cluster, records ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := newClient(t, cluster, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// at is a time in epoch milliseconds.
func at(ms int64) time.Time { return time.UnixMilli(ms) }

func TestConsumeFromBeginningPrintsValuesThenTheCount(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-plain", 1, nil)
	produceRecords(t, c,
		&kgo.Record{Topic: "consume-plain", Value: []byte("one")},
		&kgo.Record{Topic: "consume-plain", Value: []byte("two")},
		&kgo.Record{Topic: "consume-plain", Value: []byte("three")})
	res := mustSucceed(t, c, "", "consume", "--topic", "consume-plain", "--from-beginning", "--max-messages", "2")
	if res.stdout != "one\ntwo\n" {
		t.Errorf("stdout %q; want the first two values", res.stdout)
	}
	if res.stderr != "Processed a total of 2 messages\n" {
		t.Errorf("stderr %q; want Kafka's count line", res.stderr)
	}
	res = mustSucceed(t, c, "", "consume", "--topic", "consume-plain", "--from-beginning", "--timeout-ms", "1000")
	if res.stdout != "one\ntwo\nthree\n" || res.stderr != "Processed a total of 3 messages\n" {
		t.Errorf("with --timeout-ms: stdout %q stderr %q; want all three values and a count of 3", res.stdout, res.stderr)
	}
	// Without --from-beginning it starts at the end, as Kafka's does.
	res = mustSucceed(t, c, "", "consume", "--topic", "consume-plain", "--timeout-ms", "1000")
	if res.stdout != "" || res.stderr != "Processed a total of 0 messages\n" {
		t.Errorf("from the end: stdout %q stderr %q; want nothing and a count of 0", res.stdout, res.stderr)
	}
}

func TestConsumeRoundTripsWhatProducePrinted(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-roundtrip", 2, nil)
	mustSucceed(t, c, "h:1\tk0:zero\n\tk1:one\n", "produce", "--topic", "consume-roundtrip", "--partition", "1",
		"--key-separator", ":", "--property", "parse.headers=true")
	res := mustSucceed(t, c, "", "consume", "--topic", "consume-roundtrip", "--from-beginning", "--max-messages", "2",
		"--property", "print.key=true", "--property", "print.partition=true", "--property", "print.offset=true",
		"--property", "print.headers=true", "--property", "key.separator= | ")
	want := "Partition:1 | Offset:0 | h:1 | k0 | zero\nPartition:1 | Offset:1 | NO_HEADERS | k1 | one\n"
	if res.stdout != want {
		t.Errorf("stdout\n%s\nwant\n%s", res.stdout, want)
	}
}

func TestConsumePrintsTimestampsAndNullsAsKafkasFormatter(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-nulls", 1, nil)
	produceRecords(t, c, &kgo.Record{Topic: "consume-nulls", Timestamp: at(1700000000123), Headers: []kgo.RecordHeader{{Key: "h", Value: nil}}})
	res := mustSucceed(t, c, "", "consume", "--topic", "consume-nulls", "--from-beginning", "--max-messages", "1",
		"--property", "print.timestamp=true", "--property", "print.key=true", "--property", "print.headers=true",
		"--property", "null.literal=<nil>")
	if want := "CreateTime:1700000000123\th:<nil>\t<nil>\t<nil>\n"; res.stdout != want {
		t.Errorf("stdout %q; want %q", res.stdout, want)
	}
}

func TestConsumeFormatStringPrintsEachDirective(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-format", 1, nil)
	produceRecords(t, c,
		&kgo.Record{Topic: "consume-format", Key: []byte("k"), Value: []byte("hello"), Timestamp: at(1700000000000),
			Headers: []kgo.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}}},
		&kgo.Record{Topic: "consume-format", Value: []byte("nokey"), Timestamp: at(1700000000001)})
	res := mustSucceed(t, c, "", "consume", "--topic", "consume-format", "--from-beginning", "--max-messages", "2",
		"--format", `%t/%p/%o@%T\t%k(%K)=%s(%S) [%h] 100%%\n`)
	want := "consume-format/0/0@1700000000000\tk(1)=hello(5) [a=1,b=2] 100%\n" +
		"consume-format/0/1@1700000000001\t(-1)=nokey(5) [] 100%\n"
	if res.stdout != want {
		t.Errorf("stdout\n%q\nwant\n%q", res.stdout, want)
	}
}

func TestConsumeRefusesBadFormatsAndFlagCombinationsAsUsage(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	for _, flags := range [][]string{
		{"--format", "%x"},
		{"--format", "%k", "--property", "print.key=true"},
		{"--offset", "3"}, // needs --partition
		{"--from-beginning", "--from-timestamp", "0"},
		{"--isolation-level", "serializable"},
		{"--from-timestamp", "yesterday"},
		{"--property", "print.kee=true"},
	} {
		res := samsa(t, c, "", append([]string{"consume", "--topic", "consume-usage"}, flags...)...)
		if res.code != 2 {
			t.Errorf("%v: exit status %d (stderr %q); want 2", flags, res.code, res.stderr)
		}
	}
}

// jsonLine is one line of `samsa consume -o json`, as a script reads it.
type jsonLine struct {
	Topic       string  `json:"topic"`
	Partition   int32   `json:"partition"`
	Offset      int64   `json:"offset"`
	Timestamp   int64   `json:"timestamp"`
	Key         *string `json:"key"`
	Value       *string `json:"value"`
	ValueBase64 string  `json:"value_base64"`
	Headers     []struct {
		Key   string  `json:"key"`
		Value *string `json:"value"`
	} `json:"headers"`
}

func TestConsumeJSONPrintsOneObjectPerRecord(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-json", 1, nil)
	produceRecords(t, c,
		&kgo.Record{Topic: "consume-json", Key: []byte("k"), Value: []byte(`{"a":1}`), Timestamp: at(1700000000000),
			Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}},
		&kgo.Record{Topic: "consume-json", Value: []byte{0xff, 0x00}, Timestamp: at(1700000000001)})
	res := mustSucceed(t, c, "", "-o", "json", "consume", "--topic", "consume-json", "--from-beginning", "--max-messages", "2")
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout %q; want two lines", res.stdout)
	}
	var got []jsonLine
	for _, l := range lines {
		var one jsonLine
		if err := json.Unmarshal([]byte(l), &one); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		got = append(got, one)
	}
	first, second := got[0], got[1]
	if first.Topic != "consume-json" || first.Partition != 0 || first.Offset != 0 || first.Timestamp != 1700000000000 ||
		first.Key == nil || *first.Key != "k" || first.Value == nil || *first.Value != `{"a":1}` ||
		len(first.Headers) != 1 || first.Headers[0].Key != "h" || *first.Headers[0].Value != "v" {
		t.Errorf("first record %s; want topic, partition 0, offset 0, its timestamp, key k, the value as a string and header h=v", lines[0])
	}
	if second.Offset != 1 || second.Key != nil || second.Value != nil || second.ValueBase64 != "/wA=" {
		t.Errorf("second record %s; want offset 1, null key, and the non-UTF-8 value in value_base64", lines[1])
	}
}

func TestConsumePartitionFromAnOffsetEarliestOrLatest(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-offsets", 2, nil)
	var records []*kgo.Record
	for i := range 5 {
		records = append(records, &kgo.Record{Topic: "consume-offsets", Partition: 1, Value: []byte(fmt.Sprint("p1-", i))})
	}
	records = append(records, &kgo.Record{Topic: "consume-offsets", Partition: 0, Value: []byte("p0-0")})
	produceRecords(t, c, records...)
	cases := []struct {
		flags []string
		want  string
	}{
		{[]string{"--partition", "1", "--offset", "3"}, "p1-3\np1-4\n"},
		{[]string{"--partition", "1", "--offset", "earliest"}, "p1-0\np1-1\np1-2\np1-3\np1-4\n"},
		{[]string{"--partition", "1", "--from-beginning"}, "p1-0\np1-1\np1-2\np1-3\np1-4\n"},
		{[]string{"--partition", "0", "--offset", "earliest"}, "p0-0\n"},
		{[]string{"--partition", "1", "--offset", "latest"}, ""},
		{[]string{"--partition", "1"}, ""}, // latest, as Kafka's default
	}
	for _, tc := range cases {
		args := append([]string{"consume", "--topic", "consume-offsets", "--timeout-ms", "700"}, tc.flags...)
		if res := mustSucceed(t, c, "", args...); res.stdout != tc.want {
			t.Errorf("%v: stdout %q; want %q", tc.flags, res.stdout, tc.want)
		}
	}
	res := samsa(t, c, "", "consume", "--topic", "consume-offsets", "--partition", "7", "--timeout-ms", "700")
	if res.code != 1 || !strings.Contains(res.stderr, "topic consume-offsets has 2 partitions: no partition 7") {
		t.Errorf("a partition the topic lacks: exit status %d, stderr %q; want 1 and a clear error", res.code, res.stderr)
	}
}

func TestConsumeFromTimestampStartsAtTheFirstRecordAtOrAfterIt(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-timestamps", 1, nil)
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		produceRecords(t, c, &kgo.Record{Topic: "consume-timestamps", Value: []byte(fmt.Sprint("minute-", i)), Timestamp: base.Add(time.Duration(i) * time.Minute)})
	}
	for _, from := range []string{
		"2024-05-01T12:01:30Z",
		"2024-05-01T14:01:30+02:00",
		fmt.Sprint(base.Add(90 * time.Second).UnixMilli()),
	} {
		res := mustSucceed(t, c, "", "consume", "--topic", "consume-timestamps", "--from-timestamp", from, "--timeout-ms", "700")
		if res.stdout != "minute-2\nminute-3\n" {
			t.Errorf("--from-timestamp %s: stdout %q; want the records of minutes 2 and 3", from, res.stdout)
		}
	}
	res := mustSucceed(t, c, "", "consume", "--topic", "consume-timestamps", "--from-timestamp", "2030-01-01T00:00:00Z", "--timeout-ms", "700")
	if res.stdout != "" {
		t.Errorf("a time after every record: stdout %q; want nothing", res.stdout)
	}
}

func TestConsumeGroupCommitsWhatItPrintedAndLeavesOnCancel(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-group", 3, nil)
	var records []*kgo.Record
	for i := range 9 {
		records = append(records, &kgo.Record{Topic: "consume-group", Partition: int32(i % 3), Value: []byte(fmt.Sprint("v", i))})
	}
	produceRecords(t, c, records...)

	// Ctrl-C is the command's context being cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- samsaCtx(ctx, c, strings.NewReader(""), &stdout, &stderr, "consume", "--topic", "consume-group", "--group", "console-g", "--from-beginning")
	}()
	checkFor(t, 15*time.Second, "the consumer printed all 9 records", func() bool {
		return strings.Count(stdout.String(), "\n") == 9
	})
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit status %d after Ctrl-C; want 0 (stderr %q)", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the consumer did not end within 15 s of Ctrl-C")
	}
	if stderr.String() != "Processed a total of 9 messages\n" {
		t.Errorf("stderr %q; want the count of 9", stderr.String())
	}

	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	adm := kadm.NewClient(newClient(t, c))
	offsets, err := adm.FetchOffsets(actx, "console-g")
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	for p := int32(0); p < 3; p++ {
		o, ok := offsets.Lookup("consume-group", p)
		if !ok || o.At != 3 {
			t.Errorf("partition %d: committed %+v; want offset 3 (all three of its records printed)", p, o)
		}
	}
	groups, err := adm.DescribeGroups(actx, "console-g")
	if err != nil {
		t.Fatalf("describe group: %v", err)
	}
	if g := groups["console-g"]; len(g.Members) != 0 || g.State != "Empty" {
		t.Errorf("group state %s with %d members; want Empty with none (the consumer left)", g.State, len(g.Members))
	}

	// The group goes on where it stopped: only new records.
	produceRecords(t, c, &kgo.Record{Topic: "consume-group", Partition: 1, Value: []byte("new")})
	res := mustSucceed(t, c, "", "consume", "--topic", "consume-group", "--group", "console-g", "--from-beginning", "--max-messages", "1")
	if res.stdout != "new\n" {
		t.Errorf("the group's second run printed %q; want only the new record", res.stdout)
	}
}

func TestConsumeGroupWithMaxMessagesCommitsOnlyWhatItPrinted(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-group-max", 1, nil)
	var records []*kgo.Record
	for i := range 5 {
		records = append(records, &kgo.Record{Topic: "consume-group-max", Value: []byte(fmt.Sprint("v", i))})
	}
	produceRecords(t, c, records...)
	res := mustSucceed(t, c, "", "consume", "--topic", "consume-group-max", "--group", "console-max", "--from-beginning", "--max-messages", "2")
	if res.stdout != "v0\nv1\n" {
		t.Fatalf("stdout %q; want v0 and v1", res.stdout)
	}
	res = mustSucceed(t, c, "", "consume", "--topic", "consume-group-max", "--group", "console-max", "--max-messages", "3")
	if res.stdout != "v2\nv3\nv4\n" {
		t.Errorf("second run: stdout %q; want v2 to v4, after the committed offset", res.stdout)
	}
}

func TestConsumeReadCommittedSkipsAbortedTransactions(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "consume-txn", 1, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := newClient(t, c, kgo.TransactionalID("console-txn"), kgo.DefaultProduceTopic("consume-txn"))
	for _, txn := range []struct {
		value  string
		commit bool
	}{{"aborted", false}, {"committed", true}} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(txn.value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(txn.commit)); err != nil {
			t.Fatal(err)
		}
	}
	res := mustSucceed(t, c, "", "consume", "--topic", "consume-txn", "--from-beginning", "--isolation-level", "read_committed", "--timeout-ms", "1000")
	if res.stdout != "committed\n" {
		t.Errorf("read_committed: stdout %q; want only the committed record", res.stdout)
	}
	res = mustSucceed(t, c, "", "consume", "--topic", "consume-txn", "--from-beginning", "--timeout-ms", "1000")
	if res.stdout != "aborted\ncommitted\n" {
		t.Errorf("read_uncommitted (the default): stdout %q; want both records", res.stdout)
	}
}

func TestUnknownTopicIsAOneLineErrorWhenTheBrokerDoesNotAutoCreate(t *testing.T) {
	t.Parallel()
	c := startBroker(t, map[string]string{"auto.create.topics.enable": "false"})
	res := samsa(t, c, "", "consume", "--topic", "no-such-topic", "--timeout-ms", "1000")
	if res.code != 1 || !strings.Contains(res.stderr, "samsa consume: topic no-such-topic: UNKNOWN_TOPIC_OR_PARTITION") {
		t.Errorf("consume: exit status %d, stderr %q; want 1 and UNKNOWN_TOPIC_OR_PARTITION", res.code, res.stderr)
	}
	start := time.Now()
	res = samsa(t, c, "a\nb\n", "produce", "--topic", "no-such-topic")
	if res.code != 1 || !strings.Contains(res.stderr, "line 1: topic no-such-topic: UNKNOWN_TOPIC_OR_PARTITION") ||
		!strings.Contains(res.stderr, "samsa produce: 2 of 2 records failed") {
		t.Errorf("produce: exit status %d, stderr %q; want 1, each line's UNKNOWN_TOPIC_OR_PARTITION and the count", res.code, res.stderr)
	}
	t.Logf("produce to an unknown topic failed after %s", time.Since(start))
}

func TestConsumeIncludeReadsTheTopicsWhoseWholeNameMatches(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	for _, topic := range []string{"orders-eu", "orders-us", "orders-eu-archive", "payments"} {
		createTopic(t, c, topic, 1, nil)
		produceRecords(t, c, &kgo.Record{Topic: topic, Value: []byte(topic)})
	}
	res := mustSucceed(t, c, "", "consume", "--include", "orders-(eu|us)", "--from-beginning", "--max-messages", "2", "--format", "%s\\n")
	lines := strings.Fields(res.stdout)
	slices.Sort(lines)
	if got := strings.Join(lines, " "); got != "orders-eu orders-us" {
		t.Errorf("printed %q; want the records of orders-eu and orders-us only", got)
	}
	res = mustSucceed(t, c, "", "consume", "--include", "orders-eu", "--from-beginning", "--timeout-ms", "1000")
	if res.stdout != "orders-eu\n" {
		t.Errorf("--include orders-eu printed %q; want only orders-eu's record, not orders-eu-archive's", res.stdout)
	}
}
