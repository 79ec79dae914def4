package controller

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The controller's decisions about one partition, as pure functions of
// its state, its assignment and the brokers' liveness, following Kafka's
// ZooKeeper-mode controller (PartitionStateMachine, ReplicaStateMachine,
// Election.scala). Every store that runs elections calls these, so a
// partition is led the same way whichever store holds it:
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

// LeaderAndISR is the part of a partition's state that elections decide
// (Kafka's LeaderAndIsr). A store keeps it with its own bookkeeping (in
// ZooKeeper, the controller epoch and the state znode's version).
type LeaderAndISR struct {
	Leader      int32 // -1 when offline
	LeaderEpoch int32
	ISR         []int32
}

// Equal reports whether two states have the same leader, leader epoch and
// ISR.
func (s LeaderAndISR) Equal(o LeaderAndISR) bool {
	return s.Leader == o.Leader && s.LeaderEpoch == o.LeaderEpoch && slices.Equal(s.ISR, o.ISR)
}

func (s LeaderAndISR) clone() LeaderAndISR {
	s.ISR = slices.Clone(s.ISR)
	return s
}

// Liveness is the cluster as an election sees it.
type Liveness struct {
	Live         map[int32]bool // registered
	ShuttingDown map[int32]bool // in controlled shutdown
	Restarted    map[int32]bool // registered again since the controller last looked
}

// WithRestarts adds to the restarted brokers the leader and in-sync
// replicas of a partition that registered after its state was last
// written: their leadership or membership predates the process now
// running. A controller sees a broker restart as a new broker epoch only
// if it was watching at the time; a controller elected after the restart
// learns it from this comparison. writtenAt (when the state was last
// written, 0 when unknown) and brokerEpochs (each live broker's epoch,
// when it registered) are positions in one history of the store: in
// ZooKeeper, the state znode's mzxid and each registration's creation
// zxid.
func (l Liveness) WithRestarts(st LeaderAndISR, writtenAt int64, brokerEpochs map[int32]int64) Liveness {
	if writtenAt == 0 {
		return l
	}
	restarted := func(id int32) bool {
		epoch, ok := brokerEpochs[id]
		return ok && epoch > writtenAt && !l.Restarted[id]
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
	out.Restarted = maps.Clone(l.Restarted)
	if out.Restarted == nil {
		out.Restarted = map[int32]bool{}
	}
	for _, id := range extra {
		out.Restarted[id] = true
	}
	return out
}

// eligible: may become leader.
func (l Liveness) eligible(id int32) bool { return l.Live[id] && !l.ShuttingDown[id] }

// dead: its replica lost its in-memory state (stopped, or restarted).
func (l Liveness) dead(id int32) bool { return !l.Live[id] || l.Restarted[id] }

// ElectInitialLeader is the first state of a new partition, or false
// while none of its replicas can lead.
func ElectInitialLeader(replicas []int32, l Liveness) (LeaderAndISR, bool) {
	var live []int32
	for _, r := range replicas {
		if l.eligible(r) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return LeaderAndISR{}, false
	}
	return LeaderAndISR{Leader: live[0], LeaderEpoch: 0, ISR: live}, true
}

// ReconcileLeaderAndISR is what a partition's state should become given
// which brokers are alive: a new leader when the leader died, the dead out
// of the ISR; unclean allows an out-of-sync replica to lead
// (unclean.leader.election.enable). changed is false when the state is
// fine as it is.
func ReconcileLeaderAndISR(cur LeaderAndISR, replicas []int32, l Liveness, unclean bool) (next LeaderAndISR, changed bool) {
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
		if inISR(r) && l.eligible(r) && !l.Restarted[r] {
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
	if next.Equal(cur) {
		return cur, false
	}
	return next, true
}

// ElectPreferredLeader moves the leadership to the first replica (the
// ElectLeaders API's PREFERRED election and the auto rebalance).
func ElectPreferredLeader(cur LeaderAndISR, replicas []int32, l Liveness) (LeaderAndISR, error) {
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

// ElectUncleanLeader elects a leader for a partition without a live one:
// an in-sync replica if one is alive, else any live replica (the
// ElectLeaders API's UNCLEAN election).
func ElectUncleanLeader(cur LeaderAndISR, replicas []int32, l Liveness) (LeaderAndISR, error) {
	if cur.Leader >= 0 && !l.dead(cur.Leader) {
		return cur, ErrElectionNotNeeded
	}
	next, changed := ReconcileLeaderAndISR(cur, replicas, l, true)
	if !changed || next.Leader < 0 {
		return cur, ErrEligibleLeadersNotAvailable
	}
	return next, nil
}

// ElectForControlledShutdown takes broker out of a partition's leadership
// and ISR before it stops (Kafka's ControlledShutdownPartitionLeader-
// ElectionStrategy for the partitions it leads, OfflineReplica for those
// it follows). l must list broker as shutting down. A leader with no
// other in-sync replica keeps the leadership.
func ElectForControlledShutdown(cur LeaderAndISR, replicas []int32, broker int32, l Liveness) (LeaderAndISR, bool) {
	if len(replicas) < 2 {
		return cur, false
	}
	next := cur.clone()
	if cur.Leader == broker {
		for _, r := range replicas {
			if r != broker && slices.Contains(cur.ISR, r) && l.eligible(r) {
				next.Leader, next.LeaderEpoch = r, cur.LeaderEpoch+1
				next.ISR = slices.DeleteFunc(slices.Clone(cur.ISR), func(id int32) bool { return l.ShuttingDown[id] })
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

// CheckISR checks an ISR a partition's leader proposes (AlterPartition)
// against the partition: it holds the leader and only replicas, each once.
func CheckISR(p Partition, isr []int32) error {
	seen := map[int32]bool{}
	for _, id := range isr {
		if seen[id] || !slices.Contains(p.Replicas, id) {
			return fmt.Errorf("%w: %v for replicas %v", ErrInvalidISR, isr, p.Replicas)
		}
		seen[id] = true
	}
	if !seen[p.Leader] {
		return fmt.Errorf("%w: %v does not hold the leader %d", ErrInvalidISR, isr, p.Leader)
	}
	return nil
}

// CheckISRJoiners checks the replicas an ISR change (AlterPartition) adds
// to curISR: each must be able to be in sync, which eligible tells (for a
// store, a broker that is registered). Kafka's KIP-841 makes its
// controllers refuse a fenced or shutting-down replica with
// INELIGIBLE_REPLICA, so that a leader working from an old view cannot
// bring a dead broker back into the ISR; a ZooKeeper-mode leader writes
// the ISR itself and can only see registrations. Members the ISR already
// has are not checked: taking the dead out is the controller's job.
// eligible's error is returned as is.
func CheckISRJoiners(curISR, isr []int32, eligible func(id int32) (bool, error)) error {
	for _, id := range isr {
		if slices.Contains(curISR, id) {
			continue
		}
		ok, err := eligible(id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: broker %d is not registered, so it cannot join the ISR %v (KIP-841)", ErrInvalidISR, id, isr)
		}
	}
	return nil
}

// UncleanLeaderElectionEnabled resolves unclean.leader.election.enable for
// a topic as Kafka does: the topic's own config, else the cluster-wide
// dynamic default (the <default> broker config), else the static
// configuration. Values that do not parse as booleans are skipped.
func UncleanLeaderElectionEnabled(topicConfigs, clusterDefaults map[string]string, static bool) bool {
	for _, m := range []map[string]string{topicConfigs, clusterDefaults} {
		if v, ok := m["unclean.leader.election.enable"]; ok {
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
				return b
			}
		}
	}
	return static
}

// PartitionLeadership is a partition's preferred replica (its first) and
// current leader, as the automatic leader rebalance sees it.
type PartitionLeadership struct {
	TopicPartition
	Preferred int32
	Leader    int32
}

// ImbalancedLeaders is Kafka's checkAndTriggerAutoLeaderRebalance choice
// (auto.leader.rebalance.enable): for each broker, the share of the
// partitions it is the preferred replica of that another broker leads;
// above leader.imbalance.per.broker.percentage, each of those partitions
// is due a preferred election (ElectPreferredLeader, which still refuses
// a preferred replica that cannot lead). Brokers come in ID order,
// partitions in the order given.
func ImbalancedLeaders(partitions []PartitionLeadership, percentage int) []TopicPartition {
	byPreferred := map[int32][]PartitionLeadership{}
	for _, p := range partitions {
		byPreferred[p.Preferred] = append(byPreferred[p.Preferred], p)
	}
	limit := float64(percentage) / 100
	var due []TopicPartition
	for _, broker := range slices.SortedFunc(maps.Keys(byPreferred), cmp.Compare[int32]) {
		entries := byPreferred[broker]
		var misplaced []TopicPartition
		for _, p := range entries {
			if p.Leader != broker {
				misplaced = append(misplaced, p.TopicPartition)
			}
		}
		if float64(len(misplaced))/float64(len(entries)) > limit {
			due = append(due, misplaced...)
		}
	}
	return due
}
