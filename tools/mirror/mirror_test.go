package mirror_test

import (
	"bytes"
	"context"
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
