package perf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/tools/cli"
)

// seeds is the address of the one broker every test in this package
// runs against (each on topics of its own): starting one per test would
// cost more than the runs themselves.
var seeds []string

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cluster, err := embedded.Start(ctx, embedded.Config{})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start a broker:", err)
		os.Exit(1)
	}
	seeds = cluster.Seeds()
	code := m.Run()
	cluster.Close()
	os.Exit(code)
}

// runs numbers the topics and groups a test names, so that running the
// tests again (-count) against the same broker starts from nothing.
var runs atomic.Int64

// unique is name made unique to this run of the test.
func unique(name string) string { return fmt.Sprintf("%s-%d", name, runs.Add(1)) }

// samsa runs `samsa ARGS...` in-process against the test broker, as the
// binary would, and returns the exit status and both streams.
func samsa(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return samsaUntil(ctx, args...)
}

// samsaUntil is samsa under ctx, which stands for the binary's signals:
// cancelling it is a Ctrl-C.
func samsaUntil(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	root := cli.NewRoot(env, "samsa", "")
	root.AddCommand(NewCommand(env))
	args = append([]string{"--bootstrap-server", strings.Join(seeds, ",")}, args...)
	code = cli.Execute(ctx, root, args, env.Stdin, &out, &errOut)
	return code, out.String(), errOut.String()
}

// samsaJSON runs a command with -o json, wants it to succeed, and decodes
// its stdout into v.
func samsaJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errOut := samsa(t, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("samsa %s: exit %d, stderr:\n%s", strings.Join(args, " "), code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("samsa %s -o json printed %q: %v", strings.Join(args, " "), out, err)
	}
	if dec.More() {
		t.Fatalf("samsa %s -o json printed more than one JSON value: %q", strings.Join(args, " "), out)
	}
}

// readTopic reads every record of topic from the start, expecting want.
func readTopic(t *testing.T, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var records []*kgo.Record
	for len(records) < want {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s before the deadline", len(records), want, topic)
		}
		fetches.EachError(func(_ string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		records = append(records, fetches.Records()...)
	}
	return records
}

// endOffsets is topic's end offset by partition.
func endOffsets(t *testing.T, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("list end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// interruptOnceWritten cancels a run (its Ctrl-C) once topic holds n
// records, so that an interrupted run has done something, however slowly
// it started.
func interruptOnceWritten(topic string, n int64, interrupt context.CancelFunc) {
	go func() {
		defer interrupt()
		// Without a short MetadataMinAge, the topic found missing before
		// the run creates it would stay missing in kadm's cache for 5 s.
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.MetadataMinAge(10*time.Millisecond))
		if err != nil {
			return
		}
		adm := kadm.NewClient(cl)
		defer adm.Close()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			ends, err := adm.ListEndOffsets(context.Background(), topic)
			var total int64
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err == nil {
					total += o.Offset
				}
			})
			if err == nil && total >= n {
				return
			}
		}
	}()
}

// checkLatencies wants a latency distribution that is one: positive and
// ordered, the average no more than the maximum.
func checkLatencies(t *testing.T, l LatencySummary) {
	t.Helper()
	ordered := []float64{l.P50Ms, l.P95Ms, l.P99Ms, l.P999Ms, l.MaxMs}
	for i, v := range ordered {
		if v <= 0 || (i > 0 && v < ordered[i-1]) {
			t.Errorf("latencies p50, p95, p99, p99.9, max = %v: want positive and non-decreasing", ordered)
			break
		}
	}
	if l.AvgMs <= 0 || l.AvgMs > l.MaxMs {
		t.Errorf("average latency %v ms: want positive and at most the maximum %v ms", l.AvgMs, l.MaxMs)
	}
}

// checkRate wants rate (per second) to be count over elapsedMs, to a
// rounding.
func checkRate(t *testing.T, what string, rate, count, elapsedMs float64) {
	t.Helper()
	want := count / (elapsedMs / 1000)
	if elapsedMs <= 0 || rate <= 0 || rate < want*0.999 || rate > want*1.001 {
		t.Errorf("%s = %v: want %v over %v ms = %v", what, rate, count, elapsedMs, want)
	}
}

func TestProduceCountsEveryRecordAskedForAndEachIsReadableAfter(t *testing.T) {
	topic := unique("produce-counts")
	const records, size = 2000, 64
	var s ProduceSummary
	samsaJSON(t, &s, "perf", "produce", "--topic", topic, "--partitions", "3",
		"--num-records", fmt.Sprint(records), "--record-size", fmt.Sprint(size), "--throughput", "-1", "--producers", "3")

	if s.Topic != topic || s.Records != records || s.Errors != 0 || s.Bytes != records*size {
		t.Errorf("summary %+v: want %d records of %d bytes, no errors", s, records, size)
	}
	checkRate(t, "records_per_sec", s.RecordsPerSec, float64(s.Records), s.ElapsedMs)
	checkRate(t, "mb_per_sec", s.MBPerSec, float64(s.Bytes)/(1<<20), s.ElapsedMs)
	checkLatencies(t, s.Latency)

	ends := endOffsets(t, topic)
	var total int64
	for _, end := range ends {
		total += end
	}
	if len(ends) != 3 || total != records {
		t.Errorf("the topic's end offsets are %v: want 3 partitions holding %d records", ends, records)
	}
	capitals := regexp.MustCompile(fmt.Sprintf("^[A-Z]{%d}$", size))
	for _, r := range readTopic(t, topic, records) {
		if !capitals.Match(r.Value) {
			t.Fatalf("record %d/%d has value %q: want %d capital letters", r.Partition, r.Offset, r.Value, size)
		}
	}
}

func TestProducePrintsKafkasProgressLinesAndSummaryAndHoldsTheThroughputCap(t *testing.T) {
	topic := unique("produce-lines")
	const records, throughput = 60, 200 // 0.3 s at the cap
	code, out, errOut := samsa(t, "perf", "produce", "--topic", topic, "--num-records", fmt.Sprint(records),
		"--record-size", "10", "--throughput", fmt.Sprint(throughput), "--reporting-interval", "50")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "created topic "+topic {
		t.Errorf("first line %q: want the topic's creation", lines[0])
	}
	progress := regexp.MustCompile(`^(\d+) records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency\.$`)
	summary := regexp.MustCompile(`^(\d+) records sent, ([\d.]+) records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, ` +
		`[\d.]+ ms 50th, [\d.]+ ms 95th, [\d.]+ ms 99th, [\d.]+ ms 99.9th\.$`)
	var periodic int
	for _, l := range lines[1 : len(lines)-1] {
		m := progress.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("progress line %q is not Kafka's form", l)
		}
		var n int
		fmt.Sscan(m[1], &n)
		periodic += n
	}
	if len(lines) < 4 || periodic > records {
		t.Errorf("%d progress lines counting %d records, for a run of 0.3 s reported every 50 ms:\n%s", len(lines)-2, periodic, out)
	}
	m := summary.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line %q is not Kafka's summary", lines[len(lines)-1])
	}
	var rate float64
	fmt.Sscan(m[2], &rate)
	if m[1] != fmt.Sprint(records) || rate > throughput*1.05 {
		t.Errorf("summary %q: want %d records at no more than the cap of %d records/sec", lines[len(lines)-1], records, throughput)
	}
}

func TestAnInterruptedProduceReportsWhatWasAcknowledged(t *testing.T) {
	topic := unique("produce-interrupted")
	ctx, interrupt := context.WithCancel(context.Background())
	interruptOnceWritten(topic, 5, interrupt)
	// 1000 records at 100 a second would take 10 s.
	code, out, errOut := samsaUntil(ctx, "perf", "produce", "--topic", topic, "--num-records", "1000",
		"--record-size", "10", "--throughput", "100")

	m := regexp.MustCompile(`(?m)^(\d+) records sent, .* 99.9th\.$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("stdout %q: want the summary of the records sent", out)
	}
	var sent int64
	fmt.Sscan(m[1], &sent)
	want := fmt.Sprintf("samsa perf produce: interrupted after %d of 1000 records\n", sent)
	if code != 1 || errOut != want || sent < 1 || sent >= 1000 {
		t.Errorf("exit %d, stderr %q, %d records sent: want 1, %q, and some records but not all", code, errOut, sent, want)
	}
	var total int64
	for _, end := range endOffsets(t, topic) {
		total += end
	}
	if total < sent {
		t.Errorf("the topic holds %d records: fewer than the %d acknowledged", total, sent)
	}
}

func TestProducerPropsReachTheProducer(t *testing.T) {
	topic := unique("producer-props")
	// Kafka's spelling: --producer-props followed by several key=value
	// arguments. The records are large enough that a batch of one still
	// shrinks when compressed: franz-go sends a batch that does not
	// shrink uncompressed.
	var s ProduceSummary
	samsaJSON(t, &s, "perf", "produce", "--topic", topic, "--num-records", "100", "--record-size", "2000",
		"--producer-props", "acks=1", "compression.type=zstd", "linger.ms=5", "batch.size=16384")
	if s.Records != 100 {
		t.Fatalf("summary %+v: want 100 records", s)
	}
	const zstd = 4 // the batch attributes' compression codec
	for _, r := range readTopic(t, topic, 100) {
		if c := r.Attrs.CompressionType(); c != zstd {
			t.Fatalf("record %d/%d was compressed with codec %d: want zstd (%d)", r.Partition, r.Offset, c, zstd)
		}
	}
}

func TestProducePayloadFileValuesAreWhatIsSent(t *testing.T) {
	topic := unique("payload-file")
	file := t.TempDir() + "/payloads"
	if err := os.WriteFile(file, []byte("alpha|beta|gamma"), 0o644); err != nil {
		t.Fatal(err)
	}
	var s ProduceSummary
	samsaJSON(t, &s, "perf", "produce", "--topic", topic, "--num-records", "50",
		"--payload-file", file, "--payload-delimiter", "|")
	if s.Records != 50 {
		t.Fatalf("summary %+v: want 50 records", s)
	}
	var bytes int64
	for _, r := range readTopic(t, topic, 50) {
		switch v := string(r.Value); v {
		case "alpha", "beta", "gamma":
			bytes += int64(len(v))
		default:
			t.Fatalf("record value %q is not one of the file's", v)
		}
	}
	if s.Bytes != bytes {
		t.Errorf("summary counts %d bytes; the topic holds %d", s.Bytes, bytes)
	}
}

func TestConsumeReadsBackEveryRecordProduced(t *testing.T) {
	topic := unique("consume-all")
	const records, size = 1500, 100
	var p ProduceSummary
	samsaJSON(t, &p, "perf", "produce", "--topic", topic, "--partitions", "4",
		"--num-records", fmt.Sprint(records), "--record-size", fmt.Sprint(size))

	var c ConsumeSummary
	samsaJSON(t, &c, "perf", "consume", "--topic", topic, "--num-records", fmt.Sprint(records))
	if c.Records != records || c.Bytes != p.Bytes || c.TimedOut {
		t.Errorf("consume summary %+v: want the %d records of %d bytes produced", c, records, p.Bytes)
	}
	checkRate(t, "records_per_sec", c.RecordsPerSec, float64(c.Records), c.ElapsedMs)
	if c.Group != "" || c.RebalanceMs != 0 || c.FetchMs != c.ElapsedMs {
		t.Errorf("consume summary %+v: without a group, all the time is fetch time", c)
	}
}

func TestConsumeInAGroupCommitsWhatItRead(t *testing.T) {
	topic := unique("consume-group")
	group := unique("perf-group")
	var p ProduceSummary
	samsaJSON(t, &p, "perf", "produce", "--topic", topic, "--partitions", "2",
		"--num-records", "400", "--record-size", "20")

	var c ConsumeSummary
	samsaJSON(t, &c, "perf", "consume", "--topic", topic, "--group", group, "--messages", "400")
	if c.Records != 400 || c.Group != group || c.RebalanceMs <= 0 || math.Abs(c.RebalanceMs+c.FetchMs-c.ElapsedMs) > 1e-6 {
		t.Errorf("consume summary %+v: want 400 records, the time split into rebalance and fetch", c)
	}

	checkRate(t, "fetch_records_per_sec", c.FetchRecordsPerSec, float64(c.Records), c.FetchMs)

	code, out, errOut := samsa(t, "perf", "consume", "--topic", topic, "--group", unique("perf-group"), "--messages", "400")
	if code != 0 || !regexp.MustCompile(`^400 records consumed, [\d.]+ MB, [\d.]+ records/sec \([\d.]+ MB/sec\), `+
		`fetch time \d+ ms \([\d.]+ records/sec, [\d.]+ MB/sec\), rebalance time \d+ ms\.\n$`).MatchString(out) {
		t.Errorf("exit %d, stdout %q, stderr %q: want the summary with the fetch rates and the rebalance time", code, out, errOut)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()
	committed, err := adm.FetchOffsets(context.Background(), group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	committed.Each(func(o kadm.OffsetResponse) { total += o.At })
	if total != 400 {
		t.Errorf("the group committed offsets summing to %d: want 400, every record read", total)
	}
}

func TestConsumeThatRunsOutOfRecordsBeforeItsCountFails(t *testing.T) {
	topic := unique("consume-short")
	var p ProduceSummary
	samsaJSON(t, &p, "perf", "produce", "--topic", topic, "--num-records", "30", "--record-size", "10")

	code, out, errOut := samsa(t, "perf", "consume", "--topic", topic, "--messages", "40", "--timeout", "1s")
	if code != 1 || !strings.Contains(errOut, "timed out: 30 of 40 records") {
		t.Errorf("exit %d, stderr %q: want 1 and the count read", code, errOut)
	}
	if !strings.HasPrefix(out, "30 records consumed, ") || !strings.Contains(out, "(stopped: no record for --timeout)") {
		t.Errorf("stdout %q: want the summary of what was read, saying it stopped on --timeout", out)
	}
}

func TestConsumeFromLatestSkipsWhatIsAlreadyThere(t *testing.T) {
	topic := unique("consume-latest")
	var p ProduceSummary
	samsaJSON(t, &p, "perf", "produce", "--topic", topic, "--num-records", "30", "--record-size", "10")

	var c ConsumeSummary
	samsaJSON(t, &c, "perf", "consume", "--topic", topic, "--from-latest", "--timeout", "500ms")
	if c.Records != 0 || !c.TimedOut {
		t.Errorf("consume summary %+v: want no record, the run ended by --timeout", c)
	}
}

func TestEndToEndMeasuresEveryRecordThroughTheBroker(t *testing.T) {
	topic := unique("end-to-end")
	var s EndToEndSummary
	samsaJSON(t, &s, "perf", "end-to-end", "--topic", topic, "--num-records", "25", "--record-size", "50")
	if s.Topic != topic || s.Records != 25 {
		t.Errorf("summary %+v: want 25 records", s)
	}
	checkLatencies(t, s.Latency)
	if ends := endOffsets(t, topic); len(ends) == 0 {
		t.Errorf("no partition in the topic end-to-end")
	}
}

func TestAnInterruptedEndToEndSummarizesTheRecordsThatCameBack(t *testing.T) {
	topic := unique("end-to-end-interrupted")
	ctx, interrupt := context.WithCancel(context.Background())
	// Record 3 is sent once record 2 came back.
	interruptOnceWritten(topic, 3, interrupt)
	code, out, errOut := samsaUntil(ctx, "perf", "end-to-end", "--topic", topic,
		"--num-records", "100000000", "-o", "json")
	var s EndToEndSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	want := fmt.Sprintf("samsa perf end-to-end: interrupted after %d of 100000000 records\n", s.Records)
	if code != 1 || !strings.HasSuffix(errOut, want) || s.Records < 1 {
		t.Errorf("exit %d, stderr %q, summary %+v: want 1, %q and the records measured", code, errOut, s, want)
	}
	checkLatencies(t, s.Latency)
}

func TestBadCommandLinesAreUsageErrors(t *testing.T) {
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"perf", "produce", "--num-records", "1", "--record-size", "1"}, "--topic is required"},
		{[]string{"perf", "produce", "--topic", "t", "--record-size", "1"}, "--num-records is required"},
		{[]string{"perf", "produce", "--topic", "t", "--num-records", "1"}, "give either --record-size"},
		{[]string{"perf", "produce", "--topic", "t", "--num-records", "1", "--record-size", "1", "--throughput", "0"}, "--throughput 0"},
		{[]string{"perf", "produce", "--topic", "t", "--num-records", "1", "--record-size", "1", "--producer-props", "frobnicate=1"}, `producer property "frobnicate" is not supported`},
		{[]string{"perf", "produce", "--topic", "t", "--num-records", "1", "--record-size", "1", "stray"}, `unexpected argument "stray"`},
		{[]string{"perf", "consume"}, "--topic is required"},
		{[]string{"perf", "end-to-end", "--topic", "t", "--num-records", "1", "--acks", "0"}, `--acks "0"`},
		{[]string{"perf", "produce", "--reporting-interval", "soon"}, "want milliseconds or a duration"},
		{[]string{"perf"}, "Usage:"},
	}
	for _, c := range cases {
		code, _, errOut := samsa(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.stderr) {
			t.Errorf("samsa %s: exit %d, stderr %q: want 2 and %q", strings.Join(c.args, " "), code, errOut, c.stderr)
		}
	}
}

func TestConsumeOfAMissingTopicFailsNamingIt(t *testing.T) {
	code, _, errOut := samsa(t, "perf", "consume", "--topic", "no-such-topic", "--messages", "1")
	if code != 1 || errOut != "samsa perf consume: topic no-such-topic does not exist\n" {
		t.Errorf("exit %d, stderr %q: want 1 and the topic named", code, errOut)
	}
}

// Without compression.type the records go uncompressed, as Kafka's
// producer sends them (franz-go on its own would use snappy), so a run
// measures what its flags say.
func TestProduceSendsUncompressedBatchesByDefault(t *testing.T) {
	topic := unique("produce-uncompressed")
	var s ProduceSummary
	samsaJSON(t, &s, "perf", "produce", "--topic", topic, "--num-records", "100", "--record-size", "2000", "--linger", "5ms")
	if s.Records != 100 {
		t.Fatalf("summary %+v: want 100 records", s)
	}
	for _, r := range readTopic(t, topic, 100) {
		if c := r.Attrs.CompressionType(); c != 0 {
			t.Fatalf("record %d/%d was compressed with codec %d: want none", r.Partition, r.Offset, c)
		}
	}
}
