package groupcoord

import (
	"fmt"
	"sort"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cooperativeMetadata is a KIP-429 subscription (ConsumerMemberMetadata
// v1+) naming the partitions the member owns.
func cooperativeMetadata(topic string, owned []int32) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Version = 1
	m.Topics = []string{topic}
	if len(owned) > 0 {
		op := kmsg.NewConsumerMemberMetadataOwnedPartition()
		op.Topic, op.Partitions = topic, owned
		m.OwnedPartitions = []kmsg.ConsumerMemberMetadataOwnedPartition{op}
	}
	return m.AppendTo(nil)
}

func ownedIn(t *testing.T, metadata []byte) []int32 {
	t.Helper()
	var m kmsg.ConsumerMemberMetadata
	if err := m.ReadFrom(metadata); err != nil {
		t.Fatal(err)
	}
	var out []int32
	for _, op := range m.OwnedPartitions {
		out = append(out, op.Partitions...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func assignedIn(t *testing.T, assignment []byte) []int32 {
	t.Helper()
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(assignment); err != nil {
		t.Fatal(err)
	}
	var out []int32
	for _, at := range a.Topics {
		out = append(out, at.Partitions...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestCooperativeStickyRebalanceRunsInTwoRounds drives a KIP-429 rebalance
// as cooperative-sticky clients do: consumers keep their partitions through
// the first round, the leader revokes only what must move, the revoking
// consumers rejoin at once, and the second round hands the freed partitions
// to the new member. The coordinator needs nothing special, but it must
// carry the owned partitions to the leader, accept commits while a
// rebalance is being prepared, and run two rebalances back to back.
func TestCooperativeStickyRebalanceRunsInTwoRounds(t *testing.T) {
	h := newHarness(t, nil)
	const topic = "t"
	members := map[string]*tm{}
	owned := map[string][]int32{}
	mk := func(name string) *tm {
		m := h.member("g", name)
		members[name] = m
		return m
	}
	setMeta := func(m *tm) {
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "cooperative-sticky", cooperativeMetadata(topic, owned[m.clientID])
		m.protocols = []kmsg.JoinGroupRequestProtocol{p}
	}
	assign := func(parts map[string][]int32) map[string][]byte {
		out := map[string][]byte{}
		for name, ps := range parts {
			out[name] = assignmentOf(map[string][]int32{topic: ps})
		}
		return out
	}
	a, b := mk("a"), mk("b")
	setMeta(a)
	setMeta(b)
	h.formGroup([]*tm{a, b}, assign(map[string][]int32{"a": {0, 1, 2}, "b": {3, 4, 5}}))
	owned["a"], owned["b"] = []int32{0, 1, 2}, []int32{3, 4, 5}
	if a.protocol != "cooperative-sticky" {
		t.Fatalf("protocol %s", a.protocol)
	}
	wantErr(t, "a commits", a.commit(topic, 2, 20), nil)

	// c joins. a and b hear of the rebalance, commit while it is being
	// prepared, and rejoin still owning their partitions.
	c := mk("c")
	setMeta(c)
	cch := c.joinAsync()
	h.waitAwaitingJoin("g", 1)
	for _, m := range []*tm{a, b} {
		wantErr(t, m.clientID+" heartbeat", m.heartbeat(), kerr.RebalanceInProgress)
		wantErr(t, m.clientID+" commits during PreparingRebalance", m.commit(topic, owned[m.clientID][0], 1), nil)
		setMeta(m)
	}
	ach, bch := a.joinAsync(), b.joinAsync()
	ra := a.applyJoin(recv(t, ach))
	b.applyJoin(recv(t, bch))
	c.applyJoin(recv(t, cch))
	if ra.Generation != 2 || !a.isLeader() || len(ra.Members) != 3 {
		t.Fatalf("round 1 join: generation %d leader %v members %d", ra.Generation, a.isLeader(), len(ra.Members))
	}
	for _, jm := range ra.Members {
		want := map[string][]int32{a.id: {0, 1, 2}, b.id: {3, 4, 5}, c.id: nil}[jm.MemberID]
		if got := ownedIn(t, jm.ProtocolMetadata); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("leader sees %s owning %v, want %v", jm.MemberID, got, want)
		}
	}
	// Round 1: the target is a:{0,1} b:{3,4} c:{2,5}; partitions that
	// change owner are only revoked now.
	h.syncAll([]*tm{a, b, c}, assign(map[string][]int32{"a": {0, 1}, "b": {3, 4}, "c": {}}))
	owned["a"], owned["b"] = []int32{0, 1}, []int32{3, 4}
	if s := h.state("g"); s != "Stable" {
		t.Fatalf("after round 1: %s", s)
	}

	// a and b revoked partitions, so they rejoin immediately.
	setMeta(a)
	setMeta(b)
	ach, bch = a.joinAsync(), b.joinAsync()
	h.waitAwaitingJoin("g", 2)
	wantErr(t, "c heartbeat", c.heartbeat(), kerr.RebalanceInProgress)
	cch = c.joinAsync()
	ra = a.applyJoin(recv(t, ach))
	b.applyJoin(recv(t, bch))
	c.applyJoin(recv(t, cch))
	if ra.Generation != 3 {
		t.Fatalf("round 2 generation %d", ra.Generation)
	}
	for _, jm := range ra.Members {
		want := map[string][]int32{a.id: {0, 1}, b.id: {3, 4}, c.id: nil}[jm.MemberID]
		if got := ownedIn(t, jm.ProtocolMetadata); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round 2: leader sees %s owning %v, want %v", jm.MemberID, got, want)
		}
	}
	final := assign(map[string][]int32{"a": {0, 1}, "b": {3, 4}, "c": {2, 5}})
	h.syncAll([]*tm{a, b, c}, final)
	if got := assignedIn(t, final["c"]); fmt.Sprint(got) != "[2 5]" {
		t.Fatalf("c assigned %v", got)
	}
	// c picks up partition 2 where a left it.
	if got := h.fetched("g", topic, 2); got != 20 {
		t.Fatalf("c resumes partition 2 at %d, want a's commit 20", got)
	}
	wantErr(t, "c commits in generation 3", c.commit(topic, 2, 21), nil)
	wantErr(t, "a commits with generation 2", h.commit("g", 2, a.id, nil, topic, 0, 1), kerr.IllegalGeneration)
}
