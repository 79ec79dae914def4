package compattests

// Consumer groups end to end (Kafka's classic protocol, served by
// groupcoord): franz-go group members join, leave cleanly, are killed and
// restart against the real broker, and what a user observes is checked —
// which records each member processed and in which generation, which
// partitions each member's own callbacks say it holds, what kadm's
// DescribeGroups shows, and what is committed. The other stock clients'
// groups are in groups_clients_test.go.
//
// The brokers here lower group.initial.rebalance.delay.ms (Kafka's 3s wait
// before an empty group's first rebalance) and group.min.session.timeout.ms,
// so that a crashed member is evicted in seconds.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestKgoGroupOfThreeConsumesEveryRecordWhileMembersJoinLeaveAndCrash(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	adm := b.admin(t)
	topic, group := uniqueTopic(t), "churn"
	const partitions = 12
	createTopic(t, adm, topic, partitions, nil)
	ledger := newGroupLedger()
	stopProducing := produceUntilStopped(t, b, topic, partitions, ledger)
	settle := 30 * time.Second

	// Three members share the twelve partitions, four each, and each
	// member's own callbacks agree with what the broker shows.
	startKgoMember(t, b, newMemberSpec(group, topic, "m1", memberSessionTimeout), ledger)
	// m2 leaves cleanly later; its session timeout is long, so only its
	// LeaveGroup can have it removed within the wait below.
	m2 := startKgoMember(t, b, newMemberSpec(group, topic, "m2-leaves", 60*time.Second), ledger)
	startKgoMember(t, b, newMemberSpec(group, topic, "m3", memberSessionTimeout), ledger)
	requireBalanced(t, adm, group, topic, partitions, 3, settle, ledger.agreesWith)

	// A fourth member joins: three partitions each. It runs in its own
	// process, to be killed.
	p4 := startMemberProcess(t, b, newMemberSpec(group, topic, "m4-killed", crashSessionTimeout()), ledger)
	requireBalanced(t, adm, group, topic, partitions, 4, settle, ledger.agreesWith)

	// A clean leave: the group rebalances at once, long before m2's
	// session could expire.
	left := time.Now()
	m2.close()
	requireBalanced(t, adm, group, topic, partitions, 3, 20*time.Second, ledger.agreesWith)
	t.Logf("rebalanced %v after the clean leave", time.Since(left).Round(time.Millisecond))

	// A crash: kill -9. As in Kafka, the member stays until its session
	// times out (a closed connection removes nobody), then the others
	// take its partitions.
	killed := time.Now()
	p4ID := ledger.memberIDOf("m4-killed")
	p4.kill()
	ledger.memberGone("m4-killed")
	if v, err := describeGroupView(testContext(t, 5*time.Second), adm, group, topic); err != nil {
		t.Fatal(err)
	} else if _, ok := v.assigned[p4ID]; !ok {
		t.Errorf("the killed member %s left the group at once (%v); Kafka keeps it until its %v session timeout", p4ID, v, crashSessionTimeout())
	}
	requireBalanced(t, adm, group, topic, partitions, 2, crashSessionTimeout()+settle, ledger.agreesWith)
	t.Logf("rebalanced %v after the kill (session timeout %v)", time.Since(killed).Round(time.Millisecond), crashSessionTimeout())

	// Another member joins: back to three.
	startKgoMember(t, b, newMemberSpec(group, topic, "m5", memberSessionTimeout), ledger)
	requireBalanced(t, adm, group, topic, partitions, 3, settle, ledger.agreesWith)

	// Every record produced throughout was processed, and the group's
	// commits reach the end of every partition.
	stopProducing()
	checkFor(t, 30*time.Second, 100*time.Millisecond, ledger.missing)
	requireCommittedAtEnd(t, adm, group, topic, 15*time.Second)
	ledger.check(t)
}

// KAFKA-NOTES pitfall 5: a member killed while its JoinGroup waits in a
// rebalance must not leave the group stuck. As in Kafka, a parked join
// counts as alive (its session does not expire while it waits), so the
// dead member makes it into the next generation (perhaps as its leader);
// then it is removed when its session expires without a heartbeat (at the
// latest when it fails to SyncGroup within the rebalance timeout), and the
// group rebalances over the living.
func TestGroupRecoversFromAMemberKilledWhileItsJoinIsParked(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	adm := b.admin(t)
	topic, group := uniqueTopic(t), "parked"
	const partitions = 4
	createTopic(t, adm, topic, partitions, nil)
	ledger := newGroupLedger()
	stopProducing := produceUntilStopped(t, b, topic, partitions, ledger)
	const rebalanceTimeout, slowRevoke = 5 * time.Second, 3 * time.Second
	// Eager (range) members revoke everything before they rejoin, so a
	// slow OnPartitionsRevoked holds the whole rebalance open.
	spec := func(name string, session time.Duration) groupMemberSpec {
		s := newMemberSpec(group, topic, name, session)
		s.Balancer, s.RebalanceMs = "range", int(rebalanceTimeout/time.Millisecond)
		return s
	}
	var slow sync.Once
	var armed atomic.Bool
	a := spec("a-slow", memberSessionTimeout)
	a.beforeRevoke = func() {
		if armed.Load() {
			slow.Do(func() { time.Sleep(slowRevoke) })
		}
	}
	startKgoMember(t, b, a, ledger)
	h := startMemberProcess(t, b, spec("h-killed", crashSessionTimeout()), ledger)
	requireBalanced(t, adm, group, topic, partitions, 2, 30*time.Second, ledger.agreesWith)

	// A third member joins; a-slow takes its time to rejoin while h
	// rejoins at once and waits, parked, and is killed there.
	armed.Store(true)
	hCallbacks := ledger.callbackCount("h-killed")
	startKgoMember(t, b, spec("c", memberSessionTimeout), ledger)
	checkFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if ledger.callbackCount("h-killed") == hCallbacks {
			return errors.New("h-killed has not revoked (it rejoins right after) yet")
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // its JoinGroup is sent
	if v, err := describeGroupView(testContext(t, 5*time.Second), adm, group, topic); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("killing h-killed while the group is %s", v.state)
	}
	killed := time.Now()
	h.kill()
	ledger.memberGone("h-killed")

	requireBalanced(t, adm, group, topic, partitions, 2, slowRevoke+2*rebalanceTimeout+30*time.Second, ledger.agreesWith)
	t.Logf("rebalanced over the living %v after the kill (rebalance timeout %v)", time.Since(killed).Round(time.Millisecond), rebalanceTimeout)
	stopProducing()
	checkFor(t, 30*time.Second, 100*time.Millisecond, ledger.missing)
	requireCommittedAtEnd(t, adm, group, topic, 15*time.Second)
	ledger.check(t)
}

// consumeFromGroup runs a group consumer of topic (no autocommit) until it
// has read every partition to want[p] records, and fails unless the first
// record of each partition is at from[p] and the rest follow contiguously
// with the values produceNumbered wrote. It returns the client, still a
// member of the group.
func consumeFromGroup(t *testing.T, b *testBroker, group, topic string, from map[int32]int64, want int64) *kgo.Client {
	t.Helper()
	cl := b.client(t,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(crashSessionTimeout()),
		kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	ctx := testContext(t, 30*time.Second)
	next := maps.Clone(from) // partition → offset expected next
	for p, o := range next {
		if o >= want {
			delete(next, p)
		}
	}
	for len(next) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("group %s: still waiting for (partition: offset) %v: %v", group, next, ctx.Err())
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			o, ok := next[r.Partition]
			if !ok {
				if r.Offset < from[r.Partition] {
					t.Fatalf("group %s read partition %d offset %d, before the committed offset %d", group, r.Partition, r.Offset, from[r.Partition])
				}
				return
			}
			if r.Offset != o {
				t.Fatalf("group %s read partition %d offset %d, want offset %d next (resuming at the committed %d)", group, r.Partition, r.Offset, o, from[r.Partition])
			}
			if v := fmt.Sprintf("p%d-o%d", r.Partition, r.Offset); string(r.Value) != v {
				t.Fatalf("group %s read %q at partition %d offset %d, want %q", group, r.Value, r.Partition, r.Offset, v)
			}
			if next[r.Partition]++; next[r.Partition] == want {
				delete(next, r.Partition)
			}
		})
	}
	return cl
}

// commitSync commits offsets as the group member cl, failing the test
// unless the broker acknowledges every partition.
func commitSync(t *testing.T, cl *kgo.Client, topic string, offsets map[int32]int64) {
	t.Helper()
	eo := map[int32]kgo.EpochOffset{}
	for p, o := range offsets {
		eo[p] = kgo.EpochOffset{Epoch: -1, Offset: o}
	}
	var commitErr error
	cl.CommitOffsetsSync(testContext(t, 15*time.Second), map[string]map[int32]kgo.EpochOffset{topic: eo},
		func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				commitErr = err
				return
			}
			for _, rt := range resp.Topics {
				for _, rp := range rt.Partitions {
					if err := kerr.ErrorForCode(rp.ErrorCode); err != nil && commitErr == nil {
						commitErr = fmt.Errorf("partition %d: %w", rp.Partition, err)
					}
				}
			}
		})
	if commitErr != nil {
		t.Fatalf("commit %v: %v", offsets, commitErr)
	}
}

// requireCommitted fails unless FetchOffsets shows exactly want for topic.
func requireCommitted(t *testing.T, adm *kadm.Client, group, topic string, want map[int32]int64) {
	t.Helper()
	committed, err := adm.FetchOffsets(testContext(t, 15*time.Second), group)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	got := map[int32]int64{}
	committed.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			got[o.Partition] = o.At
		}
	})
	if !maps.Equal(got, want) {
		t.Fatalf("group %s has committed %v, want %v", group, got, want)
	}
}

// produceNumbered writes n records to each partition, value "pP-oO",
// uncompressed (kafkajs cannot read snappy, kgo's default).
func produceNumbered(t *testing.T, b *testBroker, topic string, partitions int32, n int) {
	t.Helper()
	var recs []*kgo.Record
	for o := 0; o < n; o++ {
		for p := int32(0); p < partitions; p++ {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: fmt.Appendf(nil, "p%d-o%d", p, o)})
		}
	}
	produceSync(t, b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(kgo.NoCompression())), recs...)
}

func TestCommittedOffsetsSurviveRestartAndConsumersResumeAtThem(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	topic, group := uniqueTopic(t), "resume"
	const partitions, perPartition = 4, 30
	createTopic(t, b.admin(t), topic, partitions, nil)
	produceNumbered(t, b, topic, partitions, perPartition)
	atStart := map[int32]int64{0: 0, 1: 0, 2: 0, 3: 0}

	// A group consumer reads everything and commits offsets of its
	// choosing, short of the end.
	first := map[int32]int64{0: 5, 1: 8, 2: 11, 3: 0}
	cl := consumeFromGroup(t, b, group, topic, atStart, perPartition)
	commitSync(t, cl, topic, first)
	requireCommitted(t, b.admin(t), group, topic, first)
	cl.Close() // leaves the group

	// A clean restart: the commits are still there and a new consumer of
	// the group starts exactly at them.
	b.Stop()
	b.Restart()
	requireCommitted(t, b.admin(t), group, topic, first)
	cl = consumeFromGroup(t, b, group, topic, first, perPartition)

	if useKfake {
		t.Log("kfake: kill -9 needs the real binary; not checked")
		return
	}
	// kill -9 while that consumer is still a member of the group: what
	// the broker acknowledged survives, the member restored from the log
	// is evicted when its session times out, and a new consumer resumes
	// at the commits.
	second := map[int32]int64{0: 29, 1: 17, 2: 30, 3: 1}
	commitSync(t, cl, topic, second)
	b.Kill()
	func() { // the old client cannot reach the new port; drop it at once
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = cl.LeaveGroupContext(ctx)
		cl.Close()
	}()
	b.Restart()
	adm := b.admin(t)
	requireCommitted(t, adm, group, topic, second)
	consumeFromGroup(t, b, group, topic, second, perPartition)
	v, err := describeGroupView(testContext(t, 5*time.Second), adm, group, topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.balanced(partitions, 1); err != nil {
		t.Fatalf("after the restart, the new consumer should hold every partition alone: %v", err)
	}
}

// leaderBalancer is kgo's cooperative-sticky balancer, noting each time
// its member balances the group: only the leader does.
type leaderBalancer struct {
	kgo.GroupBalancer
	balanced func()
}

func (b leaderBalancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	b.balanced()
	return b.GroupBalancer.MemberBalancer(members)
}

func TestStaticMemberRestartKeepsItsPartitionsWithoutRebalance(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	adm := b.admin(t)
	topic, group := uniqueTopic(t), "static"
	const partitions = 6
	createTopic(t, adm, topic, partitions, nil)
	ledger := newGroupLedger()
	settle := 30 * time.Second

	var leaderMu sync.Mutex
	var leader string // the member that balanced last
	members := map[string]*kgoMember{}
	start := func(instance string) {
		s := newMemberSpec(group, topic, instance, memberSessionTimeout)
		s.InstanceID = instance
		members[instance] = startKgoMember(t, b, s, ledger, kgo.Balancers(leaderBalancer{kgo.CooperativeStickyBalancer(), func() {
			leaderMu.Lock()
			defer leaderMu.Unlock()
			leader = instance
		}}))
	}
	for _, in := range []string{"static-a", "static-b", "static-c"} {
		start(in)
	}
	before := requireBalanced(t, adm, group, topic, partitions, 3, settle, ledger.agreesWith)
	gen := members["static-a"].generation()
	heldBy := func(v groupView) map[string][]int32 { // instance → partitions
		out := map[string][]int32{}
		for id, ps := range v.assigned {
			out[v.instances[id]] = ps
		}
		return out
	}
	want := heldBy(before)
	if len(want) != 3 || want[""] != nil {
		t.Fatalf("DescribeGroups shows instance ids %v, want static-a, static-b and static-c", slices.Sorted(maps.Keys(want)))
	}
	leaderMu.Lock()
	lead := leader
	leaderMu.Unlock()
	var followers []string
	for in := range want {
		if in != lead {
			followers = append(followers, in)
		}
	}
	slices.Sort(followers)
	if len(followers) != 2 {
		t.Fatalf("leader %q is not one of the members %v", lead, slices.Sorted(maps.Keys(want)))
	}

	// Restart each follower in turn, well within its session timeout: it
	// gets its old partitions back in the same generation, the others are
	// not disturbed (no callback, same generation), and DescribeGroups
	// shows the same assignment. (The leader is left alone: restarted, kgo
	// balances anyway and rejoins when its plan differs from the stored
	// one, KIP-814, which a broker cannot prevent.)
	for _, in := range followers {
		if kfakeLacks(t, "static membership (KIP-345) without a rebalance") {
			break
		}
		quiet := map[string]int{}
		for other := range want {
			if other != in {
				quiet[other] = ledger.callbackCount(other)
			}
		}
		oldID := members[in].memberID()
		members[in].close() // a static member sends no LeaveGroup
		start(in)
		checkFor(t, settle, 50*time.Millisecond, func() error {
			if id := members[in].memberID(); id == oldID || id == "" {
				return fmt.Errorf("restarted %s still has member id %q", in, id)
			}
			if got := ledger.holds(in); !slices.Equal(got, want[in]) {
				return fmt.Errorf("restarted %s holds %v, want its old %v", in, got, want[in])
			}
			return nil
		})
		if g := members[in].generation(); g != gen {
			t.Errorf("restarted %s is in generation %d, want %d: its return rebalanced the group", in, g, gen)
		}
		v := requireBalanced(t, adm, group, topic, partitions, 3, settle, ledger.agreesWith)
		if got := heldBy(v); !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("after restarting %s DescribeGroups shows %v, want %v", in, got, want)
		}
		for other, n := range quiet {
			if got := ledger.callbackCount(other); got != n {
				t.Errorf("restarting %s made %s's partition callbacks run (%d times)", in, other, got-n)
			}
			if g := members[other].generation(); g != gen {
				t.Errorf("restarting %s moved %s to generation %d, from %d", in, other, g, gen)
			}
		}
	}

	// The members, restarted or not, consume what is produced now.
	produceNumbered(t, b, topic, partitions, 5)
	ledger.expectNumbered(partitions, 5)
	checkFor(t, settle, 100*time.Millisecond, ledger.missing)

	// A static member that stops is still a member (no rebalance) until an
	// administrator removes it by its instance id (KIP-345), when the
	// others take its partitions.
	removed := followers[0]
	members[removed].close()
	ledger.memberGone(removed)
	time.Sleep(time.Second) // long enough for a rebalance to have started
	if v, err := describeGroupView(testContext(t, 5*time.Second), adm, group, topic); err != nil {
		t.Fatal(err)
	} else if err := v.balanced(partitions, 3); err != nil && !kfakeLacks(t, "static membership (KIP-345) without a rebalance") {
		t.Errorf("a stopped static member must keep its place until removed or expired: %v", err)
	}
	left, err := adm.LeaveGroup(testContext(t, 10*time.Second), kadm.LeaveGroup(group).InstanceIDs(removed).Reason("test"))
	if err == nil {
		err = left.Error()
	}
	if err != nil {
		t.Fatalf("kadm LeaveGroup %s: %v", removed, err)
	}
	requireBalanced(t, adm, group, topic, partitions, 2, settle, ledger.agreesWith)

	// One that stops and is not removed is evicted when its session times
	// out, as in Kafka.
	expired := followers[1]
	stopped := time.Now()
	members[expired].close()
	ledger.memberGone(expired)
	v := requireBalanced(t, adm, group, topic, partitions, 1, memberSessionTimeout+settle, ledger.agreesWith)
	if waited := time.Since(stopped); waited < memberSessionTimeout/2 {
		t.Errorf("the stopped static member was removed after %v, well before its %v session timeout", waited, memberSessionTimeout)
	}
	if got := heldBy(v)[lead]; len(got) != partitions {
		t.Errorf("%s holds %v, want every partition", lead, got)
	}
	ledger.check(t)
}

func TestGroupAdminDescribeListAndDelete(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	adm := b.admin(t)
	topic := uniqueTopic(t)
	const partitions = 3
	createTopic(t, adm, topic, partitions, nil)
	ledger := newGroupLedger()
	const active, standalone = "admin-active", "admin-standalone"

	m1 := startKgoMember(t, b, newMemberSpec(active, topic, "admin-member-1", memberSessionTimeout), ledger)
	m2 := startKgoMember(t, b, newMemberSpec(active, topic, "admin-member-2", memberSessionTimeout), ledger)
	ctx := testContext(t, 60*time.Second)

	// DescribeGroups: state, protocol, members with their client id, host,
	// subscription and assignment.
	v := requireBalanced(t, adm, active, topic, partitions, 2, 30*time.Second, ledger.agreesWith)
	if v.protocolType != "consumer" || v.protocol != "cooperative-sticky" {
		t.Errorf("DescribeGroups: protocol type %q, protocol %q; want consumer, cooperative-sticky", v.protocolType, v.protocol)
	}
	for _, m := range []*kgoMember{m1, m2} {
		id := m.memberID()
		host := v.hosts[id]
		if useKfake && strings.HasPrefix(host, "127.0.0.1:") && kfakeLacks(t, "Kafka's client host format (/IP)") {
			host = "/127.0.0.1"
		}
		if v.clients[id] != m.name || host != "/127.0.0.1" || !slices.Equal(v.subscribed[id], []string{topic}) {
			t.Errorf("DescribeGroups member %s: client id %q, host %q, subscription %q; want %s, /127.0.0.1, [%s]",
				id, v.clients[id], v.hosts[id], v.subscribed[id], m.name, topic)
		}
	}
	described, err := adm.DescribeGroups(ctx, active)
	if err != nil {
		t.Fatal(err)
	}
	if c := described[active].Coordinator; c.NodeID != 0 || fmt.Sprintf("%s:%d", c.Host, c.Port) != b.Addr() {
		t.Errorf("DescribeGroups coordinator %+v, want node 0 at %s", c, b.Addr())
	}

	// Offsets committed by a group that never had members (kadm, as a
	// tool resetting offsets does), with metadata.
	commit := kadm.Offsets{}
	for p := int32(0); p < partitions; p++ {
		commit.Add(kadm.Offset{Topic: topic, Partition: p, At: int64(10 + p), LeaderEpoch: -1, Metadata: "meta-" + itoa(p)})
	}
	if err := adm.CommitAllOffsets(ctx, standalone, commit); err != nil {
		t.Fatalf("commit offsets of %s: %v", standalone, err)
	}
	fetched, err := adm.FetchOffsets(ctx, standalone)
	if err == nil {
		err = fetched.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < partitions; p++ {
		o, ok := fetched.Lookup(topic, p)
		if !ok || o.At != int64(10+p) || o.Metadata != "meta-"+itoa(p) {
			t.Errorf("%s partition %d: fetched %+v (present %v), want offset %d metadata meta-%d", standalone, p, o, ok, 10+p, p)
		}
	}

	// The members commit too: one record per partition, processed.
	produceNumbered(t, b, topic, partitions, 1)
	requireCommittedAtEnd(t, adm, active, topic, 20*time.Second)

	// ListGroups: both groups with their state and protocol type, and the
	// state filter (KIP-518).
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g := listed[active]; g.State != "Stable" || g.ProtocolType != "consumer" {
		t.Errorf("ListGroups: %s is %+v, want Stable, consumer", active, g)
	}
	if g, ok := listed[standalone]; !ok || g.State != "Empty" || g.ProtocolType != "" {
		t.Errorf("ListGroups: %s is %+v (listed %v), want Empty with no protocol type", standalone, g, ok)
	}
	for state, want := range map[string]string{"Stable": active, "Empty": standalone} {
		filtered, err := adm.ListGroups(ctx, state)
		if err != nil {
			t.Fatal(err)
		}
		if names := slices.Sorted(maps.Keys(filtered)); !slices.Equal(names, []string{want}) {
			t.Errorf("ListGroups(%s) lists %v, want [%s]", state, names, want)
		}
	}

	// DeleteGroups refuses a group with members and deletes an empty one
	// with its offsets; a group that does not exist is not found.
	deleted, err := adm.DeleteGroups(ctx, active, standalone, "admin-never-existed")
	if err != nil {
		t.Fatal(err)
	}
	if err := deleted[active].Err; !errors.Is(err, kerr.NonEmptyGroup) {
		t.Errorf("DeleteGroups(%s) with members: %v, want NON_EMPTY_GROUP", active, err)
	}
	if err := deleted[standalone].Err; err != nil {
		t.Errorf("DeleteGroups(%s): %v", standalone, err)
	}
	if err := deleted["admin-never-existed"].Err; !errors.Is(err, kerr.GroupIDNotFound) {
		t.Errorf("DeleteGroups of a group that never existed: %v, want GROUP_ID_NOT_FOUND", err)
	}
	requireGroupGone(t, adm, standalone)

	// OffsetDelete (KIP-496): refused for a topic the members subscribe
	// to; in an empty group, deletes the partitions named and keeps the
	// rest.
	gone, err := adm.DeleteOffsets(ctx, active, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if err, _ := gone.Lookup(topic, 0); !errors.Is(err, kerr.GroupSubscribedToTopic) {
		t.Errorf("OffsetDelete on a topic the group consumes: %v, want GROUP_SUBSCRIBED_TO_TOPIC", err)
	}
	m1.close()
	m2.close()
	checkFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		v, err := describeGroupView(ctx, adm, active, topic)
		if err != nil {
			return err
		}
		if v.state != "Empty" || len(v.assigned) != 0 || v.protocol != "" {
			return fmt.Errorf("after both members left, group is %v, want Empty without members", v)
		}
		return nil
	})
	gone, err = adm.DeleteOffsets(ctx, active, kadm.TopicsSet{topic: {1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if err, ok := gone.Lookup(topic, 1); !ok || err != nil {
		t.Errorf("OffsetDelete in the now empty group: %v (answered %v)", err, ok)
	}
	requireCommitted(t, adm, active, topic, map[int32]int64{0: 1, 2: 1})

	// Now empty, the group can be deleted, and its offsets go with it.
	if _, err := adm.DeleteGroup(ctx, active); err != nil {
		t.Fatalf("DeleteGroups(%s) once empty: %v", active, err)
	}
	requireGroupGone(t, adm, active)
}

// requireGroupGone fails unless the group has no offsets left, is no longer
// listed and is described as Dead (or GROUP_ID_NOT_FOUND, from
// DescribeGroups v6).
func requireGroupGone(t *testing.T, adm *kadm.Client, group string) {
	t.Helper()
	ctx := testContext(t, 15*time.Second)
	fetched, err := adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) && kfakeLacks(t, "Kafka's OffsetFetch of an unknown group (no error, no offsets)") {
		err = nil
	}
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fetched.Offsets()); n != 0 || fetched.Error() != nil {
		t.Errorf("deleted group %s still has %d committed offsets (%v)", group, n, fetched.Error())
	}
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := listed[group]; ok {
		t.Errorf("ListGroups still lists the deleted group %s: %+v", group, g)
	}
	described, err := adm.DescribeGroups(ctx, group)
	var shardErrs *kadm.ShardErrors
	if err != nil && !errors.As(err, &shardErrs) {
		t.Fatal(err)
	}
	if g := described[group]; g.State != "Dead" && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		t.Errorf("DescribeGroups of the deleted group %s: state %q, error %v; want Dead or GROUP_ID_NOT_FOUND", group, g.State, g.Err)
	}
}
