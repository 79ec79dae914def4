package groupcoord

// Every version of every API, as a client of that version sees it: requests
// go through the wire encoding (so fields the version lacks are dropped)
// and responses come back through it.

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// wire encodes a request at its version and decodes it again.
func wire[R kmsg.Request](t *testing.T, req R) R {
	t.Helper()
	raw := req.AppendTo(nil)
	out := kmsg.RequestForKey(req.Key()).(R)
	out.SetVersion(req.GetVersion())
	if err := out.ReadFrom(raw); err != nil {
		t.Fatalf("decode %s v%d request: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return out
}

// fakeTopics knows topics t and u with three partitions each.
type fakeTopics map[string][16]byte

var testTopics = fakeTopics{"t": {1}, "u": {2}}

func (f fakeTopics) PartitionExists(topic string, p int32) bool {
	_, ok := f[topic]
	return ok && p >= 0 && p < 3
}

func (f fakeTopics) TopicName(id [16]byte) (string, bool) {
	for name, tid := range f {
		if tid == id {
			return name, true
		}
	}
	return "", false
}

func (f fakeTopics) TopicID(name string) ([16]byte, bool) {
	id, ok := f[name]
	return id, ok
}

func TestJoinGroupEveryVersion(t *testing.T) {
	h := newHarness(t, nil)
	for v := int16(0); v <= 9; v++ {
		gid := fmt.Sprintf("join-v%d", v)
		m := h.member(gid, "c", "t")
		m.version = v
		if v >= 5 {
			m.static(fmt.Sprintf("inst-%d", v))
		}
		if v >= 4 && v < 5 {
			first := roundTrip(t, h.c.JoinGroup(m.ctx(), wire(t, m.joinRequest())))
			if first.ErrorCode != kerr.MemberIDRequired.Code || first.MemberID == "" {
				t.Fatalf("v%d: first join %s %q, want MEMBER_ID_REQUIRED with an id", v, errName(first.ErrorCode), first.MemberID)
			}
			m.id = first.MemberID
		}
		ch := make(chan *kmsg.JoinGroupResponse, 1)
		req := wire(t, m.joinRequest())
		go func() { ch <- h.c.JoinGroup(m.ctx(), req) }()
		h.waitAwaitingJoin(gid, 1) // before v4 (and for static members) no MEMBER_ID_REQUIRED round
		h.clock.Advance(3 * h.cfg.GroupInitialRebalanceDelay)
		r := roundTrip(t, recv(t, ch))
		if r.ErrorCode != 0 || r.Generation != 1 || r.MemberID == "" || r.LeaderID != r.MemberID || r.ThrottleMillis != 0 {
			t.Fatalf("v%d: %s generation %d member %q leader %q", v, errName(r.ErrorCode), r.Generation, r.MemberID, r.LeaderID)
		}
		if r.Protocol == nil || *r.Protocol != "range" {
			t.Fatalf("v%d: protocol %v", v, r.Protocol)
		}
		if (r.ProtocolType != nil) != (v >= 7) || (v >= 7 && *r.ProtocolType != "consumer") {
			t.Fatalf("v%d: protocol type %v", v, r.ProtocolType)
		}
		if len(r.Members) != 1 || string(r.Members[0].ProtocolMetadata) != string(m.protocols[0].Metadata) {
			t.Fatalf("v%d: members %+v", v, r.Members)
		}
		if (r.Members[0].InstanceID != nil) != (v >= 5) {
			t.Fatalf("v%d: member instance id %v", v, r.Members[0].InstanceID)
		}
		if r.SkipAssignment {
			t.Fatalf("v%d: skip assignment", v)
		}
		h.inspect(gid, func(g *group) {
			want := m.rebalance
			if v == 0 {
				want = m.session
			}
			if got := g.members[r.MemberID].rebalanceTimeout; got != want {
				t.Fatalf("v%d: rebalance timeout %d, want %d", v, got, want)
			}
		})
	}
}

func TestJoinGroupErrorsEveryVersion(t *testing.T) {
	h := newHarness(t, nil)
	for v := int16(0); v <= 9; v++ {
		m := h.member("errs", "c", "t")
		m.version, m.session = v, 1
		r := roundTrip(t, h.c.JoinGroup(m.ctx(), wire(t, m.joinRequest())))
		if r.ErrorCode != kerr.InvalidSessionTimeout.Code || r.Generation != -1 || r.LeaderID != "" || len(r.Members) != 0 {
			t.Fatalf("v%d: %+v", v, r)
		}
		if v >= 7 && (r.Protocol != nil || r.ProtocolType != nil) {
			t.Fatalf("v%d: an error carries no protocol: %v %v", v, r.Protocol, r.ProtocolType)
		}
	}
}

func TestSyncGroupEveryVersion(t *testing.T) {
	h := newHarness(t, nil)
	for v := int16(0); v <= 5; v++ {
		group := fmt.Sprintf("sync-v%d", v)
		m := h.member(group, "c", "t")
		if v >= 3 {
			m.static("i")
		}
		ch := m.joinAsync()
		h.waitAwaitingJoin(group, 1)
		h.clock.Advance(h.cfg.GroupInitialRebalanceDelay)
		m.applyJoin(recv(t, ch))
		req := m.syncRequest(map[string][]byte{m.id: []byte("assigned")})
		req.Version = v
		r := roundTrip(t, h.c.SyncGroup(context.Background(), wire(t, req)))
		if r.ErrorCode != 0 || string(r.MemberAssignment) != "assigned" || r.ThrottleMillis != 0 {
			t.Fatalf("v%d: %s %q", v, errName(r.ErrorCode), r.MemberAssignment)
		}
		if v >= 5 && (r.Protocol == nil || *r.Protocol != "range" || r.ProtocolType == nil || *r.ProtocolType != "consumer") {
			t.Fatalf("v%d: protocol %v type %v", v, r.Protocol, r.ProtocolType)
		}
		if v < 5 && (r.Protocol != nil || r.ProtocolType != nil) {
			t.Fatalf("v%d: protocol fields before v5", v)
		}
	}
}

func TestHeartbeatEveryVersion(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("g", "c", "t").static("i")
	h.formGroup([]*tm{m}, nil)
	for v := int16(0); v <= 4; v++ {
		req := kmsg.NewPtrHeartbeatRequest()
		req.Version = v
		req.Group, req.Generation, req.MemberID, req.InstanceID = "g", m.generation, m.id, strPtr("other")
		r := roundTrip(t, h.c.Heartbeat(context.Background(), wire(t, req)))
		// From v3 the instance id is sent, and this one is not the
		// member's.
		want := (*kerr.Error)(nil)
		if v >= 3 {
			want = kerr.UnknownMemberID
		}
		wantErr(t, fmt.Sprintf("v%d", v), r.ErrorCode, want)
	}
}

func TestLeaveGroupEveryVersion(t *testing.T) {
	h := newHarness(t, nil)
	for v := int16(0); v <= 5; v++ {
		group := fmt.Sprintf("leave-v%d", v)
		m := h.member(group, "c", "t")
		h.formGroup([]*tm{m}, nil)
		for _, id := range []string{"unknown", m.id} {
			req := kmsg.NewPtrLeaveGroupRequest()
			req.Version = v
			req.Group = group
			req.MemberID = id
			lm := kmsg.NewLeaveGroupRequestMember()
			lm.MemberID = id
			req.Members = []kmsg.LeaveGroupRequestMember{lm}
			r := roundTrip(t, h.c.LeaveGroup(context.Background(), wire(t, req)))
			want := (*kerr.Error)(nil)
			if id == "unknown" {
				want = kerr.UnknownMemberID
			}
			if v < 3 {
				// One member, one error code, at the top.
				wantErr(t, fmt.Sprintf("v%d leave %s", v, id), r.ErrorCode, want)
				if len(r.Members) != 0 {
					t.Fatalf("v%d: members in a pre-v3 response", v)
				}
				continue
			}
			wantErr(t, fmt.Sprintf("v%d top level", v), r.ErrorCode, nil)
			if len(r.Members) != 1 || r.Members[0].MemberID != id {
				t.Fatalf("v%d: members %+v", v, r.Members)
			}
			wantErr(t, fmt.Sprintf("v%d leave %s", v, id), r.Members[0].ErrorCode, want)
		}
		if s := h.state(group); s != "Empty" {
			t.Fatalf("v%d: state %s after the leave", v, s)
		}
	}
}

func TestOffsetCommitAndFetchEveryVersion(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Topics = testTopics })
	for cv := int16(0); cv <= 10; cv++ {
		group := fmt.Sprintf("oc-v%d", cv)
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = cv
		req.Group = group
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = "t", testTopics["t"]
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = 1, 100+int64(cv), 5, strPtr("m")
		rt.Partitions = []kmsg.OffsetCommitRequestTopicPartition{p}
		missing := kmsg.NewOffsetCommitRequestTopicPartition()
		missing.Partition = 7 // the topic has three partitions
		rt.Partitions = append(rt.Partitions, missing)
		req.Topics = []kmsg.OffsetCommitRequestTopic{rt}
		r := roundTrip(t, h.c.OffsetCommit(context.Background(), wire(t, req)))
		if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 2 || r.ThrottleMillis != 0 {
			t.Fatalf("commit v%d: %+v", cv, r)
		}
		if cv >= 10 && r.Topics[0].TopicID != testTopics["t"] || cv < 10 && r.Topics[0].Topic != "t" {
			t.Fatalf("commit v%d: topic %q id %x", cv, r.Topics[0].Topic, r.Topics[0].TopicID)
		}
		wantErr(t, fmt.Sprintf("commit v%d", cv), r.Topics[0].Partitions[0].ErrorCode, nil)
		wantErr(t, fmt.Sprintf("commit v%d missing partition", cv), r.Topics[0].Partitions[1].ErrorCode, kerr.UnknownTopicOrPartition)

		for fv := int16(0); fv <= 10; fv++ {
			off, epoch, md := fetchEveryVersion(t, h, fv, group, "t", 1)
			wantEpoch := int32(-1)
			if cv >= 6 && fv >= 5 {
				wantEpoch = 5
			}
			if off != 100+int64(cv) || epoch != wantEpoch || md != "m" {
				t.Fatalf("commit v%d fetch v%d: offset %d epoch %d metadata %q", cv, fv, off, epoch, md)
			}
		}
	}

	// v10 names topics by ID; an unknown ID is UNKNOWN_TOPIC_ID.
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 10
	req.Group = "ids"
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.TopicID = [16]byte{9}
	rt.Partitions = []kmsg.OffsetCommitRequestTopicPartition{kmsg.NewOffsetCommitRequestTopicPartition()}
	req.Topics = []kmsg.OffsetCommitRequestTopic{rt}
	wantErr(t, "unknown topic id", h.c.OffsetCommit(context.Background(), wire(t, req)).Topics[0].Partitions[0].ErrorCode, kerr.UnknownTopicID)
}

// fetchEveryVersion fetches one partition with OffsetFetch version v.
func fetchEveryVersion(t *testing.T, h *harness, v int16, group, topic string, partition int32) (int64, int32, string) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = v
	if v < 8 {
		req.Group = group
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{partition}
		req.Topics = []kmsg.OffsetFetchRequestTopic{rt}
		r := roundTrip(t, h.c.OffsetFetch(context.Background(), wire(t, req)))
		if r.ErrorCode != 0 || len(r.Topics) != 1 || r.Topics[0].Topic != topic || r.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("fetch v%d: %+v", v, r)
		}
		p := r.Topics[0].Partitions[0]
		return p.Offset, p.LeaderEpoch, *p.Metadata
	}
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = group
	rt := kmsg.NewOffsetFetchRequestGroupTopic()
	rt.Topic, rt.TopicID, rt.Partitions = topic, testTopics[topic], []int32{partition}
	rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{rt}
	req.Groups = []kmsg.OffsetFetchRequestGroup{rg}
	r := roundTrip(t, h.c.OffsetFetch(context.Background(), wire(t, req)))
	if len(r.Groups) != 1 || r.Groups[0].ErrorCode != 0 || len(r.Groups[0].Topics) != 1 {
		t.Fatalf("fetch v%d: %+v", v, r)
	}
	gt := r.Groups[0].Topics[0]
	if v >= 10 && gt.TopicID != testTopics[topic] || v < 10 && gt.Topic != topic {
		t.Fatalf("fetch v%d: topic %q id %x", v, gt.Topic, gt.TopicID)
	}
	p := gt.Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("fetch v%d: %s", v, errName(p.ErrorCode))
	}
	return p.Offset, p.LeaderEpoch, *p.Metadata
}

func TestOffsetFetchGroupErrorsEveryVersion(t *testing.T) {
	h := newHarness(t, nil)
	group := "unowned"
	h.c.Unload(h.c.PartitionFor(group))
	for v := int16(0); v <= 10; v++ {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = v
		req.Group = group
		rt := kmsg.NewOffsetFetchRequestTopic()
		rt.Topic, rt.Partitions = "t", []int32{0, 1}
		req.Topics = []kmsg.OffsetFetchRequestTopic{rt}
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = group
		req.Groups = []kmsg.OffsetFetchRequestGroup{rg}
		r := roundTrip(t, h.c.OffsetFetch(context.Background(), wire(t, req)))
		switch {
		case v < 2:
			// No group-level error code: each partition carries it.
			if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 2 {
				t.Fatalf("v%d: %+v", v, r)
			}
			for _, p := range r.Topics[0].Partitions {
				wantErr(t, fmt.Sprintf("v%d partition", v), p.ErrorCode, kerr.NotCoordinator)
				if p.Offset != -1 {
					t.Fatalf("v%d: offset %d", v, p.Offset)
				}
			}
		case v < 8:
			wantErr(t, fmt.Sprintf("v%d", v), r.ErrorCode, kerr.NotCoordinator)
			if len(r.Topics) != 0 {
				t.Fatalf("v%d: topics with a group error", v)
			}
		default:
			if len(r.Groups) != 1 {
				t.Fatalf("v%d: %d groups", v, len(r.Groups))
			}
			wantErr(t, fmt.Sprintf("v%d", v), r.Groups[0].ErrorCode, kerr.NotCoordinator)
		}
	}
}

func TestDescribeGroupsEveryVersion(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("g", "client", "t").static("inst")
	h.formGroup([]*tm{m}, map[string][]byte{"client": []byte("A")})
	for v := int16(0); v <= 6; v++ {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Version = v
		req.Groups = []string{"g", "nope"}
		req.IncludeAuthorizedOperations = true
		r := roundTrip(t, h.c.DescribeGroups(context.Background(), wire(t, req)))
		if len(r.Groups) != 2 {
			t.Fatalf("v%d: %d groups", v, len(r.Groups))
		}
		g := r.Groups[0]
		if g.ErrorCode != 0 || g.State != "Stable" || g.Protocol != "range" || g.ProtocolType != "consumer" || len(g.Members) != 1 {
			t.Fatalf("v%d: %+v", v, g)
		}
		gm := g.Members[0]
		if gm.MemberID != m.id || gm.ClientID != "client" || gm.ClientHost != "/127.0.0.1" || string(gm.MemberAssignment) != "A" ||
			string(gm.ProtocolMetadata) != string(m.protocols[0].Metadata) {
			t.Fatalf("v%d: member %+v", v, gm)
		}
		if (gm.InstanceID != nil) != (v >= 4) {
			t.Fatalf("v%d: instance id %v", v, gm.InstanceID)
		}
		if v >= 3 && g.AuthorizedOperations != math.MinInt32 {
			t.Fatalf("v%d: authorized operations %d", v, g.AuthorizedOperations)
		}
		unknown := r.Groups[1]
		if unknown.State != "Dead" || len(unknown.Members) != 0 {
			t.Fatalf("v%d: unknown group %+v", v, unknown)
		}
		if v >= 6 {
			if unknown.ErrorCode != kerr.GroupIDNotFound.Code || unknown.ErrorMessage == nil {
				t.Fatalf("v%d: unknown group error %s message %v", v, errName(unknown.ErrorCode), unknown.ErrorMessage)
			}
		} else if unknown.ErrorCode != 0 {
			t.Fatalf("v%d: unknown group error %s, want none", v, errName(unknown.ErrorCode))
		}
	}
}

func TestDescribeGroupsHidesAssignmentsOutsideStable(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, map[string][]byte{"a": []byte("A"), "b": []byte("B")})
	a.joinAsync()
	h.waitAwaitingJoin("g", 1)
	d := h.describe("g")
	if d.State != "PreparingRebalance" || d.Protocol != "" || len(d.Members) != 2 {
		t.Fatalf("%+v", d)
	}
	for _, m := range d.Members {
		if len(m.MemberAssignment) != 0 || len(m.ProtocolMetadata) != 0 {
			t.Fatalf("member data outside Stable: %+v", m)
		}
	}
}

func TestListGroupsEveryVersionAndFilters(t *testing.T) {
	h := newHarness(t, nil)
	m := h.member("active", "c", "t")
	h.formGroup([]*tm{m}, nil)
	wantErr(t, "commit", h.commit("solo", -1, "", nil, "t", 0, 1), nil)
	for v := int16(0); v <= 5; v++ {
		for _, tc := range []struct {
			states, types []string
			want          string
		}{
			{nil, nil, "active(consumer,Stable) solo(,Empty) "},
			{[]string{"STABLE"}, nil, "active(consumer,Stable) "},
			{[]string{"empty", "dead"}, nil, "solo(,Empty) "},
			{nil, []string{"consumer"}, ""},
			{nil, []string{"Classic"}, "active(consumer,Stable) solo(,Empty) "},
		} {
			req := kmsg.NewPtrListGroupsRequest()
			req.Version = v
			req.StatesFilter, req.TypesFilter = tc.states, tc.types
			wreq := wire(t, req)
			want := tc.want
			if len(wreq.StatesFilter) != len(tc.states) || len(wreq.TypesFilter) != len(tc.types) {
				// This version cannot carry the filter.
				want = "active(consumer,Stable) solo(,Empty) "
			}
			r := roundTrip(t, h.c.ListGroups(context.Background(), wreq))
			got := ""
			for _, g := range r.Groups {
				got += g.Group + "(" + g.ProtocolType + "," + g.GroupState + ") "
				if v >= 5 && g.GroupType != "classic" {
					t.Fatalf("v%d: group type %q", v, g.GroupType)
				}
			}
			if v < 4 {
				want = stripStates(want)
			}
			if r.ErrorCode != 0 || got != want {
				t.Fatalf("v%d states %v types %v:\n got %q\nwant %q", v, tc.states, tc.types, got, want)
			}
		}
	}
}

// stripStates empties the state column, which responses before v4 lack.
func stripStates(s string) string {
	return regexp.MustCompile(`,[^)]*\)`).ReplaceAllString(s, ",)")
}

func TestDeleteGroupsEveryVersion(t *testing.T) {
	h := newHarness(t, nil)
	for v := int16(0); v <= 3; v++ {
		solo := fmt.Sprintf("solo-%d", v)
		wantErr(t, "commit", h.commit(solo, -1, "", nil, "t", 0, 1), nil)
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Version = v
		req.Groups = []string{solo, "missing"}
		r := roundTrip(t, h.c.DeleteGroups(context.Background(), wire(t, req)))
		if len(r.Groups) != 2 || r.Groups[0].ErrorCode != 0 || r.Groups[1].ErrorCode != kerr.GroupIDNotFound.Code {
			t.Fatalf("v%d: %+v", v, r.Groups)
		}
		if (r.Groups[1].ErrorMessage != nil) != (v >= 3) || r.Groups[0].ErrorMessage != nil {
			t.Fatalf("v%d: error messages %v %v", v, r.Groups[0].ErrorMessage, r.Groups[1].ErrorMessage)
		}
	}
}

func TestOffsetDeleteV0(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Topics = testTopics })
	wantErr(t, "commit", h.commit("solo", -1, "", nil, "t", 0, 1), nil)
	wantErr(t, "commit", h.commit("solo", -1, "", nil, "t", 1, 1), nil)
	req := kmsg.NewPtrOffsetDeleteRequest()
	req.Group = "solo"
	rt := kmsg.NewOffsetDeleteRequestTopic()
	rt.Topic = "t"
	for _, p := range []int32{0, 9} {
		rp := kmsg.NewOffsetDeleteRequestTopicPartition()
		rp.Partition = p
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = []kmsg.OffsetDeleteRequestTopic{rt}
	r := roundTrip(t, h.c.OffsetDelete(context.Background(), wire(t, req)))
	if r.ErrorCode != 0 || len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 2 {
		t.Fatalf("%+v", r)
	}
	wantErr(t, "existing partition", r.Topics[0].Partitions[0].ErrorCode, nil)
	wantErr(t, "missing partition", r.Topics[0].Partitions[1].ErrorCode, kerr.UnknownTopicOrPartition)
	if h.fetched("solo", "t", 0) != -1 || h.fetched("solo", "t", 1) != 1 {
		t.Fatal("wrong offsets deleted")
	}
	req.Group = ""
	wantErr(t, "empty group id", h.c.OffsetDelete(context.Background(), req).ErrorCode, kerr.InvalidGroupID)
}
