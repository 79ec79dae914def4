package groupcoord

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeClock is a Clock whose time moves only with Advance, which runs the
// timers that fall due, in order, on the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
	seq    int
}

type fakeTimer struct {
	c       *fakeClock
	when    time.Time
	seq     int
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped || t.fired {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves time forward by d, firing every timer due by then.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if t.stopped || t.fired || t.when.After(target) {
				continue
			}
			if next == nil || t.when.Before(next.when) || (t.when.Equal(next.when) && t.seq < next.seq) {
				next = t
			}
		}
		if next == nil {
			c.now = target
			live := c.timers[:0]
			for _, t := range c.timers {
				if !t.stopped && !t.fired {
					live = append(live, t)
				}
			}
			c.timers = live
			c.mu.Unlock()
			return
		}
		next.fired = true
		if next.when.After(c.now) {
			c.now = next.when
		}
		c.mu.Unlock()
		next.f()
	}
}

// pending counts the timers that have not fired or been stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			n++
		}
	}
	return n
}

// checkFor polls fn until it succeeds or wait passes.
func checkFor(t *testing.T, wait time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", wait, err)
		}
		time.Sleep(time.Millisecond)
	}
}

type harness struct {
	t       *testing.T
	c       *Coordinator
	clock   *fakeClock
	journal *MemoryJournal
	cfg     Config
}

const testPartitions = 3

func testConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.OffsetsTopicNumPartitions = testPartitions
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	return cfg
}

// newHarness builds a coordinator on a fake clock and an in-memory journal
// with every partition loaded. mutate may adjust the config.
func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	return newHarnessOn(t, NewMemoryJournal(), newFakeClock(), mutate)
}

func newHarnessOn(t *testing.T, j *MemoryJournal, clock *fakeClock, mutate func(*Config)) *harness {
	t.Helper()
	cfg := testConfig(t)
	cfg.Clock = clock
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg, j)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	h := &harness{t: t, c: c, clock: clock, journal: j, cfg: cfg}
	for p := int32(0); p < cfg.OffsetsTopicNumPartitions; p++ {
		h.load(p)
	}
	return h
}

// owns reports whether the coordinator leads partition p of
// __consumer_offsets, and whether it is still replaying it.
func (c *Coordinator) owns(p int32) (owned, loading bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.partitions[p]
	if ps == nil {
		return false, false
	}
	return true, !ps.loaded
}

func (h *harness) load(p int32) {
	h.t.Helper()
	h.c.Load(p)
	checkFor(h.t, 5*time.Second, func() error {
		if owned, loading := h.c.owns(p); !owned || loading {
			return errString("partition still loading")
		}
		return nil
	})
}

type errString string

func (e errString) Error() string { return string(e) }

// group returns the coordinator's group, or nil.
func (h *harness) group(id string) *group {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	return h.c.groups[id]
}

// inspect runs fn under the group's lock.
func (h *harness) inspect(id string, fn func(g *group)) {
	h.t.Helper()
	g := h.group(id)
	if g == nil {
		h.t.Fatalf("no group %q", id)
	}
	g.mu.Lock()
	defer g.unlock()
	fn(g)
}

func (h *harness) state(id string) string {
	g := h.group(id)
	if g == nil {
		return "<none>"
	}
	g.mu.Lock()
	defer g.unlock()
	return g.state.String()
}

// waitAwaitingJoin waits until n members of the group have a parked
// JoinGroup.
func (h *harness) waitAwaitingJoin(id string, n int) {
	h.t.Helper()
	checkFor(h.t, 5*time.Second, func() error {
		g := h.group(id)
		if g == nil {
			return errString("no group")
		}
		g.mu.Lock()
		defer g.unlock()
		if got := g.numAwaitingJoin(); got != n {
			return errString("awaiting join: " + itoa(got))
		}
		return nil
	})
}

// waitAwaitingSync waits until n members have a parked SyncGroup.
func (h *harness) waitAwaitingSync(id string, n int) {
	h.t.Helper()
	checkFor(h.t, 5*time.Second, func() error {
		g := h.group(id)
		if g == nil {
			return errString("no group")
		}
		g.mu.Lock()
		defer g.unlock()
		got := 0
		for _, m := range g.members {
			if m.awaitingSync() {
				got++
			}
		}
		if got != n {
			return errString("awaiting sync: " + itoa(got))
		}
		return nil
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func consumerMetadata(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Version = 0
	m.Topics = topics
	return m.AppendTo(nil)
}

// assignmentOf encodes a consumer assignment of topic → partitions.
func assignmentOf(parts map[string][]int32) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	var topics []string
	for t := range parts {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		at := kmsg.NewConsumerMemberAssignmentTopic()
		at.Topic, at.Partitions = t, parts[t]
		a.Topics = append(a.Topics, at)
	}
	return a.AppendTo(nil)
}

// tm is a simulated group member, as a client drives the protocol.
type tm struct {
	h          *harness
	group      string
	clientID   string
	id         string
	instanceID *string
	generation int32
	leader     string
	protocol   string
	version    int16 // JoinGroup version
	session    int32
	rebalance  int32
	protocols  []kmsg.JoinGroupRequestProtocol
}

func (h *harness) member(group, clientID string, topics ...string) *tm {
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", consumerMetadata(topics...)
	return &tm{h: h, group: group, clientID: clientID, generation: -1, version: 9,
		session: 10000, rebalance: 30000, protocols: []kmsg.JoinGroupRequestProtocol{p}}
}

func (m *tm) static(instanceID string) *tm {
	m.instanceID = &instanceID
	return m
}

func (m *tm) ctx() context.Context {
	return WithClient(context.Background(), m.clientID, "/127.0.0.1")
}

func (m *tm) joinRequest() *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = m.version
	req.Group, req.MemberID, req.InstanceID = m.group, m.id, m.instanceID
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = m.session, m.rebalance
	req.ProtocolType = "consumer"
	req.Protocols = m.protocols
	return req
}

// joinAsync sends a JoinGroup (after the KIP-394 round if the member has
// no id yet and needs one) and returns the pending answer.
func (m *tm) joinAsync() <-chan *kmsg.JoinGroupResponse {
	m.h.t.Helper()
	if m.id == "" && m.instanceID == nil && m.version >= 4 {
		resp := m.h.c.JoinGroup(m.ctx(), m.joinRequest())
		if resp.ErrorCode != kerr.MemberIDRequired.Code {
			m.h.t.Fatalf("first join: error %v, want MEMBER_ID_REQUIRED", kerr.ErrorForCode(resp.ErrorCode))
		}
		m.id = resp.MemberID
	}
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	req := m.joinRequest()
	go func() { ch <- m.h.c.JoinGroup(m.ctx(), req) }()
	return ch
}

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("no response within 5s")
		panic("unreachable")
	}
}

// parked reports that ch has not been answered (after a moment).
func parked[T any](t *testing.T, ch <-chan T) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("answered while it should still wait: %+v", v)
	case <-time.After(20 * time.Millisecond):
	}
}

// applyJoin records what a JoinGroup answer tells the member.
func (m *tm) applyJoin(resp *kmsg.JoinGroupResponse) *kmsg.JoinGroupResponse {
	m.h.t.Helper()
	if resp.ErrorCode != 0 {
		m.h.t.Fatalf("%s join: %v", m.clientID, kerr.ErrorForCode(resp.ErrorCode))
	}
	m.id, m.generation, m.leader = resp.MemberID, resp.Generation, resp.LeaderID
	if resp.Protocol != nil {
		m.protocol = *resp.Protocol
	}
	return resp
}

func (m *tm) isLeader() bool { return m.id == m.leader }

func (m *tm) syncRequest(assignments map[string][]byte) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group, req.Generation, req.MemberID, req.InstanceID = m.group, m.generation, m.id, m.instanceID
	req.ProtocolType, req.Protocol = strPtr("consumer"), strPtr(m.protocol)
	ids := make([]string, 0, len(assignments))
	for id := range assignments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		a := kmsg.NewSyncGroupRequestGroupAssignment()
		a.MemberID, a.MemberAssignment = id, assignments[id]
		req.GroupAssignment = append(req.GroupAssignment, a)
	}
	return req
}

func (m *tm) syncAsync(assignments map[string][]byte) <-chan *kmsg.SyncGroupResponse {
	ch := make(chan *kmsg.SyncGroupResponse, 1)
	req := m.syncRequest(assignments)
	go func() { ch <- m.h.c.SyncGroup(context.Background(), req) }()
	return ch
}

func (m *tm) heartbeat() int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group, req.Generation, req.MemberID, req.InstanceID = m.group, m.generation, m.id, m.instanceID
	return m.h.c.Heartbeat(context.Background(), req).ErrorCode
}

func (m *tm) leave() int16 {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 5
	req.Group = m.group
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID, lm.InstanceID = m.id, m.instanceID
	req.Members = []kmsg.LeaveGroupRequestMember{lm}
	resp := m.h.c.LeaveGroup(context.Background(), req)
	if resp.ErrorCode != 0 {
		return resp.ErrorCode
	}
	return resp.Members[0].ErrorCode
}

// commit commits one offset as this member (OffsetCommit v8).
func (m *tm) commit(topic string, partition int32, offset int64) int16 {
	return m.h.commit(m.group, m.generation, m.id, m.instanceID, topic, partition, offset)
}

func (h *harness) commit(group string, generation int32, memberID string, instanceID *string, topic string, partition int32, offset int64) int16 {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group, req.Generation, req.MemberID, req.InstanceID = group, generation, memberID, instanceID
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = topic
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.Metadata = partition, offset, strPtr("meta")
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	return h.c.OffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode
}

// fetched returns the committed offset of one partition (OffsetFetch v7).
func (h *harness) fetched(group, topic string, partition int32) int64 {
	h.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 7
	req.Group = group
	t := kmsg.NewOffsetFetchRequestTopic()
	t.Topic, t.Partitions = topic, []int32{partition}
	req.Topics = []kmsg.OffsetFetchRequestTopic{t}
	resp := h.c.OffsetFetch(context.Background(), req)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("offset fetch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		h.t.Fatalf("offset fetch partition: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	return p.Offset
}

func (h *harness) describe(id string) kmsg.DescribeGroupsResponseGroup {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Version = 5
	req.Groups = []string{id}
	return h.c.DescribeGroups(context.Background(), req).Groups[0]
}

// formGroup takes the members through a first rebalance: they all join
// within the initial delay (the first one leads), the leader assigns each member the partitions
// in assign (by client id), everyone syncs. It returns the members in the
// given order, Stable at generation 1.
func (h *harness) formGroup(members []*tm, assign map[string][]byte) {
	h.t.Helper()
	chans := make([]<-chan *kmsg.JoinGroupResponse, len(members))
	for i, m := range members {
		// One at a time, so the first member leads.
		chans[i] = m.joinAsync()
		h.waitAwaitingJoin(m.group, i+1)
	}
	// Joins during the initial delay extend it: advance until it ends.
	for i := 0; i < 20 && h.state(members[0].group) == "PreparingRebalance"; i++ {
		h.clock.Advance(h.cfg.GroupInitialRebalanceDelay)
	}
	for i, m := range members {
		m.applyJoin(recv(h.t, chans[i]))
	}
	h.syncAll(members, assign)
}

// syncAll sends SyncGroup for every member, the leader last with the
// assignment (keyed by client id), and checks each gets its own.
func (h *harness) syncAll(members []*tm, assign map[string][]byte) {
	h.t.Helper()
	var leader *tm
	byMember := make(map[string][]byte)
	var followers []*tm
	var fchans []<-chan *kmsg.SyncGroupResponse
	for _, m := range members {
		byMember[m.id] = assign[m.clientID]
		if m.isLeader() {
			leader = m
			continue
		}
		followers = append(followers, m)
		fchans = append(fchans, m.syncAsync(nil))
	}
	if leader == nil {
		h.t.Fatal("no leader among the members")
	}
	h.waitAwaitingSync(members[0].group, len(followers))
	lresp := recv(h.t, leader.syncAsync(byMember))
	if lresp.ErrorCode != 0 || string(lresp.MemberAssignment) != string(assign[leader.clientID]) {
		h.t.Fatalf("leader sync: error %v, assignment %x", kerr.ErrorForCode(lresp.ErrorCode), lresp.MemberAssignment)
	}
	for i, f := range followers {
		r := recv(h.t, fchans[i])
		if r.ErrorCode != 0 || string(r.MemberAssignment) != string(assign[f.clientID]) {
			h.t.Fatalf("%s sync: error %v, assignment %x", f.clientID, kerr.ErrorForCode(r.ErrorCode), r.MemberAssignment)
		}
	}
}

// roundTrip encodes a response as the wire would and decodes it again, so
// tests see what a client of that version sees.
func roundTrip[R kmsg.Response](t *testing.T, resp R) R {
	t.Helper()
	raw := resp.AppendTo(nil)
	out := resp.RequestKind().ResponseKind().(R)
	if err := out.ReadFrom(raw); err != nil {
		t.Fatalf("decode %s v%d: %v", kmsg.NameForKey(resp.Key()), resp.GetVersion(), err)
	}
	return out
}

func errName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	return kerr.ErrorForCode(code).(*kerr.Error).Message
}

func wantErr(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	if got != errCode(want) {
		var w int16
		if want != nil {
			w = want.Code
		}
		t.Fatalf("%s: got %s, want %s", what, errName(got), errName(w))
	}
}
