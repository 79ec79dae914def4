package controller

import (
	"maps"
	"slices"
)

// The controller's decisions about one partition, as pure functions of
// its state, its assignment and the brokers' liveness, following Kafka's
// ZooKeeper-mode controller (PartitionStateMachine, ReplicaStateMachine,
// Election.scala):
//
//   - A new partition's leader is its first live replica in assignment
//     order and its ISR the live replicas.
//   - When the leader dies, the new leader is the first replica in
//     assignment order that is alive and in the ISR, and the ISR loses the
//     dead. If none is, an unclean election (when enabled) takes the first
//     live replica with an ISR of itself; otherwise the partition goes
//     offline (leader -1) and its ISR keeps its last member, which can
//     lead again when it comes back (Kafka keeps the last ISR member for
//     this reason rather than emptying the ISR).
//   - A dead follower leaves the ISR; the leader and its epoch stay.
//   - Every change of leader bumps the leader epoch.
//   - A broker in controlled shutdown is not elected; a broker that
//     restarted (a new registration, so a new broker epoch) counts as
//     having died and come back: it loses the leadership to another
//     in-sync replica if there is one, else it is elected again with a
//     new epoch.

// brokerLiveness is the cluster as an election sees it.
type brokerLiveness struct {
	live         map[int32]bool // registered
	shuttingDown map[int32]bool // in controlled shutdown
	bounced      map[int32]bool // registered again since the controller last looked
}

// withRestarts adds to the restarted brokers the leader and in-sync
// replicas of a partition that registered after its state was last
// written: their leadership or membership predates the process now
// running. A controller sees a broker restart as a new broker epoch only
// if it was watching at the time; a controller elected after the restart
// learns it from this comparison of zxids (the broker epoch is its
// registration's creation zxid).
func (l brokerLiveness) withRestarts(st partitionState, brokers map[int32]liveBroker) brokerLiveness {
	if st.mzxid == 0 {
		return l
	}
	restarted := func(id int32) bool {
		b, ok := brokers[id]
		return ok && b.epoch > st.mzxid && !l.bounced[id]
	}
	var extra []int32
	if st.Leader >= 0 && restarted(st.Leader) {
		extra = append(extra, st.Leader)
	}
	for _, id := range st.ISR {
		if id != st.Leader && restarted(id) {
			extra = append(extra, id)
		}
	}
	if len(extra) == 0 {
		return l
	}
	out := l
	out.bounced = maps.Clone(l.bounced)
	if out.bounced == nil {
		out.bounced = map[int32]bool{}
	}
	for _, id := range extra {
		out.bounced[id] = true
	}
	return out
}

// eligible: may become leader.
func (l brokerLiveness) eligible(id int32) bool { return l.live[id] && !l.shuttingDown[id] }

// dead: its replica lost its in-memory state (stopped, or restarted).
func (l brokerLiveness) dead(id int32) bool { return !l.live[id] || l.bounced[id] }

// newPartitionState is the first state of a partition, or false while no
// replica is alive.
func newPartitionState(replicas []int32, l brokerLiveness) (partitionState, bool) {
	var live []int32
	for _, r := range replicas {
		if l.eligible(r) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return partitionState{}, false
	}
	return partitionState{Leader: live[0], LeaderEpoch: 0, ISR: live}, true
}

// reconcileState is what a partition's state should become given which
// brokers are alive; changed is false when it is fine as it is.
func reconcileState(cur partitionState, replicas []int32, l brokerLiveness, unclean bool) (next partitionState, changed bool) {
	next = cur.clone()
	if cur.Leader >= 0 && !l.dead(cur.Leader) {
		isr := slices.DeleteFunc(slices.Clone(cur.ISR), func(id int32) bool { return id != cur.Leader && l.dead(id) })
		if slices.Equal(isr, cur.ISR) {
			return cur, false
		}
		next.ISR = isr
		return next, true
	}

	liveISR := slices.DeleteFunc(slices.Clone(cur.ISR), l.dead)
	inISR := func(id int32) bool { return slices.Contains(cur.ISR, id) }
	// An in-sync replica that kept running, in assignment order.
	for _, r := range replicas {
		if inISR(r) && l.eligible(r) && !l.bounced[r] {
			next.Leader, next.LeaderEpoch, next.ISR = r, cur.LeaderEpoch+1, liveISR
			return next, true
		}
	}
	// An in-sync replica that restarted: its log is intact.
	for _, r := range replicas {
		if inISR(r) && l.eligible(r) {
			isr := slices.DeleteFunc(slices.Clone(cur.ISR), func(id int32) bool { return id != r && l.dead(id) })
			next.Leader, next.LeaderEpoch, next.ISR = r, cur.LeaderEpoch+1, isr
			return next, true
		}
	}
	if unclean {
		for _, r := range replicas {
			if l.eligible(r) {
				next.Leader, next.LeaderEpoch, next.ISR = r, cur.LeaderEpoch+1, []int32{r}
				return next, true
			}
		}
	}
	// Offline. The ISR keeps the live members or, with none, the last
	// member: the old leader if it was in sync.
	isr := liveISR
	if len(isr) == 0 && len(cur.ISR) > 0 {
		last := cur.ISR[len(cur.ISR)-1]
		if inISR(cur.Leader) {
			last = cur.Leader
		}
		isr = []int32{last}
	}
	next.Leader, next.ISR = -1, isr
	if cur.Leader >= 0 {
		next.LeaderEpoch = cur.LeaderEpoch + 1
	}
	if next.sameLeadership(cur) {
		return cur, false
	}
	return next, true
}

// preferredElection moves the leadership to the first replica (the
// ElectLeaders API's PREFERRED election and the auto rebalance).
func preferredElection(cur partitionState, replicas []int32, l brokerLiveness) (partitionState, error) {
	preferred := replicas[0]
	if cur.Leader == preferred {
		return cur, ErrElectionNotNeeded
	}
	if !l.eligible(preferred) || !slices.Contains(cur.ISR, preferred) {
		return cur, ErrPreferredLeaderNotAvailable
	}
	next := cur.clone()
	next.Leader, next.LeaderEpoch = preferred, cur.LeaderEpoch+1
	return next, nil
}

// uncleanElection elects a leader for a partition without a live one: an
// in-sync replica if one is alive, else any live replica (the ElectLeaders
// API's UNCLEAN election).
func uncleanElection(cur partitionState, replicas []int32, l brokerLiveness) (partitionState, error) {
	if cur.Leader >= 0 && !l.dead(cur.Leader) {
		return cur, ErrElectionNotNeeded
	}
	next, changed := reconcileState(cur, replicas, l, true)
	if !changed || next.Leader < 0 {
		return cur, ErrEligibleLeadersNotAvailable
	}
	return next, nil
}

// controlledShutdownState takes broker out of a partition's leadership and
// ISR before it stops (Kafka's ControlledShutdownPartitionLeaderElection-
// Strategy for the partitions it leads, OfflineReplica for those it
// follows). l must list broker as shutting down. A leader with no other
// in-sync replica keeps the leadership.
func controlledShutdownState(cur partitionState, replicas []int32, broker int32, l brokerLiveness) (partitionState, bool) {
	if len(replicas) < 2 {
		return cur, false
	}
	next := cur.clone()
	if cur.Leader == broker {
		for _, r := range replicas {
			if r != broker && slices.Contains(cur.ISR, r) && l.eligible(r) {
				next.Leader, next.LeaderEpoch = r, cur.LeaderEpoch+1
				next.ISR = slices.DeleteFunc(slices.Clone(cur.ISR), func(id int32) bool { return l.shuttingDown[id] })
				return next, true
			}
		}
		return cur, false
	}
	if slices.Contains(cur.ISR, broker) && len(cur.ISR) > 1 {
		next.ISR = slices.DeleteFunc(slices.Clone(cur.ISR), func(id int32) bool { return id == broker })
		return next, true
	}
	return cur, false
}
