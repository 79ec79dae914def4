package embedded_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/broker/embedded/queuecheck"
)

// waitLong bounds every wait of these tests: far more than any should
// take, so that only a broken cluster reaches it.
const waitLong = 30 * time.Second

// logBuffer holds a cluster's logs, written to a file when its test
// fails, so a flake can be read after the fact.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// startCluster starts a cluster and closes it when the test ends; when
// the test failed, the cluster's logs go to a file named in the output.
func startCluster(t *testing.T, cfg embedded.Config) *embedded.Cluster {
	t.Helper()
	logs := &logBuffer{}
	cfg.Logger = zerolog.New(logs).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		f, err := os.CreateTemp("", "samsa-embedded-"+strings.ReplaceAll(t.Name(), "/", "_")+"-*.log")
		if err != nil {
			t.Logf("keep the cluster's logs: %v", err)
			return
		}
		defer f.Close()
		logs.mu.Lock()
		defer logs.mu.Unlock()
		f.Write(logs.buf.Bytes())
		t.Logf("the cluster's logs are in %s", f.Name())
	})
	c, err := embedded.Start(testContext(t), cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

// testContext ends after waitLong, or with the test.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}

// checkFor calls fn every 10 ms until it returns nil, failing the test
// with fn's last error after waitLong.
func checkFor(t *testing.T, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, waitLong, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newClient is a kgo client seeded with the cluster's running brokers,
// tuned to notice leader changes within a fraction of a second.
func newClient(t *testing.T, c *embedded.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(clientOpts(c, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func clientOpts(c *embedded.Cluster, opts ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(c.Seeds()...),
		kgo.MetadataMinAge(50 * time.Millisecond),
		kgo.MetadataMaxAge(time.Second),
		kgo.RetryTimeout(waitLong),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.RequestTimeoutOverhead(5 * time.Second),
	}, opts...)
}

// createTopic creates a topic and waits until its replicas are in sync.
func createTopic(t *testing.T, c *embedded.Cluster, topic string, partitions int32, rf int16, configs map[string]string) {
	t.Helper()
	cfgs := map[string]*string{}
	for k, v := range configs {
		cfgs[k] = kadm.StringPtr(v)
	}
	resp, err := kadm.NewClient(newClient(t, c)).CreateTopic(testContext(t), partitions, rf, cfgs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v (%s)", topic, err, resp.ErrMessage)
	}
	if err := c.WaitInSync(testContext(t), topic); err != nil {
		t.Fatal(err)
	}
}

// values are n record values prefix-0, prefix-1, ….
func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + strconv.Itoa(i)
	}
	return out
}

// produce writes values to one partition with cl, in order, failing the
// test unless every one is acknowledged.
func produce(t *testing.T, cl *kgo.Client, topic string, partition int32, vals []string) {
	t.Helper()
	recs := make([]*kgo.Record, len(vals))
	for i, v := range vals {
		recs[i] = &kgo.Record{Topic: topic, Partition: partition, Value: []byte(v)}
	}
	if err := cl.ProduceSync(testContext(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records to %s-%d: %v", len(vals), topic, partition, err)
	}
}

// producer is an idempotent acks=all client writing to the partitions
// named in each record.
func producer(t *testing.T, c *embedded.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, c, append([]kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	}, opts...)...)
}

// readAll reads every partition of topic from its start up to the end
// offset it has now, with a fresh client, and returns the records of
// each partition in offset order.
func readAll(t *testing.T, c *embedded.Cluster, topic string) map[int32][]*kgo.Record {
	t.Helper()
	got, err := queuecheck.ReadAll(testContext(t), queuecheck.ReadConfig{
		NewClient: func(opts ...kgo.Opt) *kgo.Client { return newClient(t, c, opts...) },
		OnFetchError: func(topic string, p int32, err error) error {
			t.Logf("fetch %s-%d: %v", topic, p, err)
			return nil
		},
	}, topic)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// valuesOf are the records' values, in order.
func valuesOf(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

// leaderMoves waits until a broker other than old leads the partition
// and serves it, and returns it.
func leaderMoves(t *testing.T, c *embedded.Cluster, topic string, partition, old int32) int32 {
	t.Helper()
	var leader int32
	checkFor(t, fmt.Sprintf("leadership of %s-%d moves away from broker %d", topic, partition, old), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		l, err := c.WaitForLeader(ctx, topic, partition)
		if err != nil {
			return err
		}
		if l == old {
			return fmt.Errorf("broker %d still leads", old)
		}
		leader = l
		return nil
	})
	return leader
}
