package groupcoord

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestFirstJoinOfDynamicMemberIsAskedToRejoinWithMemberID(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("g", "client-a", "t")
	resp := h.c.JoinGroup(m.ctx(), m.joinRequest())
	wantErr(t, "first join v9", resp.ErrorCode, kerr.MemberIDRequired)
	if !strings.HasPrefix(resp.MemberID, "client-a-") || resp.Generation != -1 {
		t.Fatalf("member id %q generation %d, want client-a-<uuid> and -1", resp.MemberID, resp.Generation)
	}
	if d := h.describe("g"); d.State != "Empty" || len(d.Members) != 0 {
		t.Fatalf("a pending member must not be a member yet: state %s, %d members", d.State, len(d.Members))
	}

	// Before v4 a member joins in one round.
	old := h.member("g3", "c", "t")
	old.version = 3
	ch := old.joinAsync()
	h.waitAwaitingJoin("g3", 1)
	h.clock.Advance(3 * time.Second)
	r := old.applyJoin(recv(t, ch))
	if r.Generation != 1 || !strings.HasPrefix(r.MemberID, "c-") || r.LeaderID != r.MemberID {
		t.Fatalf("v3 join: generation %d member %q leader %q", r.Generation, r.MemberID, r.LeaderID)
	}
}

func TestGroupFormsAfterInitialRebalanceDelayWithEveryMemberThatJoined(t *testing.T) {
	h := newHarness(t, nil)
	ms := []*tm{h.member("g", "a", "t1"), h.member("g", "b", "t2"), h.member("g", "c", "t1", "t3")}
	var chans []<-chan *kmsg.JoinGroupResponse
	for i, m := range ms {
		chans = append(chans, m.joinAsync())
		h.waitAwaitingJoin("g", i+1)
	}
	// Joins during the first delay extend it once more.
	h.clock.Advance(3 * time.Second)
	if s := h.state("g"); s != "PreparingRebalance" {
		t.Fatalf("state after first delay %s, want PreparingRebalance", s)
	}
	parked(t, chans[0])
	h.clock.Advance(3 * time.Second)

	var leaderID string
	for i, m := range ms {
		r := roundTrip(t, recv(t, chans[i]))
		m.applyJoin(r)
		if r.Generation != 1 || r.Protocol == nil || *r.Protocol != "range" || r.ProtocolType == nil || *r.ProtocolType != "consumer" || r.SkipAssignment {
			t.Fatalf("%s: generation %d protocol %v type %v skip %v", m.clientID, r.Generation, r.Protocol, r.ProtocolType, r.SkipAssignment)
		}
		if leaderID == "" {
			leaderID = r.LeaderID
		} else if r.LeaderID != leaderID {
			t.Fatalf("members disagree on the leader: %q vs %q", r.LeaderID, leaderID)
		}
		if m.isLeader() {
			if len(r.Members) != 3 {
				t.Fatalf("leader got %d members, want 3", len(r.Members))
			}
			for _, jm := range r.Members {
				var want []byte
				for _, o := range ms {
					if o.id == jm.MemberID {
						want = o.protocols[0].Metadata
					}
				}
				if want == nil || !bytes.Equal(jm.ProtocolMetadata, want) {
					t.Fatalf("leader's view of %s: metadata %x, want %x", jm.MemberID, jm.ProtocolMetadata, want)
				}
			}
		} else if len(r.Members) != 0 {
			t.Fatalf("follower %s got %d members, want none", m.clientID, len(r.Members))
		}
	}
	if leaderID != ms[0].id {
		t.Fatalf("leader %q, want the first to join (%q)", leaderID, ms[0].id)
	}
}

func TestInitialRebalanceDelayIsExtendedByJoinsUpToTheRebalanceTimeout(t *testing.T) {
	h := newHarness(t, nil)
	joinAt := []time.Duration{0, 2 * time.Second, 5 * time.Second, 8 * time.Second, 9500 * time.Millisecond}
	var now time.Duration
	var chans []<-chan *kmsg.JoinGroupResponse
	for i, at := range joinAt {
		h.clock.Advance(at - now)
		now = at
		m := h.member("g", string(rune('a'+i)), "t")
		m.rebalance = 10000
		chans = append(chans, m.joinAsync())
		h.waitAwaitingJoin("g", i+1)
	}
	h.clock.Advance(10*time.Second - now - time.Millisecond)
	if s := h.state("g"); s != "PreparingRebalance" {
		t.Fatalf("state just before the rebalance timeout: %s", s)
	}
	h.clock.Advance(time.Millisecond)
	for _, ch := range chans {
		if r := recv(t, ch); r.ErrorCode != 0 || r.Generation != 1 {
			t.Fatalf("join: %s generation %d", errName(r.ErrorCode), r.Generation)
		}
	}
}

func TestChosenProtocolIsTheOneEveryMemberSupportsWithMostVotes(t *testing.T) {
	h := newHarness(t, nil)
	proto := func(names ...string) []kmsg.JoinGroupRequestProtocol {
		var ps []kmsg.JoinGroupRequestProtocol
		for _, n := range names {
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name, p.Metadata = n, []byte("md-"+n)
			ps = append(ps, p)
		}
		return ps
	}
	for _, tc := range []struct {
		group  string
		offers [][]string
		want   string
	}{
		// Only range is supported by everyone, though roundrobin is
		// someone's first choice.
		{"g1", [][]string{{"roundrobin", "range"}, {"range", "roundrobin"}, {"range"}}, "range"},
		// Both are common; y has two first-preference votes.
		{"g2", [][]string{{"x", "y"}, {"y", "x"}, {"y", "x"}}, "y"},
	} {
		var ms []*tm
		var chans []<-chan *kmsg.JoinGroupResponse
		for i, offer := range tc.offers {
			m := h.member(tc.group, string(rune('a'+i)))
			m.protocols = proto(offer...)
			ms = append(ms, m)
			chans = append(chans, m.joinAsync())
		}
		h.waitAwaitingJoin(tc.group, len(ms))
		h.clock.Advance(6 * time.Second)
		for i, m := range ms {
			r := m.applyJoin(recv(t, chans[i]))
			if *r.Protocol != tc.want {
				t.Fatalf("%s: protocol %s, want %s", tc.group, *r.Protocol, tc.want)
			}
			for _, jm := range r.Members {
				if string(jm.ProtocolMetadata) != "md-"+tc.want {
					t.Fatalf("%s: leader got metadata %q, want that of %s", tc.group, jm.ProtocolMetadata, tc.want)
				}
			}
		}
	}
}

func TestJoinWithAnotherProtocolTypeOrNoCommonProtocolIsInconsistent(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("g", "a", "t")
	h.formGroup([]*tm{a}, nil)

	other := h.member("g", "b", "t")
	req := other.joinRequest()
	req.ProtocolType = "connect"
	wantErr(t, "other protocol type", h.c.JoinGroup(other.ctx(), req).ErrorCode, kerr.InconsistentGroupProtocol)

	req = other.joinRequest()
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name = "roundrobin"
	req.Protocols = []kmsg.JoinGroupRequestProtocol{p}
	wantErr(t, "no common protocol", h.c.JoinGroup(other.ctx(), req).ErrorCode, kerr.InconsistentGroupProtocol)

	empty := h.member("fresh", "x")
	req = empty.joinRequest()
	req.Protocols = nil
	wantErr(t, "new group without protocols", h.c.JoinGroup(empty.ctx(), req).ErrorCode, kerr.InconsistentGroupProtocol)
}

func TestJoinWithSessionTimeoutOutsideTheBrokerRangeIsRejected(t *testing.T) {
	h := newHarness(t, nil)
	for _, tc := range []struct {
		session int32
		want    *kerr.Error
	}{
		{5999, kerr.InvalidSessionTimeout},
		{1800001, kerr.InvalidSessionTimeout},
		{6000, kerr.MemberIDRequired},
		{1800000, kerr.MemberIDRequired},
	} {
		m := h.member("g", "a", "t")
		m.session = tc.session
		wantErr(t, "session "+itoa(int(tc.session)), h.c.JoinGroup(m.ctx(), m.joinRequest()).ErrorCode, tc.want)
	}
}

func TestHeartbeatAnswersFollowTheGroupState(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, nil)
	wantErr(t, "stable", a.heartbeat(), nil)

	stale := *b
	stale.generation = 0
	wantErr(t, "wrong generation", stale.heartbeat(), kerr.IllegalGeneration)
	stranger := *b
	stranger.id = "nobody"
	wantErr(t, "unknown member", stranger.heartbeat(), kerr.UnknownMemberID)
	nogroup := *b
	nogroup.group = "missing"
	wantErr(t, "unknown group", nogroup.heartbeat(), kerr.UnknownMemberID)
	noid := *b
	noid.group = ""
	wantErr(t, "empty group id", noid.heartbeat(), kerr.InvalidGroupID)

	// The leader's rejoin starts a rebalance; the follower learns it from
	// its heartbeat.
	ch := a.joinAsync()
	h.waitAwaitingJoin("g", 1)
	wantErr(t, "preparing rebalance", b.heartbeat(), kerr.RebalanceInProgress)
	bch := b.joinAsync()
	a.applyJoin(recv(t, ch))
	b.applyJoin(recv(t, bch))
	if s := h.state("g"); s != "CompletingRebalance" {
		t.Fatalf("state %s", s)
	}
	// Between JoinGroup and SyncGroup heartbeats are fine.
	wantErr(t, "completing rebalance", b.heartbeat(), nil)
}

func TestMemberThatMissesHeartbeatsIsRemovedAndGroupRebalances(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, map[string][]byte{"a": assignmentOf(map[string][]int32{"t": {0}}), "b": assignmentOf(map[string][]int32{"t": {1}})})

	// a heartbeats every 3s; b has crashed. Its 10s session ends.
	for i := 0; i < 3; i++ {
		h.clock.Advance(3 * time.Second)
		wantErr(t, "a's heartbeat while b's session runs", a.heartbeat(), nil)
	}
	h.clock.Advance(time.Second)
	wantErr(t, "a's heartbeat after b expired", a.heartbeat(), kerr.RebalanceInProgress)
	if d := h.describe("g"); d.State != "PreparingRebalance" || len(d.Members) != 1 || d.Members[0].MemberID != a.id {
		t.Fatalf("after expiry: state %s members %+v", d.State, d.Members)
	}
	r := a.applyJoin(recv(t, a.joinAsync()))
	if r.Generation != 2 || r.LeaderID != a.id || len(r.Members) != 1 {
		t.Fatalf("rejoin: generation %d leader %q members %d", r.Generation, r.LeaderID, len(r.Members))
	}
	wantErr(t, "expired member's heartbeat", b.heartbeat(), kerr.UnknownMemberID)
}

func TestMemberThatDoesNotRejoinWithinRebalanceTimeoutIsRemoved(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	for _, m := range []*tm{a, b} {
		m.session, m.rebalance = 30000, 20000
	}
	h.formGroup([]*tm{a, b}, nil)
	leader, follower := a, b
	if !a.isLeader() {
		leader, follower = b, a
	}
	ch := leader.joinAsync()
	h.waitAwaitingJoin("g", 1)
	h.clock.Advance(20*time.Second - time.Millisecond)
	parked(t, ch)
	h.clock.Advance(time.Millisecond)
	r := leader.applyJoin(recv(t, ch))
	if r.Generation != 2 || len(r.Members) != 1 || r.Members[0].MemberID != leader.id {
		t.Fatalf("join after the rebalance timeout: generation %d members %+v", r.Generation, r.Members)
	}
	wantErr(t, "dropped follower's heartbeat", follower.heartbeat(), kerr.UnknownMemberID)
}

func TestJoinGroupV0UsesSessionTimeoutAsRebalanceTimeout(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	for _, m := range []*tm{a, b} {
		m.version = 0
		m.session = 10000
		m.rebalance = 600000 // not sent by v0
	}
	h.formGroup([]*tm{a, b}, nil)
	leader, follower := a, b
	if !a.isLeader() {
		leader, follower = b, a
	}
	ch := leader.joinAsync()
	h.waitAwaitingJoin("g", 1)
	// The follower stays alive but never rejoins: only the rebalance
	// timeout ends the join, and for v0 that is the session timeout.
	for i := 0; i < 3; i++ {
		h.clock.Advance(3 * time.Second)
		wantErr(t, "follower heartbeat", follower.heartbeat(), kerr.RebalanceInProgress)
	}
	parked(t, ch)
	h.clock.Advance(time.Second)
	if r := leader.applyJoin(recv(t, ch)); r.Generation != 2 || len(r.Members) != 1 {
		t.Fatalf("generation %d, %d members", r.Generation, len(r.Members))
	}
	h.inspect("g", func(g *group) {
		if m := g.members[leader.id]; m.rebalanceTimeout != 10000 {
			t.Fatalf("stored rebalance timeout %d, want the session timeout", m.rebalanceTimeout)
		}
	})
}

func TestPendingMemberThatNeverRejoinsExpiresAfterSessionTimeout(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("g", "a", "t")
	h.formGroup([]*tm{a}, nil)

	c := h.member("g", "c", "t")
	resp := h.c.JoinGroup(c.ctx(), c.joinRequest())
	wantErr(t, "first join", resp.ErrorCode, kerr.MemberIDRequired)
	c.id = resp.MemberID

	// The leader rejoins; the rebalance waits for the pending member...
	ch := a.joinAsync()
	h.waitAwaitingJoin("g", 1)
	h.clock.Advance(10*time.Second - time.Millisecond)
	parked(t, ch)
	// ...until its session timeout drops it.
	h.clock.Advance(time.Millisecond)
	if r := a.applyJoin(recv(t, ch)); r.Generation != 2 || len(r.Members) != 1 {
		t.Fatalf("generation %d, %d members", r.Generation, len(r.Members))
	}
	wantErr(t, "expired pending member joins", recv(t, c.joinAsync()).ErrorCode, kerr.UnknownMemberID)
}

func TestLeaveGroupTriggersRebalanceWithoutWaitingForTheSession(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, nil)
	wantErr(t, "leave", b.leave(), nil)
	wantErr(t, "heartbeat after leave", a.heartbeat(), kerr.RebalanceInProgress)
	if r := a.applyJoin(recv(t, a.joinAsync())); r.Generation != 2 || len(r.Members) != 1 || r.LeaderID != a.id {
		t.Fatalf("generation %d members %d leader %q", r.Generation, len(r.Members), r.LeaderID)
	}
}

func TestLeaveGroupBatchAnswersPerMember(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c := h.member("g", "a", "t"), h.member("g", "b", "t").static("ib"), h.member("g", "c", "t")
	h.formGroup([]*tm{a, b, c}, nil)
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 5
	req.Group = "g"
	mk := func(id string, instance *string) kmsg.LeaveGroupRequestMember {
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID, lm.InstanceID = id, instance
		return lm
	}
	req.Members = []kmsg.LeaveGroupRequestMember{
		mk(a.id, nil), mk("nobody", nil), mk("", strPtr("ib")), mk(c.id, strPtr("not-c")),
	}
	resp := roundTrip(t, h.c.LeaveGroup(context.Background(), req))
	want := []*kerr.Error{nil, kerr.UnknownMemberID, nil, kerr.UnknownMemberID}
	if resp.ErrorCode != 0 || len(resp.Members) != len(want) {
		t.Fatalf("leave: %s, %d members", errName(resp.ErrorCode), len(resp.Members))
	}
	for i, w := range want {
		wantErr(t, "member "+itoa(i), resp.Members[i].ErrorCode, w)
		if resp.Members[i].MemberID != req.Members[i].MemberID {
			t.Fatalf("member %d answered as %q", i, resp.Members[i].MemberID)
		}
	}
	if d := h.describe("g"); len(d.Members) != 1 || d.Members[0].MemberID != c.id {
		t.Fatalf("left in the group: %+v", d.Members)
	}
}

func TestLastMemberLeavingEmptiesTheGroupAndStoresIt(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("g", "a", "t")
	h.formGroup([]*tm{a}, nil)
	wantErr(t, "leave", a.leave(), nil)
	if d := h.describe("g"); d.State != "Empty" || len(d.Members) != 0 || d.ProtocolType != "consumer" {
		t.Fatalf("after the last leave: %+v", d)
	}
	v := lastGroupRecord(t, h.journal, h.c.PartitionFor("g"), "g")
	if v == nil || v.Generation != 2 || len(v.Members) != 0 || v.Protocol != nil || v.Leader != nil {
		t.Fatalf("stored empty group: %+v", v)
	}
	wantErr(t, "heartbeat of the gone member", a.heartbeat(), kerr.UnknownMemberID)
}

// lastGroupRecord is the last group metadata value of group in partition
// p (nil if the last record is a tombstone or there is none).
func lastGroupRecord(t *testing.T, j *MemoryJournal, p int32, group string) *kmsg.GroupMetadataValue {
	t.Helper()
	var last *kmsg.GroupMetadataValue
	for _, r := range j.Records(p) {
		k, ok, err := decodeKey(r.Key)
		if err != nil || !ok || k.isOffset || k.group != group {
			continue
		}
		if r.Value == nil {
			last = nil
			continue
		}
		v, err := decodeGroupValue(r.Value)
		if err != nil {
			t.Fatal(err)
		}
		last = v
	}
	return last
}

func TestFollowerSyncWaitsForTheLeadersAssignment(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c := h.member("g", "a", "t"), h.member("g", "b", "t"), h.member("g", "c", "t")
	var chans []<-chan *kmsg.JoinGroupResponse
	for i, m := range []*tm{a, b, c} {
		chans = append(chans, m.joinAsync())
		h.waitAwaitingJoin("g", i+1)
	}
	h.clock.Advance(6 * time.Second)
	for i, m := range []*tm{a, b, c} {
		m.applyJoin(recv(t, chans[i]))
	}
	if !a.isLeader() {
		t.Fatal("a should lead")
	}
	bch := b.syncAsync(nil)
	cch := c.syncAsync(nil)
	h.waitAwaitingSync("g", 2)
	parked(t, bch)
	// The leader forgets c: it gets an empty assignment.
	resp := recv(t, a.syncAsync(map[string][]byte{a.id: []byte("A"), b.id: []byte("B")}))
	if resp.ErrorCode != 0 || string(resp.MemberAssignment) != "A" || *resp.Protocol != "range" || *resp.ProtocolType != "consumer" {
		t.Fatalf("leader sync: %s %q", errName(resp.ErrorCode), resp.MemberAssignment)
	}
	if r := recv(t, bch); r.ErrorCode != 0 || string(r.MemberAssignment) != "B" {
		t.Fatalf("b: %s %q", errName(r.ErrorCode), r.MemberAssignment)
	}
	if r := recv(t, cch); r.ErrorCode != 0 || len(r.MemberAssignment) != 0 {
		t.Fatalf("c: %s %q", errName(r.ErrorCode), r.MemberAssignment)
	}
	if s := h.state("g"); s != "Stable" {
		t.Fatalf("state %s", s)
	}
	// Stable: a repeated SyncGroup returns the assignment at once.
	if r := recv(t, b.syncAsync(nil)); string(r.MemberAssignment) != "B" {
		t.Fatalf("repeated sync %q", r.MemberAssignment)
	}
}

func TestSyncGroupChecksGenerationMemberAndProtocol(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, map[string][]byte{"a": []byte("A"), "b": []byte("B")})
	sync := func(mut func(*kmsg.SyncGroupRequest)) *kmsg.SyncGroupResponse {
		req := b.syncRequest(nil)
		mut(req)
		return h.c.SyncGroup(context.Background(), req)
	}
	wantErr(t, "wrong generation", sync(func(r *kmsg.SyncGroupRequest) { r.Generation = 7 }).ErrorCode, kerr.IllegalGeneration)
	wantErr(t, "unknown member", sync(func(r *kmsg.SyncGroupRequest) { r.MemberID = "x" }).ErrorCode, kerr.UnknownMemberID)
	wantErr(t, "other protocol", sync(func(r *kmsg.SyncGroupRequest) { r.Protocol = strPtr("roundrobin") }).ErrorCode, kerr.InconsistentGroupProtocol)
	wantErr(t, "other protocol type", sync(func(r *kmsg.SyncGroupRequest) { r.ProtocolType = strPtr("connect") }).ErrorCode, kerr.InconsistentGroupProtocol)
	wantErr(t, "v5 without protocol type", sync(func(r *kmsg.SyncGroupRequest) { r.ProtocolType = nil }).ErrorCode, kerr.InconsistentGroupProtocol)
	if r := sync(func(r *kmsg.SyncGroupRequest) { r.Version, r.ProtocolType, r.Protocol = 4, nil, nil }); r.ErrorCode != 0 || string(r.MemberAssignment) != "B" {
		t.Fatalf("v4 sync: %s %q", errName(r.ErrorCode), r.MemberAssignment)
	}
	ch := a.joinAsync()
	h.waitAwaitingJoin("g", 1)
	wantErr(t, "during PreparingRebalance", sync(func(*kmsg.SyncGroupRequest) {}).ErrorCode, kerr.RebalanceInProgress)
	b.applyJoin(recv(t, b.joinAsync()))
	a.applyJoin(recv(t, ch))
}

func TestMemberThatNeverSyncsIsRemovedAfterTheRebalanceTimeout(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	// Sessions outlast the rebalance timeout, so only the sync deadline
	// can remove b.
	for _, m := range []*tm{a, b} {
		m.session, m.rebalance = 30000, 10000
	}
	chans := []<-chan *kmsg.JoinGroupResponse{a.joinAsync(), nil}
	h.waitAwaitingJoin("g", 1)
	chans[1] = b.joinAsync()
	h.waitAwaitingJoin("g", 2)
	h.clock.Advance(6 * time.Second)
	a.applyJoin(recv(t, chans[0]))
	b.applyJoin(recv(t, chans[1]))
	if r := recv(t, a.syncAsync(map[string][]byte{a.id: []byte("A"), b.id: []byte("B")})); r.ErrorCode != 0 {
		t.Fatal(errName(r.ErrorCode))
	}
	// b got its generation but never asks for its assignment.
	for i := 0; i < 3; i++ {
		h.clock.Advance(3 * time.Second)
		wantErr(t, "a's heartbeat before the sync deadline", a.heartbeat(), nil)
	}
	h.clock.Advance(time.Second)
	wantErr(t, "a's heartbeat after the sync deadline", a.heartbeat(), kerr.RebalanceInProgress)
	if d := h.describe("g"); d.State != "PreparingRebalance" || len(d.Members) != 1 {
		t.Fatalf("after the sync deadline: %s with %d members", d.State, len(d.Members))
	}
}

func TestNewMemberJoiningAStableGroupTriggersARebalance(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, nil)
	c := h.member("g", "c", "t")
	cch := c.joinAsync()
	h.waitAwaitingJoin("g", 1)
	wantErr(t, "a", a.heartbeat(), kerr.RebalanceInProgress)
	wantErr(t, "b", b.heartbeat(), kerr.RebalanceInProgress)
	ach, bch := a.joinAsync(), b.joinAsync()
	for _, ch := range []<-chan *kmsg.JoinGroupResponse{ach, bch, cch} {
		if r := recv(t, ch); r.ErrorCode != 0 || r.Generation != 2 {
			t.Fatalf("%s generation %d", errName(r.ErrorCode), r.Generation)
		}
	}
}

func TestFollowerRejoiningWithSameMetadataGetsTheCurrentGeneration(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, nil)
	r := recv(t, b.joinAsync())
	if r.ErrorCode != 0 || r.Generation != 1 || len(r.Members) != 0 || r.LeaderID != a.id {
		t.Fatalf("rejoin: %s generation %d", errName(r.ErrorCode), r.Generation)
	}
	if s := h.state("g"); s != "Stable" {
		t.Fatalf("state %s, want Stable (no rebalance)", s)
	}
}

func TestRebalanceDuringCompletingRebalanceAnswersParkedSyncs(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	chans := []<-chan *kmsg.JoinGroupResponse{a.joinAsync(), nil}
	h.waitAwaitingJoin("g", 1)
	chans[1] = b.joinAsync()
	h.waitAwaitingJoin("g", 2)
	h.clock.Advance(6 * time.Second)
	a.applyJoin(recv(t, chans[0]))
	b.applyJoin(recv(t, chans[1]))
	bch := b.syncAsync(nil)
	h.waitAwaitingSync("g", 1)
	c := h.member("g", "c", "t")
	c.joinAsync()
	wantErr(t, "parked sync", recv(t, bch).ErrorCode, kerr.RebalanceInProgress)
	wantErr(t, "commit in PreparingRebalance", b.commit("t", 0, 5), nil)
}

func TestGroupMaxSizeTurnsAwayExtraMembers(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.GroupMaxSize = 2 })
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, nil)
	c := h.member("g", "c", "t")
	resp := h.c.JoinGroup(c.ctx(), c.joinRequest())
	wantErr(t, "third member", resp.ErrorCode, kerr.GroupMaxSizeReached)
}

func TestJoinWithMemberIDOfMissingGroupIsUnknownMember(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("nope", "a", "t")
	m.id = "a-stale"
	wantErr(t, "join", h.c.JoinGroup(m.ctx(), m.joinRequest()).ErrorCode, kerr.UnknownMemberID)
	if h.group("nope") != nil {
		t.Fatal("a stale member id must not create the group")
	}
}

func TestJoinGroupReturnsWhenItsContextEnds(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("g", "a", "t")
	m.joinAsync() // fetches the member id
	ctx, cancel := context.WithCancel(m.ctx())
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { done <- h.c.JoinGroup(ctx, m.joinRequest()) }()
	cancel()
	if r := recv(t, done); r.ErrorCode == 0 {
		t.Fatal("a cancelled join must not report success")
	}
}
