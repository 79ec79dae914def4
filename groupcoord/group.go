package groupcoord

import (
	"bytes"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupState is Kafka's classic group state machine:
//
//	Empty → PreparingRebalance      a member joins
//	PreparingRebalance → CompletingRebalance   every member rejoined, or the rebalance timeout passed
//	PreparingRebalance → Empty      nobody is left when the join completes
//	CompletingRebalance → Stable    the leader's assignment is stored
//	CompletingRebalance|Stable → PreparingRebalance   join with new metadata, leave, session expiry
//	any → Dead                      deleted, expired, or unloaded
type groupState int8

const (
	stateEmpty groupState = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

// String is the state name Kafka reports in DescribeGroups and ListGroups.
func (s groupState) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	default:
		return "Dead"
	}
}

const (
	// consumerProtocolType is the protocol type of Kafka consumers; groups
	// of this type have their subscriptions parsed (OffsetDelete, expiry).
	consumerProtocolType = "consumer"
	// newMemberJoinTimeout bounds how long a brand-new member may wait in
	// a rebalance: its socket is muted while it waits, so a client that
	// gave up and retried would otherwise leave a defunct member behind
	// (Kafka's NewMemberJoinTimeoutMs).
	newMemberJoinTimeout = 5 * time.Minute
)

type protocol struct {
	name     string
	metadata []byte
}

// joinResult is what a parked JoinGroup is answered with.
type joinResult struct {
	members        []kmsg.JoinGroupResponseMember
	memberID       string
	generation     int32
	protocolType   *string
	protocolName   *string
	leader         string
	skipAssignment bool
	err            *kerr.Error
}

func joinError(memberID string, err *kerr.Error) joinResult {
	return joinResult{memberID: memberID, generation: -1, err: err}
}

// syncResult is what a parked SyncGroup is answered with.
type syncResult struct {
	protocolType *string
	protocolName *string
	assignment   []byte
	err          *kerr.Error
}

// timerRef identifies one scheduled timer; a callback whose ref is no
// longer the current one is stale and does nothing.
type timerRef struct{ t Timer }

func (r *timerRef) stop() {
	if r != nil && r.t != nil {
		r.t.Stop()
	}
}

type member struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	rebalanceTimeout int32 // ms
	sessionTimeout   int32 // ms
	protocolType     string
	protocols        []protocol
	assignment       []byte
	// joinWaiters / syncWaiters are the parked JoinGroup / SyncGroup calls
	// of this member. Kafka keeps one callback and overwrites it on a
	// duplicate request; keeping all and answering all alike means no
	// caller is left blocked.
	joinWaiters []func(joinResult)
	syncWaiters []func(syncResult)
	// isNew: joined during the current rebalance and not yet given a
	// generation; such a member may expire while it waits.
	isNew     bool
	joinOrder uint64
	heartbeat *timerRef
}

func (m *member) awaitingJoin() bool { return len(m.joinWaiters) > 0 }
func (m *member) awaitingSync() bool { return len(m.syncWaiters) > 0 }

func (m *member) isStatic() bool { return m.instanceID != nil }

func (m *member) metadata(name string) []byte {
	for _, p := range m.protocols {
		if p.name == name {
			return p.metadata
		}
	}
	return nil
}

// matches reports whether the member rejoined with the same protocols, in
// the same order, with the same metadata.
func (m *member) matches(protocols []protocol) bool {
	if len(protocols) != len(m.protocols) {
		return false
	}
	for i := range protocols {
		if protocols[i].name != m.protocols[i].name || !bytes.Equal(protocols[i].metadata, m.protocols[i].metadata) {
			return false
		}
	}
	return true
}

// vote is the member's most preferred protocol among the candidates.
func (m *member) vote(candidates map[string]bool) string {
	for _, p := range m.protocols {
		if candidates[p.name] {
			return p.name
		}
	}
	return ""
}

// invokeJoin answers every parked JoinGroup of the member.
func (m *member) invokeJoin(r joinResult) bool {
	if len(m.joinWaiters) == 0 {
		return false
	}
	ws := m.joinWaiters
	m.joinWaiters = nil
	for _, w := range ws {
		w(r)
	}
	return true
}

// invokeSync answers every parked SyncGroup of the member.
func (m *member) invokeSync(r syncResult) bool {
	if len(m.syncWaiters) == 0 {
		return false
	}
	ws := m.syncWaiters
	m.syncWaiters = nil
	for _, w := range ws {
		w(r)
	}
	return true
}

type group struct {
	id string
	ps *partitionState

	mu sync.Mutex // guards everything below

	state        groupState
	stateTime    int64 // ms of the last transition; -1 when loaded from a record without it
	protocolType string
	protocolName *string
	generation   int32
	leader       string // "" none

	members map[string]*member
	static  map[string]string    // group.instance.id → member id
	pending map[string]*timerRef // KIP-394 member ids handed out, not yet joined
	votes   map[string]int       // protocol name → members supporting it
	// pendingSync are the members of the new generation that have not sent
	// SyncGroup yet; they are removed if they do not within the rebalance
	// timeout.
	pendingSync map[string]bool
	// subscribed is the union of the consumer members' subscriptions, nil
	// when unknown (not a consumer group, or unparsable metadata).
	subscribed     map[string]bool
	newMemberAdded bool
	joinCounter    uint64

	join          *timerRef // the delayed join of a PreparingRebalance group
	initialJoin   bool      // the delayed join is Kafka's InitialDelayedJoin
	initDelay     time.Duration
	initRemaining time.Duration
	sync          *timerRef // the delayed sync of a CompletingRebalance/Stable group
	// storingGeneration is the generation whose leader assignment is being
	// appended, -1 when none: a repeated leader SyncGroup waits for that
	// append instead of racing it with a second one.
	storingGeneration int32

	offsets map[topicPartition]offsetEntry
	// pendingTxn are the offsets of TxnOffsetCommits by producer ID,
	// written but not committed: their transaction's marker decides
	// (completeTxn). OffsetFetch does not return them.
	pendingTxn map[int64]map[topicPartition]offsetEntry

	// metaSeq numbers group-metadata snapshots; metaWritten is the newest
	// one appended, so an older snapshot that lost the race for the
	// writer lock is not appended after a newer one.
	metaSeq     uint64
	metaWritten uint64

	// deferred work decided under mu that must run after it is released
	// (appends). Run by unlock.
	deferred []func()
}

func newGroup(id string, ps *partitionState, now time.Time) *group {
	return &group{
		id:          id,
		ps:          ps,
		state:       stateEmpty,
		stateTime:   now.UnixMilli(),
		members:     make(map[string]*member),
		static:      make(map[string]string),
		pending:     make(map[string]*timerRef),
		votes:       make(map[string]int),
		pendingSync: make(map[string]bool),
		offsets:     make(map[topicPartition]offsetEntry),
		pendingTxn:  make(map[int64]map[topicPartition]offsetEntry),

		storingGeneration: -1,
	}
}

// unlock releases mu and then runs the work deferred while it was held.
func (g *group) unlock() {
	d := g.deferred
	g.deferred = nil
	g.mu.Unlock()
	for _, f := range d {
		f()
	}
}

func (g *group) afterUnlock(f func()) { g.deferred = append(g.deferred, f) }

func (g *group) is(s groupState) bool { return g.state == s }

// sortedMembers lists members in join order, so responses are stable.
func (g *group) sortedMembers() []*member {
	list := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].joinOrder < list[j].joinOrder })
	return list
}

func (g *group) isLeader(id string) bool { return g.leader != "" && g.leader == id }

func (g *group) numAwaitingJoin() int {
	n := 0
	for _, m := range g.members {
		if m.awaitingJoin() {
			n++
		}
	}
	return n
}

func (g *group) hasAllMembersJoined() bool {
	return len(g.members) == g.numAwaitingJoin() && len(g.pending) == 0
}

// rebalanceTimeout is the largest rebalance timeout of the members.
func (g *group) rebalanceTimeout() time.Duration {
	var max int32
	for _, m := range g.members {
		if m.rebalanceTimeout > max {
			max = m.rebalanceTimeout
		}
	}
	return time.Duration(max) * time.Millisecond
}

func protocolNames(ps []protocol) []string {
	seen := make(map[string]bool, len(ps))
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		if !seen[p.name] {
			seen[p.name] = true
			names = append(names, p.name)
		}
	}
	return names
}

func (g *group) addVotes(m *member, delta int) {
	for _, name := range protocolNames(m.protocols) {
		g.votes[name] += delta
		if g.votes[name] == 0 {
			delete(g.votes, name)
		}
	}
}

// supportsProtocols reports whether a member with this protocol type and
// these protocols may join: any non-empty offer for an empty group,
// otherwise the group's type and at least one protocol every current
// member supports.
func (g *group) supportsProtocols(protocolType string, protocols []protocol) bool {
	names := protocolNames(protocols)
	if g.is(stateEmpty) {
		return protocolType != "" && len(names) > 0
	}
	if g.protocolType != protocolType {
		return false
	}
	for _, n := range names {
		if g.votes[n] == len(g.members) {
			return true
		}
	}
	return false
}

// selectProtocol picks, among the protocols every member supports, the one
// most members prefer (each votes for its first supported candidate).
// Kafka breaks ties arbitrarily; here the candidate voted for first, in
// join order, wins.
func (g *group) selectProtocol() string {
	candidates := make(map[string]bool)
	for name, n := range g.votes {
		if n == len(g.members) {
			candidates[name] = true
		}
	}
	counts := make(map[string]int)
	var order []string
	for _, m := range g.sortedMembers() {
		v := m.vote(candidates)
		if _, seen := counts[v]; !seen {
			order = append(order, v)
		}
		counts[v]++
	}
	best := ""
	for _, name := range order {
		if best == "" || counts[name] > counts[best] {
			best = name
		}
	}
	return best
}

// currentMemberMetadata is the member list the leader gets in its
// JoinGroup response: every member with its metadata for the chosen
// protocol.
func (g *group) currentMemberMetadata() []kmsg.JoinGroupResponseMember {
	var name string
	if g.protocolName != nil {
		name = *g.protocolName
	}
	members := g.sortedMembers()
	out := make([]kmsg.JoinGroupResponseMember, 0, len(members))
	for _, m := range members {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		jm.InstanceID = m.instanceID
		jm.ProtocolMetadata = m.metadata(name)
		out = append(out, jm)
	}
	return out
}

// computeSubscribed is the union of the consumer members' subscribed
// topics; nil when it cannot be known. A consumer group with no members is
// subscribed to nothing.
func (g *group) computeSubscribed() map[string]bool {
	if g.protocolType != consumerProtocolType {
		return nil
	}
	if len(g.members) == 0 {
		return map[string]bool{}
	}
	if g.protocolName == nil {
		return nil
	}
	out := make(map[string]bool)
	for _, m := range g.members {
		topics, ok := subscribedTopicsOf(m.metadata(*g.protocolName))
		if !ok {
			return nil
		}
		for _, t := range topics {
			out[t] = true
		}
	}
	return out
}

// isSubscribedTo reports whether the group consumes topic; true when that
// is unknown, to be safe.
func (g *group) isSubscribedTo(topic string) bool {
	if g.subscribed == nil {
		return true
	}
	return g.subscribed[topic]
}

func (g *group) protocolTypePtr() *string {
	if g.protocolType == "" {
		return nil
	}
	return strPtr(g.protocolType)
}
