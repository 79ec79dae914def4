package groupcoord

// The rebalance machinery shared by the group APIs: membership changes,
// Kafka's delayed operations (DelayedJoin, InitialDelayedJoin, DelayedSync,
// DelayedHeartbeat) as timers, and the propagation of join and sync
// results. Every function here runs with g.mu held.

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func (c *Coordinator) transition(g *group, s groupState) {
	g.state = s
	g.stateTime = c.clock.Now().UnixMilli()
}

func ms(n int32) time.Duration { return time.Duration(n) * time.Millisecond }

// addMember adds a member that joined (its parked JoinGroup, if any, in
// waiter).
func (c *Coordinator) addMember(g *group, m *member, waiter func(joinResult)) {
	if m.instanceID != nil {
		g.static[*m.instanceID] = m.id
	}
	if len(g.members) == 0 {
		g.protocolType = m.protocolType
	}
	if g.leader == "" {
		g.leader = m.id
	}
	g.joinCounter++
	m.joinOrder = g.joinCounter
	g.members[m.id] = m
	g.addVotes(m, 1)
	if waiter != nil {
		m.joinWaiters = append(m.joinWaiters, waiter)
	}
	if p := g.pending[m.id]; p != nil {
		p.stop()
		delete(g.pending, m.id)
	}
}

// removeMember takes a member out of the group without triggering
// anything; a new leader is picked if it led. Calls it still had parked are
// answered UNKNOWN_MEMBER_ID so no caller stays blocked.
func (c *Coordinator) removeMember(g *group, id string) {
	if m := g.members[id]; m != nil {
		g.addVotes(m, -1)
		if m.instanceID != nil && g.static[*m.instanceID] == id {
			delete(g.static, *m.instanceID)
		}
		m.heartbeat.stop()
		m.heartbeat = nil
		delete(g.members, id)
		m.invokeJoin(joinError("", kerr.UnknownMemberID))
		m.invokeSync(syncResult{err: kerr.UnknownMemberID})
	}
	if g.leader == id {
		g.leader = ""
		if rest := g.sortedMembers(); len(rest) > 0 {
			g.leader = rest[0].id
		}
	}
	if p := g.pending[id]; p != nil {
		p.stop()
		delete(g.pending, id)
	}
	delete(g.pendingSync, id)
}

// removeMemberAndUpdateGroup removes a member that left or failed and moves
// the group on: a rebalance if it was Stable or CompletingRebalance, a
// possible join completion if it was rebalancing.
func (c *Coordinator) removeMemberAndUpdateGroup(g *group, m *member, reason string) {
	// A new member may time out while its JoinGroup is parked: answer it
	// so a live client retries.
	m.invokeJoin(joinError("", kerr.UnknownMemberID))
	c.removeMember(g, m.id)
	switch g.state {
	case stateStable, stateCompletingRebalance:
		c.maybePrepareRebalance(g, reason)
	case statePreparingRebalance:
		c.tryCompleteJoin(g)
	}
}

func (c *Coordinator) removePendingMemberAndUpdateGroup(g *group, id string) {
	c.removeMember(g, id)
	if g.is(statePreparingRebalance) {
		c.tryCompleteJoin(g)
	}
}

// updateMember records a known member's new join: its protocols and
// timeouts, and its parked JoinGroup (nil clears the parked calls).
func (c *Coordinator) updateMember(g *group, m *member, protocols []protocol, rebalanceTimeout, sessionTimeout int32, waiter func(joinResult)) {
	g.addVotes(m, -1)
	m.protocols = protocols
	g.addVotes(m, 1)
	m.rebalanceTimeout = rebalanceTimeout
	m.sessionTimeout = sessionTimeout
	if waiter == nil {
		m.joinWaiters = nil
	} else {
		m.joinWaiters = append(m.joinWaiters, waiter)
	}
}

// replaceStaticMember gives a static member a new member id, keeping
// everything else; calls parked under the old id are fenced.
func (c *Coordinator) replaceStaticMember(g *group, instanceID, oldID, newID string) *member {
	m := g.members[oldID]
	m.invokeJoin(joinError(oldID, kerr.FencedInstanceID))
	m.invokeSync(syncResult{err: kerr.FencedInstanceID})
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	if g.leader == oldID {
		g.leader = newID
	}
	if g.pendingSync[oldID] {
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = true
	}
	g.static[instanceID] = newID
	return m
}

// scheduleHeartbeat (re)starts a member's expiry timer: its session
// timeout, or newMemberJoinTimeout for a member waiting in its first join.
func (c *Coordinator) scheduleHeartbeat(g *group, m *member, timeout time.Duration) {
	m.heartbeat.stop()
	ref := &timerRef{}
	m.heartbeat = ref
	ref.t = c.clock.AfterFunc(timeout, func() { c.onHeartbeatExpired(g, m, ref) })
}

func (c *Coordinator) onHeartbeatExpired(g *group, m *member, ref *timerRef) {
	g.mu.Lock()
	defer g.unlock()
	if g.is(stateDead) || m.heartbeat != ref || g.members[m.id] != m {
		return
	}
	m.heartbeat = nil
	// Members parked in a rebalance count as alive (their socket is busy
	// with the JoinGroup or SyncGroup); only a brand-new one may expire.
	if !m.isNew && (m.awaitingJoin() || m.awaitingSync()) {
		return
	}
	c.log.Info().Str("group", g.id).Str("member", m.id).Msg("member session expired, removing it from the group")
	c.removeMemberAndUpdateGroup(g, m, "removing member "+m.id+" on heartbeat expiration")
}

// addPendingMember records a member id handed out with MEMBER_ID_REQUIRED
// (KIP-394); it expires after the session timeout unless the member joins
// with it.
func (c *Coordinator) addPendingMember(g *group, id string, sessionTimeout time.Duration) {
	ref := &timerRef{}
	g.pending[id] = ref
	ref.t = c.clock.AfterFunc(sessionTimeout, func() {
		g.mu.Lock()
		defer g.unlock()
		if g.is(stateDead) || g.pending[id] != ref {
			return
		}
		c.log.Info().Str("group", g.id).Str("member", id).Msg("pending member expired")
		c.removePendingMemberAndUpdateGroup(g, id)
	})
}

func (c *Coordinator) maybePrepareRebalance(g *group, reason string) {
	switch g.state {
	case stateStable, stateCompletingRebalance, stateEmpty:
		c.prepareRebalance(g, reason)
	}
}

// prepareRebalance starts a rebalance: members awaiting an assignment are
// told REBALANCE_IN_PROGRESS, and the join waits for every member or the
// rebalance timeout. An Empty group's first join instead waits
// group.initial.rebalance.delay.ms, extended while members keep arriving
// (Kafka's InitialDelayedJoin).
func (c *Coordinator) prepareRebalance(g *group, reason string) {
	if g.is(stateCompletingRebalance) {
		c.resetAndPropagateAssignmentError(g, kerr.RebalanceInProgress)
	}
	c.clearPendingSync(g)
	wasEmpty := g.is(stateEmpty)
	c.transition(g, statePreparingRebalance)
	c.log.Info().Str("group", g.id).Int32("generation", g.generation).Str("reason", reason).Msg("preparing to rebalance")
	rebalanceTimeout := g.rebalanceTimeout()
	if delay := c.cfg.GroupInitialRebalanceDelay; wasEmpty && delay > 0 {
		remaining := rebalanceTimeout - delay
		if remaining < 0 {
			remaining = 0
		}
		c.scheduleJoin(g, delay, true, remaining)
		return
	}
	c.scheduleJoin(g, rebalanceTimeout, false, 0)
	c.tryCompleteJoin(g)
}

func (c *Coordinator) scheduleJoin(g *group, d time.Duration, initial bool, remaining time.Duration) {
	g.join.stop()
	ref := &timerRef{}
	g.join = ref
	g.initialJoin = initial
	g.initDelay = d
	g.initRemaining = remaining
	ref.t = c.clock.AfterFunc(d, func() { c.onJoinTimer(g, ref) })
}

func (c *Coordinator) onJoinTimer(g *group, ref *timerRef) {
	g.mu.Lock()
	defer g.unlock()
	if g.join != ref || !g.is(statePreparingRebalance) {
		return
	}
	if g.initialJoin && g.newMemberAdded && g.initRemaining != 0 {
		g.newMemberAdded = false
		delay := c.cfg.GroupInitialRebalanceDelay
		if g.initRemaining < delay {
			delay = g.initRemaining
		}
		remaining := g.initRemaining - g.initDelay
		if remaining < 0 {
			remaining = 0
		}
		c.scheduleJoin(g, delay, true, remaining)
		return
	}
	c.completeJoin(g)
}

// tryCompleteJoin completes the join early once every member has rejoined
// and no KIP-394 pending member is outstanding; the initial delayed join
// never completes early.
func (c *Coordinator) tryCompleteJoin(g *group) {
	if g.is(statePreparingRebalance) && g.join != nil && !g.initialJoin && g.hasAllMembersJoined() {
		c.completeJoin(g)
	}
}

func (c *Coordinator) completeJoin(g *group) {
	g.join.stop()
	g.join = nil
	g.initialJoin = false
	c.onCompleteJoin(g)
}

// onCompleteJoin ends the joining phase: dynamic members that did not
// rejoin are dropped (static ones keep their place), a leader among the
// joined is ensured, and the next generation starts. Everyone parked gets
// its JoinGroup answer; the leader gets the member list.
func (c *Coordinator) onCompleteJoin(g *group) {
	for _, m := range g.sortedMembers() {
		if !m.awaitingJoin() && !m.isStatic() {
			c.log.Info().Str("group", g.id).Str("member", m.id).Msg("removing member that did not rejoin before the rebalance timeout")
			c.removeMember(g, m.id)
		}
	}
	if g.is(stateDead) {
		return
	}
	if !c.electJoinedLeader(g) && len(g.members) > 0 {
		// Only static members that have not rejoined are left: wait
		// another rebalance timeout for them.
		c.log.Warn().Str("group", g.id).Msg("could not complete rebalance because no members rejoined")
		c.scheduleJoin(g, g.rebalanceTimeout(), false, 0)
		return
	}
	c.initNextGeneration(g)
	if g.is(stateEmpty) {
		c.log.Info().Str("group", g.id).Int32("generation", g.generation).Msg("group is now empty")
		c.storeGroup(g, nil, func(err *kerr.Error) {
			if err != nil {
				// If the broker fails before another rebalance the previous
				// generation comes back; its members are gone and simply
				// expire, so a warning is all this deserves (as in Kafka).
				c.log.Warn().Str("group", g.id).Str("error", err.Message).Msg("failed to write empty group metadata")
			}
		})
		return
	}
	c.log.Info().Str("group", g.id).Int32("generation", g.generation).Int("members", len(g.members)).
		Str("protocol", *g.protocolName).Msg("stabilized group")
	for _, m := range g.sortedMembers() {
		r := joinResult{
			memberID:     m.id,
			generation:   g.generation,
			protocolType: g.protocolTypePtr(),
			protocolName: g.protocolName,
			leader:       g.leader,
		}
		if g.isLeader(m.id) {
			r.members = g.currentMemberMetadata()
		}
		m.invokeJoin(r)
		c.scheduleHeartbeat(g, m, ms(m.sessionTimeout))
		m.isNew = false
		g.pendingSync[m.id] = true
	}
	c.scheduleSync(g)
}

// electJoinedLeader keeps the leader if it rejoined, else picks a member
// that did; false when there is no leader or nobody rejoined.
func (c *Coordinator) electJoinedLeader(g *group) bool {
	if g.leader == "" {
		return false
	}
	if l := g.members[g.leader]; l != nil && l.awaitingJoin() {
		return true
	}
	for _, m := range g.sortedMembers() {
		if m.awaitingJoin() {
			c.log.Info().Str("group", g.id).Str("old_leader", g.leader).Str("leader", m.id).Msg("leader did not rejoin, electing a new one")
			g.leader = m.id
			return true
		}
	}
	return false
}

func (c *Coordinator) initNextGeneration(g *group) {
	g.generation++
	if len(g.members) > 0 {
		g.protocolName = strPtr(g.selectProtocol())
		g.subscribed = g.computeSubscribed()
		c.transition(g, stateCompletingRebalance)
	} else {
		g.protocolName = nil
		g.subscribed = g.computeSubscribed()
		c.transition(g, stateEmpty)
	}
	c.clearPendingSync(g)
}

// scheduleSync gives the members of the new generation a rebalance timeout
// to send SyncGroup; those that do not are removed and the group
// rebalances (Kafka's DelayedSync).
func (c *Coordinator) scheduleSync(g *group) {
	g.sync.stop()
	ref := &timerRef{}
	g.sync = ref
	generation := g.generation
	ref.t = c.clock.AfterFunc(g.rebalanceTimeout(), func() {
		g.mu.Lock()
		defer g.unlock()
		if g.sync != ref || g.generation != generation {
			return
		}
		g.sync = nil
		if (!g.is(stateCompletingRebalance) && !g.is(stateStable)) || len(g.pendingSync) == 0 {
			return
		}
		var missing []string
		for id := range g.pendingSync {
			missing = append(missing, id)
		}
		for _, id := range missing {
			c.removeMember(g, id)
		}
		c.log.Info().Str("group", g.id).Strs("members", missing).Msg("removed members that did not send SyncGroup in time")
		c.prepareRebalance(g, "removing members on pending sync expiration")
	})
}

func (c *Coordinator) removePendingSync(g *group, id string) {
	delete(g.pendingSync, id)
	if len(g.pendingSync) == 0 {
		g.sync.stop()
		g.sync = nil
	}
}

func (c *Coordinator) clearPendingSync(g *group) {
	g.pendingSync = make(map[string]bool)
	g.sync.stop()
	g.sync = nil
}

func (c *Coordinator) resetAndPropagateAssignmentError(g *group, err *kerr.Error) {
	for _, m := range g.members {
		m.assignment = nil
	}
	c.propagateAssignment(g, err)
}

func (c *Coordinator) setAndPropagateAssignment(g *group, assignment map[string][]byte) {
	for id, m := range g.members {
		m.assignment = assignment[id]
	}
	c.propagateAssignment(g, nil)
}

// propagateAssignment answers the parked SyncGroups; a member answered
// gets a fresh session deadline (its expiry was ignored while it waited).
func (c *Coordinator) propagateAssignment(g *group, err *kerr.Error) {
	r := syncResult{err: err}
	if err == nil {
		r.protocolType, r.protocolName = g.protocolTypePtr(), g.protocolName
	}
	for _, m := range g.sortedMembers() {
		mr := r
		mr.assignment = m.assignment
		if m.invokeSync(mr) {
			c.scheduleHeartbeat(g, m, ms(m.sessionTimeout))
		}
	}
}

// killGroup moves a group to Dead for good: its timers stop and parked
// calls are answered with err.
func (c *Coordinator) killGroup(g *group, err *kerr.Error) {
	c.transition(g, stateDead)
	g.join.stop()
	g.join = nil
	g.sync.stop()
	g.sync = nil
	for id, p := range g.pending {
		p.stop()
		delete(g.pending, id)
	}
	for _, m := range g.members {
		m.heartbeat.stop()
		m.heartbeat = nil
		m.invokeJoin(joinError(m.id, err))
		m.invokeSync(syncResult{err: err})
	}
}

// groupMetadataRecord is the GroupMetadataValue of the group as it stands,
// with the given assignment per member.
func (c *Coordinator) groupMetadataRecord(g *group, assignment map[string][]byte) Record {
	v := kmsg.NewGroupMetadataValue()
	v.Version = 3
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	v.Protocol = g.protocolName
	if g.leader != "" {
		v.Leader = strPtr(g.leader)
	}
	v.CurrentStateTimestamp = g.stateTime
	for _, m := range g.sortedMembers() {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID = m.id
		vm.InstanceID = m.instanceID
		vm.ClientID = m.clientID
		vm.ClientHost = m.clientHost
		vm.RebalanceTimeoutMillis = m.rebalanceTimeout
		vm.SessionTimeoutMillis = m.sessionTimeout
		if g.protocolName != nil {
			vm.Subscription = m.metadata(*g.protocolName)
		}
		vm.Assignment = assignment[m.id]
		if vm.Assignment == nil {
			vm.Assignment = []byte{}
		}
		if vm.Subscription == nil {
			vm.Subscription = []byte{}
		}
		v.Members = append(v.Members, vm)
	}
	return Record{Key: groupKey(g.id), Value: v.AppendTo(nil)}
}

// storeGroup snapshots the group's metadata now and appends it once the
// lock is released; done then runs under the lock with the append's
// outcome. A snapshot overtaken by a newer one already appended is not
// written (done gets nil): the log keeps the newest state.
func (c *Coordinator) storeGroup(g *group, assignment map[string][]byte, done func(*kerr.Error)) {
	rec := c.groupMetadataRecord(g, assignment)
	g.metaSeq++
	seq := g.metaSeq
	g.afterUnlock(func() { c.writeGroupMetadata(g, rec, seq, done) })
}

func (c *Coordinator) writeGroupMetadata(g *group, rec Record, seq uint64, done func(*kerr.Error)) {
	ps := g.ps
	ps.writeMu.Lock()
	g.mu.Lock()
	skip := g.is(stateDead) || g.metaWritten > seq
	g.mu.Unlock()
	var err *kerr.Error
	if !skip {
		err = groupAppendError(c.appendRecords(ps, []Record{rec}))
	}
	g.mu.Lock()
	if !skip && err == nil && seq > g.metaWritten {
		g.metaWritten = seq
	}
	ps.writeMu.Unlock()
	if done != nil {
		done(err)
	}
	g.unlock()
}
