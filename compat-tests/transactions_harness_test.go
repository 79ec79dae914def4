package compattests

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Helpers of the transaction tests: reading a topic as a read_committed
// or read_uncommitted consumer sees it, and an exactly-once copy
// pipeline built on kgo's GroupTransactSession.

// sentinelValue marks the end of what a test wrote to a partition.
const sentinelValue = "samsa-test-sentinel"

// writeSentinels appends one plain (non-transactional) record to every
// partition of topic. A reader that reaches a partition's sentinel has
// seen everything written before it that its isolation level shows.
func writeSentinels(t *testing.T, cl *kgo.Client, topic string, partitions int32) {
	t.Helper()
	var recs []*kgo.Record
	for p := int32(0); p < partitions; p++ {
		recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(sentinelValue)})
	}
	results := cl.ProduceSync(testContext(t, 30*time.Second), recs...)
	if err := results.FirstErr(); err != nil {
		t.Fatalf("write sentinels to %s: %v", topic, err)
	}
}

// readToSentinels reads every partition of topic from the start with the
// given isolation level until its sentinel and returns the records before
// it, per partition.
func readToSentinels(t *testing.T, newClient func(...kgo.Opt) *kgo.Client, topic string, partitions int32, isolation kgo.IsolationLevel) map[int32][]*kgo.Record {
	t.Helper()
	offsets := map[int32]kgo.Offset{}
	for p := int32(0); p < partitions; p++ {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	cl := newClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}), kgo.FetchIsolationLevel(isolation))
	defer cl.Close()
	ctx := testContext(t, 60*time.Second)
	got := map[int32][]*kgo.Record{}
	done := map[int32]bool{}
	for len(done) < int(partitions) {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: only partitions %v reached their sentinels", topic, done)
		}
		fetches.EachError(func(_ string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			switch {
			case done[r.Partition]:
			case string(r.Value) == sentinelValue:
				done[r.Partition] = true
			default:
				got[r.Partition] = append(got[r.Partition], r)
			}
		})
	}
	return got
}

// values lists the records' values in order.
func values(recs []*kgo.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

// copier is one member of an exactly-once pipeline copying the records
// of topic in to topic out, each transaction committing the copies
// together with the input offsets (kgo's GroupTransactSession).
type copier struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// copierOpts are the kgo options of a copy-pipeline member. A member
// that lives through broker failures keeps Kafka's default transaction
// timeout (a transaction outliving it is aborted with a fencing epoch,
// which ends a GroupTransactSession); one the test kills has a short
// one, so its open transaction is aborted soon.
func copierOpts(seeds []string, txnID, group, in string, timeout time.Duration) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(timeout),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.SessionTimeout(6 * time.Second),
		kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.RetryTimeout(30 * time.Second),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
	}
}

// runCopy copies until ctx ends: every polled batch of input records is
// written to out (same partition, key and value) and committed with the
// group's offsets in one transaction. It returns the first error a
// commit could not recover from.
func runCopy(ctx context.Context, sess *kgo.GroupTransactSession, out string, logf func(string, ...any)) error {
	for ctx.Err() == nil {
		fetches := sess.PollRecords(ctx, 500)
		if ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) { logf("copier fetch %s/%d: %v", topic, p, err) })
		if fetches.NumRecords() == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		var wg sync.WaitGroup
		var produceErr error
		var mu sync.Mutex
		fetches.EachRecord(func(r *kgo.Record) {
			wg.Add(1)
			sess.Produce(ctx, &kgo.Record{Topic: out, Partition: r.Partition, Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					mu.Lock()
					produceErr = err
					mu.Unlock()
				}
			})
		})
		wg.Wait()
		committed, err := sess.End(ctx, kgo.TransactionEndTry(produceErr == nil))
		if fenced(produceErr) || fenced(err) {
			// Fatal for the producer: an application starts a new one,
			// whose InitProducerId aborts whatever this one left open.
			return fmt.Errorf("%w (produce: %v, end: %v)", errFenced, produceErr, err)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return nil
		case err != nil:
			logf("copier end transaction (committed %v, produce error %v): %v", committed, produceErr, err)
		case !committed:
			logf("copier transaction aborted (produce error %v)", produceErr)
		}
	}
	return nil
}

// errFenced: the member's producer was fenced.
var errFenced = errors.New("producer fenced")

// fenced reports whether err fences the producer for good. Besides a
// zombie's, Kafka's coordinator answers PRODUCER_FENCED to a producer
// retrying an epoch bump whose answer a coordinator failover lost (the
// epoch it bumped from is kept in memory only, in Kafka as in Samsa).
func fenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}

// startCopier starts a pipeline member in this process. Like an
// application, it starts a new session when its producer is fenced.
func startCopier(t *testing.T, seeds []string, txnID, group, in, out string) *copier {
	t.Helper()
	opts := append(copierOpts(seeds, txnID, group, in, time.Minute), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(out))
	ctx, cancel := context.WithCancel(context.Background())
	c := &copier{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for ctx.Err() == nil {
			sess, err := kgo.NewGroupTransactSession(opts...)
			if err != nil {
				c.err = err
				return
			}
			err = runCopy(ctx, sess, out, t.Logf)
			sess.Close()
			if !errors.Is(err, errFenced) {
				c.err = err
				return
			}
			t.Logf("copier %s: %v; starting a new session", txnID, err)
		}
	}()
	t.Cleanup(c.stop)
	return c
}

// stop ends the member cleanly: it leaves the group.
func (c *copier) stop() {
	c.cancel()
	<-c.done
}

// copierProcessEnv, when set in the environment of this test binary,
// makes it a pipeline member instead of a test run (TestMain), so a test
// can kill -9 a member: "seeds|txnID|group|in|out".
const copierProcessEnv = "SAMSA_TEST_COPIER"

// runCopierProcess is the body of a member process: it copies until
// killed or its stdin closes.
func runCopierProcess(spec string) int {
	f := strings.Split(spec, "|")
	if len(f) != 5 {
		fmt.Fprintln(os.Stderr, "copier: bad spec", spec)
		return 2
	}
	opts := append(copierOpts(strings.Split(f[0], ","), f[1], f[2], f[3], 10*time.Second), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic(f[4]))
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "copier:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		buf := make([]byte, 1)
		os.Stdin.Read(buf) // EOF when the test ends
		cancel()
	}()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if err := runCopy(ctx, sess, f[4], logf); err != nil {
		logf("copier: %v", err)
		return 1
	}
	sess.Close()
	return 0
}

// waitGroupCaughtUp waits until the group's committed offsets reach the
// end of every partition of topic (its last stable offsets).
func waitGroupCaughtUp(t *testing.T, adm *kadm.Client, group, topic string, timeout time.Duration) {
	t.Helper()
	checkFor(t, timeout, 200*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ends, err := adm.ListCommittedOffsets(ctx, topic)
		if err != nil {
			return err
		}
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		var behind []string
		ends.Each(func(o kadm.ListedOffset) {
			c, ok := committed.Lookup(topic, o.Partition)
			if !ok || c.At < o.Offset {
				behind = append(behind, fmt.Sprintf("%d: %d of %d", o.Partition, c.At, o.Offset))
			}
		})
		if len(behind) > 0 {
			return fmt.Errorf("group %s behind on %s: %v", group, topic, behind)
		}
		return nil
	})
}
