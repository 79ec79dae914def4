package embedded_test

// Fault tests on an in-process cluster of three brokers: the in-process
// versions of compat-tests' ZooKeeper fault tests (which stay the
// end-to-end check), run by go test ./broker/... in seconds. Each names
// the fault and the bar. Those with a workload run queuecheck's
// Jepsen-style writers and reader and require zero lost, duplicated,
// reordered or inconsistent records.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/broker/embedded/queuecheck"
	"github.com/samsa-io/samsa/wire"
)

// faultCluster is three brokers where acks=all means two copies at least.
func faultCluster(t *testing.T, overrides map[string]string) *embedded.Cluster {
	t.Helper()
	o := map[string]string{"min.insync.replicas": "2", "offsets.topic.num.partitions": "3"}
	maps.Copy(o, overrides)
	return startCluster(t, embedded.Config{Brokers: 3, Overrides: o})
}

// workload is queuecheck's writers and reader on a cluster's topic.
type workload struct {
	*queuecheck.Workload
	t     *testing.T
	c     *embedded.Cluster
	topic string
}

func startWorkload(t *testing.T, c *embedded.Cluster, topic string, partitions int32) *workload {
	t.Helper()
	w, err := queuecheck.StartWorkload(queuecheck.WorkloadConfig{
		Topic:      topic,
		Partitions: partitions,
		Writers:    3,
		NewClient:  func(opts ...kgo.Opt) (*kgo.Client, error) { return kgo.NewClient(clientOpts(c, opts...)...) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Stop(nil) })
	return &workload{Workload: w, t: t, c: c, topic: topic}
}

// waitAcks waits until n more records were acknowledged than now.
func (w *workload) waitAcks(n int64) {
	w.t.Helper()
	hist := w.History()
	target := hist.Acks() + n
	checkFor(w.t, "the writers make progress", func() error {
		if got := hist.Acks(); got < target {
			return fmt.Errorf("%d acknowledged records, waiting for %d", got, target)
		}
		return nil
	})
}

// verify stops the workload, waits for every replica to be in sync,
// reads everything and fails the test on any anomaly.
func (w *workload) verify() {
	w.t.Helper()
	w.Stop(w.t.Logf)
	if err := w.c.WaitInSync(testContext(w.t), w.topic); err != nil {
		w.t.Fatal(err)
	}
	final := readAll(w.t, w.c, w.topic)
	hist := w.History()
	total := 0
	for _, recs := range final {
		total += len(recs)
	}
	w.t.Logf("%d acknowledged, %d read during the run, %d in the log at the end", hist.Acks(), hist.Reads(), total)
	if a := hist.Check(final); !a.Empty() {
		w.t.Fatalf("anomalies:\n%s", a)
	}
}

func TestKillingTheLeaderLosesNoAckedRecord(t *testing.T) {
	c := faultCluster(t, nil)
	createTopic(t, c, "jepsen", 4, 3, nil)
	w := startWorkload(t, c, "jepsen", 4)
	w.waitAcks(500)
	victim := c.LeaderOf("jepsen", 0)
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed broker %d, leader of jepsen-0", victim)
	leaderMoves(t, c, "jepsen", 0, victim)
	w.waitAcks(500)
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	w.waitAcks(500)
	w.verify()
}

func TestKillingTheControllerLosesNoAckedRecord(t *testing.T) {
	c := faultCluster(t, nil)
	createTopic(t, c, "jepsen", 4, 3, nil)
	w := startWorkload(t, c, "jepsen", 4)
	w.waitAcks(500)
	victim := c.ControllerID()
	if err := c.Kill(victim); err != nil {
		t.Fatal(err)
	}
	if id := c.ControllerID(); id == victim || id < 0 {
		t.Fatalf("the controller is %d after killing broker %d", id, victim)
	}
	w.waitAcks(500)
	if err := c.Restart(victim); err != nil {
		t.Fatal(err)
	}
	w.waitAcks(500)
	w.verify()
}

// The bar of a controlled shutdown: leaderships move before the broker
// goes, so writers never see a write fail, and nothing is lost, through
// a rolling restart of every broker.
func TestARollingRestartWithControlledShutdownsFailsNoWriteAndLosesNoAckedRecord(t *testing.T) {
	c := faultCluster(t, nil)
	createTopic(t, c, "rolling", 4, 3, nil)
	w := startWorkload(t, c, "rolling", 4)
	w.waitAcks(300)
	for _, b := range c.Brokers() {
		if err := c.Stop(b.ID()); err != nil {
			t.Fatalf("stop broker %d: %v", b.ID(), err)
		}
		for p := range int32(4) {
			if st, _ := c.Partition("rolling", p); st.Leader == b.ID() || slices.Contains(st.ISR, b.ID()) {
				t.Fatalf("broker %d stopped and still leads or is in sync for rolling-%d: %+v", b.ID(), p, st)
			}
		}
		w.waitAcks(300)
		if err := c.Restart(b.ID()); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitInSync(testContext(t), "rolling"); err != nil {
			t.Fatal(err)
		}
		w.waitAcks(300)
	}
	if n, err := w.Failures(); n > 0 {
		t.Errorf("%d writes failed during the rolling restart, the first with %v", n, err)
	}
	w.verify()
}

// ISR shrink and expand (replica.lag.time.max.ms): a follower cut off
// from the leader leaves the ISR once it has not caught up for the lag
// time, acks=all writes go on without it, and once healed it catches up
// and rejoins with every record.
func TestAFollowerIsolatedPastTheLagTimeLeavesTheISRAndRejoinsWhenHealed(t *testing.T) {
	// A follower caught up fetches every replica.fetch.wait.max.ms when
	// there is nothing to copy, which must be well under the lag time.
	c := faultCluster(t, map[string]string{"replica.lag.time.max.ms": "300", "replica.fetch.wait.max.ms": "50"})
	createTopic(t, c, "lagging", 1, 3, nil)
	leader := c.LeaderOf("lagging", 0)
	follower := leader%3 + 1
	before := values("before", 20)
	produce(t, producer(t, c), "lagging", 0, before)

	if err := c.Isolate(follower); err != nil {
		t.Fatal(err)
	}
	checkFor(t, fmt.Sprintf("broker %d leaves the ISR", follower), func() error {
		if p, _ := c.Partition("lagging", 0); slices.Contains(p.ISR, follower) {
			return fmt.Errorf("ISR %v", p.ISR)
		}
		return nil
	})
	// Clients still reach an isolated broker.
	alone, err := kgo.NewClient(kgo.SeedBrokers(c.Broker(follower).Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer alone.Close()
	if m, err := kadm.NewClient(alone).BrokerMetadata(testContext(t)); err != nil || len(m.Brokers) != 3 {
		t.Fatalf("metadata from the isolated broker: %+v, %v", m, err)
	}
	during := values("during", 20)
	produce(t, producer(t, c), "lagging", 0, during)

	if err := c.Heal(follower); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitInSync(testContext(t), "lagging"); err != nil {
		t.Fatal(err)
	}
	// In sync means it has every record: alone, it has to serve them.
	for _, b := range c.Brokers() {
		if b.ID() != follower {
			if err := c.Kill(b.ID()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if l, err := c.WaitForLeader(testContext(t), "lagging", 0); err != nil || l != follower {
		t.Fatalf("leader %d (%v), want the healed follower %d", l, err, follower)
	}
	if got, want := valuesOf(readAll(t, c, "lagging")[0]), append(before, during...); !slices.Equal(got, want) {
		t.Fatalf("the healed follower holds %v, want %v", got, want)
	}
}

// KIP-101: a leader cut off from its followers takes acks=1 writes they
// never copy, then dies; a follower leads and takes other writes at the
// same offsets. Back, the old leader must truncate its divergent records
// and copy the new leader's, so that its log, once it leads again, is
// the new leader's, offset for offset.
func TestAnOldLeaderTruncatesTheRecordsOnlyItHadAfterALeaderChange(t *testing.T) {
	c := startCluster(t, embedded.Config{Brokers: 3})
	createTopic(t, c, "diverge", 1, 3, nil)
	committed := values("committed", 10)
	produce(t, producer(t, c), "diverge", 0, committed)

	old := c.LeaderOf("diverge", 0)
	if err := c.Isolate(old); err != nil {
		t.Fatal(err)
	}
	acksOne := newClient(t, c, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	divergent := values("divergent", 5)
	produce(t, acksOne, "diverge", 0, divergent)
	if err := c.Kill(old); err != nil {
		t.Fatal(err)
	}
	leader := leaderMoves(t, c, "diverge", 0, old)
	t.Logf("broker %d took acks=1 writes alone and was killed; broker %d leads", old, leader)
	after := values("after", 10)
	produce(t, producer(t, c), "diverge", 0, after)

	if err := c.Heal(old); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(old); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitInSync(testContext(t), "diverge"); err != nil {
		t.Fatal(err)
	}
	// The old leader is the preferred replica: lead again, it serves its
	// own log.
	adm := kadm.NewClient(newClient(t, c))
	res, err := adm.ElectLeaders(testContext(t), kadm.ElectPreferredReplica, kadm.TopicsSet{"diverge": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if r := res["diverge"][0]; r.Err != nil {
		t.Fatalf("preferred election: %v", r.Err)
	}
	if l, err := c.WaitForLeader(testContext(t), "diverge", 0); err != nil || l != old {
		t.Fatalf("leader %d (%v) after the preferred election, want %d", l, err, old)
	}
	recs := readAll(t, c, "diverge")[0]
	if got, want := valuesOf(recs), append(committed, after...); !slices.Equal(got, want) {
		t.Fatalf("the old leader's log holds %v, want the new leader's %v", got, want)
	}
	for i, r := range recs {
		if r.Offset != int64(i) {
			t.Fatalf("record %d at offset %d: the log has a gap", i, r.Offset)
		}
	}
}

// Group coordination lives with the leadership of the group's
// __consumer_offsets partition: when its broker dies, another broker
// coordinates the group, with the committed offsets, and a member
// resumes from them.
func TestTheGroupCoordinatorMovesWhenItsBrokerDiesAndCommittedOffsetsSurvive(t *testing.T) {
	c := faultCluster(t, nil)
	const topic, group = "work", "workers"
	createTopic(t, c, topic, 2, 3, nil)
	p := producer(t, c)
	for part := range int32(2) {
		produce(t, p, topic, part, values(fmt.Sprintf("p%d", part), 50))
	}

	member := newClient(t, c, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	for read := 0; read < 100; {
		fs := member.PollFetches(testContext(t))
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume: %v", err)
		}
		read += fs.NumRecords()
	}
	if err := member.CommitUncommittedOffsets(testContext(t)); err != nil {
		t.Fatal(err)
	}
	member.Close()

	adm := kadm.NewClient(newClient(t, c))
	committed := func() error {
		offsets, err := adm.FetchOffsets(testContext(t), group)
		if err == nil {
			err = offsets.Error()
		}
		for part := range int32(2) {
			if o, _ := offsets.Lookup(topic, part); err == nil && o.At != 50 {
				err = fmt.Errorf("%s-%d: committed offset %d, want 50", topic, part, o.At)
			}
		}
		return err
	}
	if err := committed(); err != nil {
		t.Fatal(err)
	}
	coordinator := func() (int32, error) {
		resp := adm.FindGroupCoordinators(testContext(t), group)
		return resp[group].NodeID, resp[group].Err
	}
	old, err := coordinator()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(old); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed broker %d, the coordinator of %s", old, group)
	checkFor(t, "another broker coordinates the group", func() error {
		id, err := coordinator()
		if err == nil && id == old {
			err = fmt.Errorf("broker %d still coordinates it", id)
		}
		return err
	})
	checkFor(t, "the new coordinator serves the committed offsets", committed)

	// A member of the group resumes where the group left off: it reads
	// what came after, and nothing it had read before.
	for part := range int32(2) {
		produce(t, p, topic, part, values(fmt.Sprintf("later-p%d", part), 10))
	}
	resumed := newClient(t, c, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit())
	for read := 0; read < 20; {
		fs := resumed.PollFetches(testContext(t))
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume: %v", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			read++
			if !strings.HasPrefix(string(r.Value), "later-") || r.Offset < 50 {
				t.Errorf("the resumed group read %s at %s-%d offset %d, before its committed offset 50", r.Value, r.Topic, r.Partition, r.Offset)
			}
		})
	}
}

// A broker paused past its session (zookeeper.session.timeout.ms) is
// dead to the cluster: its leaderships move and it leaves the ISRs.
// Resumed, it registers again, catches up as a follower and rejoins.
func TestABrokerPausedPastItsSessionLosesLeadershipAndRejoinsAfterResume(t *testing.T) {
	c := faultCluster(t, map[string]string{"zookeeper.session.timeout.ms": "300"})
	createTopic(t, c, "paused", 1, 3, nil)
	before := values("before", 20)
	produce(t, producer(t, c), "paused", 0, before)
	victim := c.LeaderOf("paused", 0)

	if err := c.Pause(victim); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(c.Seeds(), c.Broker(victim).Addr()) {
		t.Fatalf("seeds %v name the paused broker %d", c.Seeds(), victim)
	}
	// It answers nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if conn, err := wire.Dial(ctx, c.Broker(victim).Addr(), "test"); err == nil {
		_, err = conn.Request(ctx, kmsg.NewPtrApiVersionsRequest())
		conn.Close()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the paused broker answered: %v", err)
		}
	}
	leader := leaderMoves(t, c, "paused", 0, victim)
	if p, _ := c.Partition("paused", 0); slices.Contains(p.ISR, victim) {
		t.Fatalf("broker %d, paused past its session, is still in the ISR %v", victim, p.ISR)
	}
	t.Logf("broker %d paused; broker %d leads", victim, leader)
	during := values("during", 20)
	produce(t, producer(t, c), "paused", 0, during)

	if err := c.Resume(victim); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitInSync(testContext(t), "paused"); err != nil {
		t.Fatal(err)
	}
	if got, want := valuesOf(readAll(t, c, "paused")[0]), append(before, during...); !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	if err := c.Resume(victim); !errors.Is(err, embedded.ErrNotPaused) {
		t.Fatalf("a second Resume: %v, want ErrNotPaused", err)
	}
}

// Restart from data: every broker killed (no clean shutdown), then
// started again, on its old port, with every acknowledged record.
func TestEveryBrokerKilledAndRestartedFromItsDataKeepsEveryAckedRecord(t *testing.T) {
	c := faultCluster(t, nil)
	createTopic(t, c, "durable", 3, 3, nil)
	p := producer(t, c)
	want := map[int32][]string{}
	for part := range int32(3) {
		want[part] = values(fmt.Sprintf("p%d", part), 30)
		produce(t, p, "durable", part, want[part])
	}
	p.Close()
	seeds := c.Seeds()
	for _, b := range c.Brokers() {
		if err := c.Kill(b.ID()); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range c.Brokers() {
		if err := c.Restart(b.ID()); err != nil {
			t.Fatal(err)
		}
	}
	if got := c.Seeds(); !slices.Equal(got, seeds) {
		t.Fatalf("restarted on %v, were on %v", got, seeds)
	}
	if err := c.WaitInSync(testContext(t), "durable"); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, c, "durable")
	for part := range int32(3) {
		if !slices.Equal(valuesOf(got[part]), want[part]) {
			t.Fatalf("durable-%d after every broker was killed and restarted: %v, want %v", part, valuesOf(got[part]), want[part])
		}
	}
	produce(t, producer(t, c), "durable", 0, []string{"and more"})
}

// A cluster refuses what its live brokers cannot hold, as a ZooKeeper
// cluster does: with a broker down, __consumer_offsets (replication
// factor 3) is not created under-replicated; FindCoordinator answers the
// retriable COORDINATOR_NOT_AVAILABLE until the broker is back.
func TestAClusterDoesNotCreateTheOffsetsTopicUnderReplicated(t *testing.T) {
	c := faultCluster(t, nil)
	if err := c.Kill(3); err != nil {
		t.Fatal(err)
	}
	findCoordinator := func() error {
		ctx := testContext(t)
		conn, err := wire.Dial(ctx, c.Seeds()[0], "test")
		if err != nil {
			return err
		}
		defer conn.Close()
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version = 3
		req.CoordinatorKey = "early"
		resp, err := conn.Request(ctx, req)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.(*kmsg.FindCoordinatorResponse).ErrorCode)
	}
	if err := findCoordinator(); !errors.Is(err, kerr.CoordinatorNotAvailable) {
		t.Fatalf("FindCoordinator with 2 of 3 brokers: %v, want COORDINATOR_NOT_AVAILABLE", err)
	}
	if _, ok := c.Partition("__consumer_offsets", 0); ok {
		t.Fatal("__consumer_offsets was created with a broker down")
	}
	if err := c.Restart(3); err != nil {
		t.Fatal(err)
	}
	checkFor(t, "FindCoordinator with every broker back", findCoordinator)
	if p, _ := c.Partition("__consumer_offsets", 0); len(p.Replicas) != 3 {
		t.Fatalf("__consumer_offsets-0 has replicas %v, want 3", p.Replicas)
	}
}
