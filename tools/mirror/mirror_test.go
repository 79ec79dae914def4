package mirror_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/tools/cli"
	"github.com/samsa-io/samsa/tools/mirror"
)

// cluster is one embedded broker with clients for the test.
type cluster struct {
	*embedded.Cluster
	t   *testing.T
	adm *kadm.Client
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	c, err := embedded.Start(testContext(t, 30*time.Second), embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cl := &cluster{Cluster: c, t: t}
	cl.adm = kadm.NewClient(cl.client())
	return cl
}

func (c *cluster) addr() string { return strings.Join(c.Seeds(), ",") }

func (c *cluster) client(opts ...kgo.Opt) *kgo.Client {
	c.t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Seeds()...), kgo.MetadataMinAge(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(cl.Close)
	return cl
}

func (c *cluster) createTopic(topic string, partitions int32, configs map[string]string) {
	c.t.Helper()
	cfgs := make(map[string]*string)
	for k, v := range configs {
		cfgs[k] = kadm.StringPtr(v)
	}
	resp, err := c.adm.CreateTopic(testContext(c.t, 20*time.Second), partitions, 1, cfgs, topic)
	if err != nil {
		c.t.Fatalf("create topic %s: %v %s", topic, err, resp.ErrMessage)
	}
}

func (c *cluster) produce(records ...*kgo.Record) {
	c.t.Helper()
	cl := c.client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := cl.ProduceSync(testContext(c.t, 20*time.Second), records...).FirstErr(); err != nil {
		c.t.Fatalf("produce: %v", err)
	}
}

// readAll returns a topic's records per partition, from the start to the
// end offsets it has now.
func (c *cluster) readAll(topic string) map[int32][]*kgo.Record {
	c.t.Helper()
	ctx := testContext(c.t, 20*time.Second)
	ends, err := c.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		c.t.Fatalf("end offsets of %s: %v", topic, err)
	}
	want := make(map[int32]int64)
	from := make(map[int32]kgo.Offset)
	ends.Each(func(o kadm.ListedOffset) {
		from[o.Partition] = kgo.NewOffset().AtStart()
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	got := make(map[int32][]*kgo.Record)
	if len(want) == 0 {
		return got
	}
	cl := c.client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}))
	for len(want) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("read %s: still waiting for partitions %v", topic, want)
		}
		for _, r := range fetches.Records() {
			got[r.Partition] = append(got[r.Partition], r)
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		}
	}
	return got
}

func (c *cluster) endOffsets(topic string) map[int32]int64 {
	c.t.Helper()
	ends, err := c.adm.ListEndOffsets(testContext(c.t, 10*time.Second), topic)
	if err == nil {
		err = ends.Error()
	}
	out := make(map[int32]int64)
	if err != nil {
		return out
	}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

func (c *cluster) records(topic string) int64 {
	var n int64
	for _, end := range c.endOffsets(topic) {
		n += end
	}
	return n
}

func (c *cluster) committed(group, topic string, partition int32) (int64, bool) {
	c.t.Helper()
	offsets, err := c.adm.FetchOffsets(testContext(c.t, 10*time.Second), group)
	if err != nil {
		return 0, false
	}
	o, ok := offsets.Lookup(topic, partition)
	if !ok || o.Err != nil {
		return 0, false
	}
	return o.At, true
}

func (c *cluster) commit(group, topic string, partition int32, at int64) {
	c.t.Helper()
	os := make(kadm.Offsets)
	os.Add(kadm.Offset{Topic: topic, Partition: partition, At: at, LeaderEpoch: -1})
	resp, err := c.adm.CommitOffsets(testContext(c.t, 10*time.Second), group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		c.t.Fatalf("commit %s %s/%d at %d: %v", group, topic, partition, at, err)
	}
}

// running is a `samsa mirror` command running in the test's process.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	code   int
	stdout bytes.Buffer
	stderr syncBuffer
}

// startMirror runs `samsa mirror` with the flags given after the source
// and target, until stop.
func startMirror(t *testing.T, source, target *cluster, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	env := cli.NewEnv()
	env.Stdout, env.Stderr = &r.stdout, &r.stderr
	root := cli.NewRoot(env, "samsa", "")
	root.AddCommand(mirror.NewCommand(env))
	args = append([]string{"mirror", "--source", source.addr(), "--target", target.addr(), "--report-interval", "200ms"}, args...)
	go func() {
		defer close(r.done)
		r.code = cli.Execute(ctx, root, args, strings.NewReader(""), &r.stdout, &r.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		if t.Failed() {
			t.Logf("samsa %s\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), r.stderr.String(), r.stdout.String())
		}
	})
	return r
}

// stop cancels the mirror's context, as SIGTERM does the binary's, and
// requires a clean exit.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("mirror still running 30s after it was stopped")
	}
	if r.code != 0 {
		t.Fatalf("mirror exited with status %d; stderr:\n%s", r.code, r.stderr.String())
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// checkFor calls fn until it returns nil, failing with its last error
// after timeout.
func checkFor(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitForRecords(t *testing.T, c *cluster, topic string, want int64) {
	t.Helper()
	checkFor(t, 20*time.Second, func() error {
		if got := c.records(topic); got != want {
			return fmt.Errorf("%s has %d records on the target, want %d", topic, got, want)
		}
		return nil
	})
}

// sameRecord says how got differs from want in what a consumer sees.
func sameRecord(want, got *kgo.Record) error {
	if !bytes.Equal(want.Key, got.Key) || (want.Key == nil) != (got.Key == nil) {
		return fmt.Errorf("key %q, want %q", got.Key, want.Key)
	}
	if !bytes.Equal(want.Value, got.Value) || (want.Value == nil) != (got.Value == nil) {
		return fmt.Errorf("value %q (null %v), want %q (null %v)", got.Value, got.Value == nil, want.Value, want.Value == nil)
	}
	if len(want.Headers) != len(got.Headers) {
		return fmt.Errorf("%d headers, want %d", len(got.Headers), len(want.Headers))
	}
	for i := range want.Headers {
		if want.Headers[i].Key != got.Headers[i].Key || !bytes.Equal(want.Headers[i].Value, got.Headers[i].Value) {
			return fmt.Errorf("header %d is %s=%q, want %s=%q", i, got.Headers[i].Key, got.Headers[i].Value, want.Headers[i].Key, want.Headers[i].Value)
		}
	}
	if !want.Timestamp.Equal(got.Timestamp) {
		return fmt.Errorf("timestamp %v, want %v", got.Timestamp, want.Timestamp)
	}
	return nil
}

func TestMirrorCopiesEachRecordToItsPartitionWithKeyValueHeadersAndTimestamp(t *testing.T) {
	source, target := startCluster(t), startCluster(t)
	source.createTopic("orders", 3, map[string]string{"retention.ms": "86400000", "max.message.bytes": "200000"})
	source.createTopic("__internal-ish", 1, nil) // excluded by default, as MirrorMaker 2 does
	source.createTopic("payments", 1, nil)       // not matched by --topics

	base := time.UnixMilli(1_600_000_000_000)
	var sent []*kgo.Record
	for i := range 30 {
		r := &kgo.Record{
			Topic:     "orders",
			Partition: int32(i % 3),
			Key:       fmt.Appendf(nil, "key-%d", i),
			Value:     fmt.Appendf(nil, "value-%d", i),
			Headers:   []kgo.RecordHeader{{Key: "trace", Value: fmt.Appendf(nil, "t%d", i)}, {Key: "empty"}},
			Timestamp: base.Add(time.Duration(i) * time.Minute),
		}
		if i == 7 {
			r.Value = nil // a tombstone stays a tombstone
		}
		sent = append(sent, r)
	}
	source.produce(sent...)
	source.produce(&kgo.Record{Topic: "__internal-ish", Value: []byte("x")}, &kgo.Record{Topic: "payments", Value: []byte("x")})

	m := startMirror(t, source, target, "--topics", "orders|__internal-ish")
	waitForRecords(t, target, "orders", 30)
	checkFor(t, 5*time.Second, func() error {
		if !strings.Contains(m.stderr.String(), " in total, 1 topics, lag ") {
			return fmt.Errorf("no progress line on stderr yet:\n%s", m.stderr.String())
		}
		return nil
	})
	m.stop(t)

	got := target.readAll("orders")
	for p := int32(0); p < 3; p++ {
		var want []*kgo.Record
		for _, r := range sent {
			if r.Partition == p {
				want = append(want, r)
			}
		}
		if len(got[p]) != len(want) {
			t.Fatalf("partition %d has %d records on the target, want %d", p, len(got[p]), len(want))
		}
		for i := range want {
			if err := sameRecord(want[i], got[p][i]); err != nil {
				t.Errorf("orders/%d record %d: %v", p, i, err)
			}
		}
	}

	topics, err := target.adm.ListTopics(testContext(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("payments") || topics.Has("__internal-ish") {
		t.Errorf("target has topics %v; want only orders mirrored", topics.Names())
	}
	if n := len(topics["orders"].Partitions); n != 3 {
		t.Errorf("target orders has %d partitions, want 3", n)
	}
	configs, err := target.adm.DescribeTopicConfigs(testContext(t, 10*time.Second), "orders")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On("orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"retention.ms": "86400000", "max.message.bytes": "200000"} {
		found := false
		for _, c := range rc.Configs {
			if c.Key == key && c.Value != nil {
				found = true
				if *c.Value != want {
					t.Errorf("target orders %s = %s, want %s", key, *c.Value, want)
				}
			}
		}
		if !found {
			t.Errorf("target orders has no %s", key)
		}
	}

	if !strings.Contains(m.stdout.String(), "RECORDS") || !strings.Contains(m.stdout.String(), " 30 ") {
		t.Errorf("summary on stdout does not say 30 records:\n%s", m.stdout.String())
	}
	if !strings.Contains(m.stderr.String(), "lag 0") {
		t.Errorf("stderr reports no lag of 0 at the end:\n%s", m.stderr.String())
	}
}

func TestMirrorRenamesTopicsAndPicksUpNewTopicsAndPartitions(t *testing.T) {
	source, target := startCluster(t), startCluster(t)
	source.createTopic("events", 1, nil)
	source.produce(&kgo.Record{Topic: "events", Value: []byte("first")})

	m := startMirror(t, source, target, "--topics", "events|late", "--rename-prefix", "east.", "--refresh-topics-interval", "200ms")
	waitForRecords(t, target, "east.events", 1)

	source.createTopic("late", 2, map[string]string{"cleanup.policy": "compact"})
	source.produce(&kgo.Record{Topic: "late", Partition: 1, Key: []byte("k"), Value: []byte("v")})
	waitForRecords(t, target, "east.late", 1)

	resp, err := source.adm.CreatePartitions(testContext(t, 10*time.Second), 2, "events")
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("grow source events to 3 partitions: %v", err)
	}
	checkFor(t, 20*time.Second, func() error {
		source.produce(&kgo.Record{Topic: "events", Partition: 2, Value: []byte("new partition")})
		if got := target.endOffsets("east.events")[2]; got == 0 {
			return fmt.Errorf("east.events/2 is still empty on the target")
		}
		return nil
	})
	m.stop(t)

	topics, err := target.adm.ListTopics(testContext(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if topics.Has("events") || topics.Has("late") {
		t.Errorf("target has %v: the copies should be named east.*", topics.Names())
	}
	if n := len(topics["east.events"].Partitions); n != 3 {
		t.Errorf("east.events has %d partitions, want 3 as on the source", n)
	}
	if n := len(topics["east.late"].Partitions); n != 2 {
		t.Errorf("east.late has %d partitions, want 2", n)
	}
	late := target.readAll("east.late")
	if len(late[1]) != 1 || string(late[1][0].Key) != "k" || string(late[1][0].Value) != "v" {
		t.Errorf("east.late/1 holds %v, want the one record k=v", late[1])
	}
	configs, err := target.adm.DescribeTopicConfigs(testContext(t, 10*time.Second), "east.late")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := configs.On("east.late", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && (c.Value == nil || *c.Value != "compact") {
			t.Errorf("east.late cleanup.policy = %v, want compact as on the source", c.Value)
		}
	}
}

func TestMirrorStoppedAndStartedAgainCopiesEveryRecordExactlyOnce(t *testing.T) {
	source, target := startCluster(t), startCluster(t)
	source.createTopic("ledger", 2, nil)
	produceN := func(from, n int) {
		var recs []*kgo.Record
		for i := from; i < from+n; i++ {
			recs = append(recs, &kgo.Record{Topic: "ledger", Partition: int32(i % 2), Value: fmt.Appendf(nil, "%d", i)})
		}
		source.produce(recs...)
	}
	produceN(0, 100)
	first := startMirror(t, source, target, "--topics", "ledger", "-o", "json")
	waitForRecords(t, target, "ledger", 100)
	produceN(100, 50) // some of these may be in flight when it stops
	first.stop(t)

	produceN(150, 50)
	second := startMirror(t, source, target, "--topics", "ledger", "-o", "json")
	waitForRecords(t, target, "ledger", 200)
	second.stop(t)

	// Each run's summary counts what it copied: 200 between them.
	var total int64
	for _, run := range []*running{first, second} {
		var summary struct {
			Records int64 `json:"records"`
			Lag     int64 `json:"lag"`
		}
		if err := json.Unmarshal(run.stdout.Bytes(), &summary); err != nil {
			t.Fatalf("summary on stdout is not JSON: %v\n%s", err, run.stdout.String())
		}
		total += summary.Records
		if run == second && summary.Lag != 0 {
			t.Errorf("the second run stopped with lag %d, want 0: everything produced was mirrored", summary.Lag)
		}
	}
	if total != 200 {
		t.Errorf("the two runs' summaries count %d records, want 200", total)
	}

	got := target.readAll("ledger")
	seen := make(map[string]int)
	for p, recs := range got {
		for _, r := range recs {
			seen[string(r.Value)]++
			var i int
			fmt.Sscan(string(r.Value), &i)
			if int32(i%2) != p {
				t.Errorf("record %d is in partition %d on the target, want %d", i, p, i%2)
			}
		}
	}
	for i := range 200 {
		if n := seen[fmt.Sprint(i)]; n != 1 {
			t.Errorf("record %d is %d times on the target, want once", i, n)
		}
	}
	if at, ok := source.committed(mirror.DefaultGroup, "ledger", 0); !ok || at != 100 {
		t.Errorf("source group %s committed ledger/0 at %d (found %v), want 100: the end of what was mirrored", mirror.DefaultGroup, at, ok)
	}
}

func TestMirrorTranslatesGroupOffsetsToTheTargetAndKeepsTheSyncsAcrossRestarts(t *testing.T) {
	source, target := startCluster(t), startCluster(t)
	source.createTopic("clicks", 1, nil)
	// The target's copy already holds 5 records of its own, so a source
	// offset is 5 more on the target: a translation, not a copy.
	target.createTopic("clicks", 1, nil)
	for i := range 5 {
		target.produce(&kgo.Record{Topic: "clicks", Value: fmt.Appendf(nil, "target-only-%d", i)})
	}
	for i := range 20 {
		source.produce(&kgo.Record{Topic: "clicks", Value: fmt.Appendf(nil, "%d", i)})
	}
	source.commit("reports", "clicks", 0, 12)
	source.commit("console-consumer-42", "clicks", 0, 3) // excluded by default, as in MirrorMaker 2
	// A group whose consumers already run on the target keeps its own offsets.
	source.commit("live", "clicks", 0, 20)
	liveConsumer := target.client(kgo.ConsumerGroup("live"), kgo.ConsumeTopics("clicks"), kgo.DisableAutoCommit())
	checkFor(t, 10*time.Second, func() error {
		liveConsumer.PollRecords(testContext(t, 200*time.Millisecond), 1)
		d, err := target.adm.DescribeGroups(testContext(t, 5*time.Second), "live")
		if err != nil || len(d["live"].Members) == 0 {
			return fmt.Errorf("group live has no member on the target yet (%v)", err)
		}
		return nil
	})

	args := []string{"--topics", "clicks", "--sync-group-offsets", "--sync-group-offsets-interval", "200ms"}
	m := startMirror(t, source, target, args...)
	waitForRecords(t, target, "clicks", 25)
	checkFor(t, 20*time.Second, func() error {
		if at, ok := target.committed("reports", "clicks", 0); !ok || at != 17 {
			return fmt.Errorf("group reports is at %d (committed %v) on the target, want 17 (source 12 + 5)", at, ok)
		}
		return nil
	})
	m.stop(t)
	if _, ok := target.committed("console-consumer-42", "clicks", 0); ok {
		t.Error("group console-consumer-42 was synced to the target; it is excluded by default")
	}
	if at, ok := target.committed("live", "clicks", 0); ok {
		t.Errorf("group live, active on the target, was committed at %d there", at)
	}
	if !strings.Contains(m.stdout.String(), "GROUP-OFFSETS-SYNCED") {
		t.Errorf("no summary on stdout:\n%s", m.stdout.String())
	}

	// Started again with nothing new to copy, the mirror translates from
	// the offset syncs it wrote to the target, not from records it sees.
	source.commit("reports", "clicks", 0, 20)
	m = startMirror(t, source, target, args...)
	checkFor(t, 20*time.Second, func() error {
		if at, ok := target.committed("reports", "clicks", 0); !ok || at != 25 {
			return fmt.Errorf("group reports is at %d (committed %v) on the target, want 25", at, ok)
		}
		return nil
	})
	// Only forward: a source group that rewinds does not drag the target
	// group back.
	source.commit("reports", "clicks", 0, 2)
	m.stop(t) // a clean stop syncs group offsets once more

	if at, _ := target.committed("reports", "clicks", 0); at != 25 {
		t.Errorf("group reports moved to %d on the target after the source rewound, want it left at 25", at)
	}
	if got := target.records("clicks"); got != 25 {
		t.Errorf("target clicks has %d records after the restart, want 25: nothing sent twice", got)
	}
}

func TestMirrorCommandLine(t *testing.T) {
	source, target := startCluster(t), startCluster(t)
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		message string
	}{
		{"no topics", []string{"--source", source.addr(), "--target", target.addr()}, 2, "--topics"},
		{"no target", []string{"--source", source.addr(), "--topics", "x"}, 2, "--target"},
		{"bad regex", []string{"--source", source.addr(), "--target", target.addr(), "--topics", "("}, 2, "--topics"},
		{"groups without sync", []string{"--source", source.addr(), "--target", target.addr(), "--topics", "x", "--groups", "a"}, 2, "--sync-group-offsets"},
		{"unknown compression", []string{"--source", source.addr(), "--target", target.addr(), "--topics", "x", "--compression-type", "brotli"}, 2, "brotli"},
		{"unreachable source", []string{"--source", "127.0.0.1:1", "--target", target.addr(), "--topics", "x", "--timeout", "1s"}, 1, "cannot reach the source cluster at 127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := cli.NewEnv()
			var out, errOut bytes.Buffer
			env.Stdout, env.Stderr = &out, &errOut
			root := cli.NewRoot(env, "samsa", "")
			root.AddCommand(mirror.NewCommand(env))
			code := cli.Execute(testContext(t, 20*time.Second), root, append([]string{"mirror"}, tc.args...), strings.NewReader(""), &out, &errOut)
			if code != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tc.code, errOut.String())
			}
			first, _, _ := strings.Cut(errOut.String(), "\n")
			if !strings.HasPrefix(first, "samsa mirror: ") || !strings.Contains(first, tc.message) {
				t.Errorf("first line of stderr is %q, want a samsa mirror error naming %q", first, tc.message)
			}
		})
	}
}
