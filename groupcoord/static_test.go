package groupcoord

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestStaticMemberRestartGetsSameAssignmentWithoutRebalance(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t").static("ia"), h.member("g", "b", "t").static("ib")
	h.formGroup([]*tm{a, b}, map[string][]byte{"a": []byte("A"), "b": []byte("B")})
	oldB := b.id

	// b's process restarts within its session: it has lost its member id
	// but keeps its group.instance.id.
	h.clock.Advance(5 * time.Second)
	b2 := h.member("g", "b", "t").static("ib")
	r := recv(t, b2.joinAsync())
	if r.ErrorCode != 0 || r.MemberID == oldB || !strings.HasPrefix(r.MemberID, "ib-") {
		t.Fatalf("rejoin: %s member %q (old %q)", errName(r.ErrorCode), r.MemberID, oldB)
	}
	if r.Generation != 1 || r.LeaderID != a.id || len(r.Members) != 0 || r.SkipAssignment {
		t.Fatalf("rejoin must return the current generation without a rebalance: generation %d leader %q members %d skip %v",
			r.Generation, r.LeaderID, len(r.Members), r.SkipAssignment)
	}
	b2.applyJoin(r)
	if s := recv(t, b2.syncAsync(nil)); s.ErrorCode != 0 || string(s.MemberAssignment) != "B" {
		t.Fatalf("sync after restart: %s %q", errName(s.ErrorCode), s.MemberAssignment)
	}
	if st := h.state("g"); st != "Stable" {
		t.Fatalf("state %s", st)
	}
	wantErr(t, "the other member saw no rebalance", a.heartbeat(), nil)
	wantErr(t, "old incarnation's heartbeat", b.heartbeat(), kerr.FencedInstanceID)
	wantErr(t, "old incarnation's commit", b.commit("t", 0, 1), kerr.FencedInstanceID)
	wantErr(t, "new incarnation's commit", b2.commit("t", 0, 1), nil)

	v := lastGroupRecord(t, h.journal, h.c.PartitionFor("g"), "g")
	var found bool
	for _, m := range v.Members {
		if m.MemberID == oldB {
			t.Fatal("stored group still has the old member id")
		}
		if m.MemberID == b2.id {
			found = true
			if string(m.Assignment) != "B" || m.InstanceID == nil || *m.InstanceID != "ib" {
				t.Fatalf("stored member: %+v", m)
			}
		}
	}
	if !found || v.Generation != 1 {
		t.Fatalf("stored group does not have the new member id: %+v", v)
	}
}

func TestStaticLeaderRestartKeepsOldLeaderIDBeforeV9AndSkipsAssignmentFromV9(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t").static("ia"), h.member("g", "b", "t").static("ib")
	h.formGroup([]*tm{a, b}, map[string][]byte{"a": []byte("A"), "b": []byte("B")})

	a8 := h.member("g", "a", "t").static("ia")
	a8.version = 8
	r := recv(t, a8.joinAsync())
	if r.ErrorCode != 0 || r.LeaderID != a.id || r.MemberID == a.id || len(r.Members) != 0 {
		t.Fatalf("v8 restart: %s leader %q member %q members %d", errName(r.ErrorCode), r.LeaderID, r.MemberID, len(r.Members))
	}
	a8.applyJoin(r)

	a9 := h.member("g", "a", "t").static("ia")
	r = roundTrip(t, recv(t, a9.joinAsync()))
	if r.ErrorCode != 0 || r.LeaderID != r.MemberID || !r.SkipAssignment || len(r.Members) != 2 || r.Generation != 1 {
		t.Fatalf("v9 restart: %s leader %q member %q skip %v members %d", errName(r.ErrorCode), r.LeaderID, r.MemberID, r.SkipAssignment, len(r.Members))
	}
	a9.applyJoin(r)
	// Skipping the assignment, the leader just syncs and gets its own.
	if s := recv(t, a9.syncAsync(nil)); s.ErrorCode != 0 || string(s.MemberAssignment) != "A" {
		t.Fatalf("sync: %s %q", errName(s.ErrorCode), s.MemberAssignment)
	}
	if st := h.state("g"); st != "Stable" {
		t.Fatalf("state %s", st)
	}
}

func TestStaticMemberRejoinChangingTheSelectedProtocolTriggersRebalance(t *testing.T) {
	h := newHarness(t, nil)
	protos := func(names ...string) []kmsg.JoinGroupRequestProtocol {
		var ps []kmsg.JoinGroupRequestProtocol
		for _, n := range names {
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name, p.Metadata = n, consumerMetadata("t")
			ps = append(ps, p)
		}
		return ps
	}
	a, b, c := h.member("g", "a").static("ia"), h.member("g", "b").static("ib"), h.member("g", "c").static("ic")
	a.protocols, b.protocols, c.protocols = protos("range", "roundrobin"), protos("range", "roundrobin"), protos("roundrobin", "range")
	h.formGroup([]*tm{a, b, c}, nil)
	if a.protocol != "range" {
		t.Fatalf("protocol %s", a.protocol)
	}
	b2 := h.member("g", "b").static("ib")
	b2.protocols = protos("roundrobin", "range") // now roundrobin has two votes
	ch := b2.joinAsync()
	h.waitAwaitingJoin("g", 1)
	wantErr(t, "a's heartbeat", a.heartbeat(), kerr.RebalanceInProgress)
	parked(t, ch)
	achan, cchan := a.joinAsync(), c.joinAsync()
	for _, ch := range []<-chan *kmsg.JoinGroupResponse{ch, achan, cchan} {
		if r := recv(t, ch); r.ErrorCode != 0 || *r.Protocol != "roundrobin" || r.Generation != 2 {
			t.Fatalf("%s protocol %v generation %d", errName(r.ErrorCode), r.Protocol, r.Generation)
		}
	}
}

func TestStaticMemberKeepsItsPlaceWhenItMissesARebalance(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t").static("ib")
	for _, m := range []*tm{a, b} {
		m.session, m.rebalance = 60000, 10000
	}
	h.formGroup([]*tm{a, b}, nil)
	ch := a.joinAsync()
	h.waitAwaitingJoin("g", 1)
	h.clock.Advance(10 * time.Second)
	r := a.applyJoin(recv(t, ch))
	if r.Generation != 2 || len(r.Members) != 2 {
		t.Fatalf("a static member that did not rejoin must stay: generation %d members %+v", r.Generation, r.Members)
	}
}

func TestFencedStaticMemberIsRejected(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c := h.member("g", "a", "t"), h.member("g", "b", "t").static("ib"), h.member("g", "c", "t")
	h.formGroup([]*tm{a, b, c}, nil)
	// The leader rejoins, the old b incarnation too; before c does, b
	// restarts.
	ach := a.joinAsync()
	h.waitAwaitingJoin("g", 1)
	oldJoin := b.joinAsync()
	h.waitAwaitingJoin("g", 2)
	b2 := h.member("g", "b", "t").static("ib")
	newJoin := b2.joinAsync()
	if r := recv(t, oldJoin); r.ErrorCode != kerr.FencedInstanceID.Code {
		t.Fatalf("parked join of the old incarnation: %s, want FENCED_INSTANCE_ID", errName(r.ErrorCode))
	}
	cch := c.joinAsync()
	a.applyJoin(recv(t, ach))
	b2.applyJoin(recv(t, newJoin))
	c.applyJoin(recv(t, cch))
	if b2.generation != 2 {
		t.Fatalf("generation %d", b2.generation)
	}
	wantErr(t, "old incarnation joins", recv(t, b.joinAsync()).ErrorCode, kerr.FencedInstanceID)
	b.generation = 2
	wantErr(t, "old incarnation syncs", recv(t, b.syncAsync(nil)).ErrorCode, kerr.FencedInstanceID)
	wantErr(t, "old incarnation leaves", b.leave(), kerr.FencedInstanceID)
}

func TestLeaveGroupByInstanceIDRemovesTheStaticMember(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t").static("ib")
	h.formGroup([]*tm{a, b}, nil)
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 4
	req.Group = "g"
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.InstanceID = strPtr("ib")
	req.Members = []kmsg.LeaveGroupRequestMember{lm}
	resp := h.c.LeaveGroup(context.Background(), req)
	if resp.ErrorCode != 0 || resp.Members[0].ErrorCode != 0 || resp.Members[0].InstanceID == nil {
		t.Fatalf("leave: %s / %+v", errName(resp.ErrorCode), resp.Members)
	}
	wantErr(t, "removed member heartbeat", b.heartbeat(), kerr.UnknownMemberID)
	wantErr(t, "remaining member heartbeat", a.heartbeat(), kerr.RebalanceInProgress)
}
