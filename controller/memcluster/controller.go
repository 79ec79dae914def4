package memcluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/samsa-io/samsa/controller"
)

// controllerRole is the controller's state, which in ZooKeeper mode
// lives in the memory of the broker that holds /controller: the session
// holding the role (nil: nobody) and the controller's bookkeeping, lost
// when the role moves, as Kafka's controller loses it on failover.
type controllerRole struct {
	session *session
	// knownEpochs are the broker epochs as of the last reconcile: a broker
	// whose epoch changed since restarted.
	knownEpochs map[int32]int64
	// shuttingDown maps a broker in controlled shutdown to its epoch then.
	shuttingDown  map[int32]int64
	nextRebalance time.Time
}

// acting reports whether a controller can act: the role is held by a
// session whose Store is connected. A controller that was killed or cut
// off keeps the role until its session expires, and nothing is decided
// meanwhile, as in ZooKeeper mode.
func (e *Ensemble) acting() bool {
	return e.role.session != nil && e.role.session.store.status == connected
}

// elect gives the controller role to a connected broker when nobody holds
// it. In ZooKeeper every broker races to create /controller and the first
// wins; here the broker with the lowest ID among those connected does, so
// that tests know which. Winning bumps the controller epoch.
func (e *Ensemble) elect() {
	var winner *session
	for _, id := range slices.Sorted(maps.Keys(e.sessions)) {
		if sess := e.sessions[id]; sess.store.status == connected {
			winner = sess
			break
		}
	}
	if winner == nil {
		return
	}
	e.controllerEpoch++
	e.role = controllerRole{
		session:       winner,
		knownEpochs:   e.cur().brokerEpochs(),
		shuttingDown:  map[int32]int64{},
		nextRebalance: e.now().Add(e.opts.LeaderImbalanceCheckInterval),
	}
	e.write().controllerID = winner.broker
	e.logger.Info().Int32("broker", winner.broker).Int32("controller_epoch", e.controllerEpoch).Msg("elected controller")
}

// liveness is the election's view of the brokers, as the ZooKeeper
// store's controller computes it: the registered brokers, those whose
// epoch changed since the last reconcile as restarted, and those in
// controlled shutdown still in the registration they asked from.
func (e *Ensemble) liveness() controller.Liveness {
	st := e.cur()
	l := controller.Liveness{Live: map[int32]bool{}, ShuttingDown: map[int32]bool{}, Restarted: map[int32]bool{}}
	for id, b := range st.brokers {
		l.Live[id] = true
		if known, ok := e.role.knownEpochs[id]; ok && known != b.epoch {
			l.Restarted[id] = true
		}
	}
	for id, epoch := range e.role.shuttingDown {
		if b, ok := st.brokers[id]; ok && b.epoch == epoch {
			l.ShuttingDown[id] = true
		} else {
			delete(e.role.shuttingDown, id)
		}
	}
	return l
}

// writeState replaces partition p's state with next (a new version, a new
// write position) and returns it.
func (e *Ensemble) writeState(name string, p int32, next controller.LeaderAndISR) *partitionState {
	t := e.write().mutableTopic(name)
	version := int32(0)
	old := t.states[p]
	if old != nil {
		version = old.version + 1
	}
	e.zxid++
	ps := &partitionState{LeaderAndISR: next, version: version, writtenAt: e.zxid}
	ps.ISR = slices.Clone(next.ISR)
	t.states[p] = ps
	logged := e.logger.Debug().Str("topic", name).Int32("partition", p).Int32("leader", next.Leader).Int32("leader_epoch", next.LeaderEpoch).Ints32("isr", next.ISR).Int32("partition_epoch", version)
	if old != nil {
		logged = logged.Int32("old_leader", old.Leader).Ints32("old_isr", old.ISR)
	}
	logged.Msg("partition state written")
	return ps
}

// reconcile is the controller's level-triggered look at the cluster, the
// ZooKeeper store's: queued deletions done, partition states created for
// new partitions, leaders elected where the leader is gone, the dead out
// of the ISRs. Every decision is package controller's.
func (e *Ensemble) reconcile() {
	l := e.liveness()
	epochs := e.cur().brokerEpochs()
	for _, name := range slices.Sorted(maps.Keys(e.cur().pendingDeletion)) {
		st := e.write()
		delete(st.topics, name)
		delete(st.pendingDeletion, name)
		e.logger.Info().Str("topic", name).Msg("deleted topic")
	}
	st := e.cur()
	for _, name := range slices.Sorted(maps.Keys(st.topics)) {
		t := e.cur().topics[name]
		unclean := controller.UncleanLeaderElectionEnabled(t.configs, e.cur().brokerConfigs[-1], e.opts.UncleanLeaderElection)
		for p, replicas := range t.assignment {
			cur := e.cur().topics[name].states[p]
			if cur == nil {
				if first, ok := controller.ElectInitialLeader(replicas, l); ok {
					e.writeState(name, int32(p), first)
				}
				continue
			}
			next, changed := controller.ReconcileLeaderAndISR(cur.LeaderAndISR, replicas, l.WithRestarts(cur.LeaderAndISR, cur.writtenAt, epochs), unclean)
			if changed {
				e.writeState(name, int32(p), next)
			}
		}
	}
	e.role.knownEpochs = epochs
}

// liveTopics lists the topics not queued for deletion, by name.
func (st *clusterState) liveTopics() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(st.topics)) {
		if !st.pendingDeletion[name] {
			out = append(out, name)
		}
	}
	return out
}

// controlledShutdown moves leadership away from a broker about to stop
// and takes it out of the ISRs (Kafka's doControlledShutdown), returning
// the partitions it still leads. The broker stays out of elections until
// its registration goes or changes.
func (e *Ensemble) controlledShutdown(brokerID int32) ([]controller.TopicPartition, error) {
	b, ok := e.cur().brokers[brokerID]
	if !ok {
		return nil, fmt.Errorf("%w: controlled shutdown of broker %d, which is not registered", controller.ErrBrokerNotAvailable, brokerID)
	}
	e.role.shuttingDown[brokerID] = b.epoch
	l := e.liveness()
	e.logger.Info().Int32("broker", brokerID).Msg("controlled shutdown")
	var remaining []controller.TopicPartition
	for _, name := range e.cur().liveTopics() {
		t := e.cur().topics[name]
		for p, replicas := range t.assignment {
			cur := t.states[p]
			if cur == nil || !slices.Contains(replicas, brokerID) {
				continue
			}
			leader := cur.Leader
			if next, changed := controller.ElectForControlledShutdown(cur.LeaderAndISR, replicas, brokerID, l); changed {
				leader = e.writeState(name, int32(p), next).Leader
			}
			if leader == brokerID {
				remaining = append(remaining, controller.TopicPartition{Topic: name, Partition: int32(p)})
			}
		}
	}
	return remaining, nil
}

// electLeaders runs the ElectLeaders API's elections.
func (e *Ensemble) electLeaders(typ controller.ElectionType, partitions []controller.TopicPartition) (map[controller.TopicPartition]error, error) {
	if typ != controller.PreferredElection && typ != controller.UncleanElection {
		return nil, fmt.Errorf("unknown election type %d", typ)
	}
	if partitions == nil {
		for _, name := range e.cur().liveTopics() {
			t := e.cur().topics[name]
			for p := range t.assignment {
				if t.states[p] != nil {
					partitions = append(partitions, controller.TopicPartition{Topic: name, Partition: int32(p)})
				}
			}
		}
	}
	l := e.liveness()
	results := make(map[controller.TopicPartition]error, len(partitions))
	for _, tp := range partitions {
		st := e.cur()
		t := st.topics[tp.Topic]
		if t == nil || st.pendingDeletion[tp.Topic] || tp.Partition < 0 || int(tp.Partition) >= len(t.assignment) || t.states[tp.Partition] == nil {
			results[tp] = controller.ErrUnknownTopic
			continue
		}
		cur, replicas := t.states[tp.Partition], t.assignment[tp.Partition]
		var next controller.LeaderAndISR
		var err error
		if typ == controller.PreferredElection {
			next, err = controller.ElectPreferredLeader(cur.LeaderAndISR, replicas, l)
		} else {
			next, err = controller.ElectUncleanLeader(cur.LeaderAndISR, replicas, l)
		}
		results[tp] = err
		if err == nil {
			e.writeState(tp.Topic, tp.Partition, next)
		}
	}
	return results, nil
}

// autoRebalance is Kafka's checkAndTriggerAutoLeaderRebalance: a preferred
// election for each partition controller.ImbalancedLeaders finds due.
func (e *Ensemble) autoRebalance() {
	l := e.liveness()
	var leadership []controller.PartitionLeadership
	for _, name := range e.cur().liveTopics() {
		t := e.cur().topics[name]
		for p, replicas := range t.assignment {
			if st := t.states[p]; st != nil {
				leadership = append(leadership, controller.PartitionLeadership{TopicPartition: controller.TopicPartition{Topic: name, Partition: int32(p)}, Preferred: replicas[0], Leader: st.Leader})
			}
		}
	}
	due := controller.ImbalancedLeaders(leadership, e.opts.LeaderImbalancePerBrokerPercentage)
	if len(due) > 0 {
		e.logger.Info().Int("partitions", len(due)).Msg("leader imbalance: running preferred elections")
	}
	for _, tp := range due {
		t := e.cur().topics[tp.Topic]
		next, err := controller.ElectPreferredLeader(t.states[tp.Partition].LeaderAndISR, t.assignment[tp.Partition], l)
		if err == nil {
			e.writeState(tp.Topic, tp.Partition, next)
		} else if !errors.Is(err, controller.ErrPreferredLeaderNotAvailable) && !errors.Is(err, controller.ErrElectionNotNeeded) {
			e.logger.Warn().Err(err).Str("topic", tp.Topic).Int32("partition", tp.Partition).Msg("preferred election")
		}
	}
}
