package groupcoord

// Loading a __consumer_offsets partition: replay it from its start, keep
// the last record of every key (a tombstone deletes), and rebuild the
// groups. A group with members in its last metadata record comes back
// Stable with those members and their assignments, each given a fresh
// session deadline, so live consumers carry on with heartbeats and a
// restarted static member gets its partitions back; one without members
// comes back Empty. Offsets of a group without a metadata record form a
// standalone (Empty, generation 0) group. Records with unknown key versions
// are skipped, as in Kafka; undecodable ones are skipped with an error
// logged. A failed replay is retried until it succeeds or the partition is
// unloaded; its groups answer COORDINATOR_LOAD_IN_PROGRESS meanwhile.
//
// Transactional offsets (TxnOffsetCommit batches) are kept pending per
// producer until the producer's marker: a COMMIT makes each one the
// committed offset unless a plain commit was written after it, an ABORT
// drops them, and those still pending at the end of the log belong to an
// open transaction whose marker will come through CompleteTransaction. A
// plain tombstone of a partition also drops the pending offsets of it (as
// Kafka's OffsetMetadataManager replays it). Transactions completed while
// the partition loads are applied once it is replayed.

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type replayed struct {
	offsets map[string]map[topicPartition]offsetEntry
	// pending: producer ID → group → partition → transactional offset.
	pending  map[int64]map[string]map[topicPartition]offsetEntry
	groups   map[string]*kmsg.GroupMetadataValue
	position uint64 // of the last offset record
	skipped  int    // undecodable records
}

// completeTxn applies a replayed marker.
func (st *replayed) completeTxn(producerID int64, commit bool) {
	byGroup := st.pending[producerID]
	delete(st.pending, producerID)
	if !commit {
		return
	}
	for id, offs := range byGroup {
		for tp, e := range offs {
			committed := st.offsets[id]
			if committed == nil {
				committed = make(map[topicPartition]offsetEntry)
				st.offsets[id] = committed
			}
			if cur, ok := committed[tp]; !ok || cur.position < e.position {
				committed[tp] = e
			}
		}
	}
}

func (c *Coordinator) load(ps *partitionState) {
	defer c.loads.Done()
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		st, err := c.replay(ps)
		if err == nil {
			c.install(ps, st, time.Since(start))
			return
		}
		if ps.ctx.Err() != nil {
			return
		}
		c.log.Error().Err(err).Int32("partition", ps.id).Dur("retry_in", backoff).Msg("loading groups and offsets failed")
		wait := make(chan struct{})
		t := c.clock.AfterFunc(backoff, func() { close(wait) })
		select {
		case <-wait:
		case <-ps.ctx.Done():
			t.Stop()
			return
		}
		if backoff *= 2; backoff > 10*time.Second {
			backoff = 10 * time.Second
		}
	}
}

func (c *Coordinator) replay(ps *partitionState) (*replayed, error) {
	st := &replayed{
		offsets: make(map[string]map[topicPartition]offsetEntry),
		pending: make(map[int64]map[string]map[topicPartition]offsetEntry),
		groups:  make(map[string]*kmsg.GroupMetadataValue),
	}
	err := c.journal.Replay(ps.ctx, ps.id, func(r Record) error {
		if r.Marker != NoMarker {
			st.completeTxn(r.ProducerID, r.Marker == CommitMarker)
			return nil
		}
		k, known, err := decodeKey(r.Key)
		if err != nil {
			st.skipped++
			c.log.Error().Err(err).Int32("partition", ps.id).Msg("skipping undecodable record")
			return nil
		}
		if !known {
			c.log.Warn().Int32("partition", ps.id).Msg("skipping record with unknown key version")
			return nil
		}
		if k.isOffset {
			st.replayOffset(c, k, r)
			return nil
		}
		if r.Value == nil {
			delete(st.groups, k.group)
			return nil
		}
		v, err := decodeGroupValue(r.Value)
		if err != nil {
			st.skipped++
			c.log.Error().Err(err).Str("group", k.group).Msg("skipping undecodable group metadata record")
			return nil
		}
		st.groups[k.group] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay %s-%d: %w", OffsetsTopic, ps.id, err)
	}
	return st, nil
}

// replayOffset applies one offset record (or tombstone), plain or
// transactional.
func (st *replayed) replayOffset(c *Coordinator, k decodedKey, r Record) {
	var e offsetEntry
	if r.Value != nil {
		var err error
		if e, err = decodeOffsetValue(r.Value); err != nil {
			st.skipped++
			c.log.Error().Err(err).Str("group", k.group).Msg("skipping undecodable offset record")
			return
		}
		st.position++
		e.position = st.position
	}
	if r.Transactional {
		byGroup := st.pending[r.ProducerID]
		if r.Value == nil {
			delete(byGroup[k.group], k.tp)
			return
		}
		if byGroup == nil {
			byGroup = make(map[string]map[topicPartition]offsetEntry)
			st.pending[r.ProducerID] = byGroup
		}
		if byGroup[k.group] == nil {
			byGroup[k.group] = make(map[topicPartition]offsetEntry)
		}
		byGroup[k.group][k.tp] = e
		return
	}
	offs := st.offsets[k.group]
	if r.Value == nil {
		delete(offs, k.tp)
		for _, byGroup := range st.pending {
			delete(byGroup[k.group], k.tp)
		}
		return
	}
	if offs == nil {
		offs = make(map[topicPartition]offsetEntry)
		st.offsets[k.group] = offs
	}
	offs[k.tp] = e
}

// install builds the replayed groups and makes them live, unless the
// partition was unloaded meanwhile.
func (c *Coordinator) install(ps *partitionState, st *replayed, took time.Duration) {
	now := c.clock.Now()
	built := make(map[string]*group, len(st.groups)+len(st.offsets))
	for id, v := range st.groups {
		built[id] = c.restoreGroup(id, ps, v, now)
	}
	nOffsets := 0
	for id, offs := range st.offsets {
		if len(offs) == 0 {
			continue
		}
		g := built[id]
		if g == nil {
			g = newGroup(id, ps, now)
			built[id] = g
		}
		g.offsets = offs
		nOffsets += len(offs)
	}
	nPending := 0
	for producerID, byGroup := range st.pending {
		for id, offs := range byGroup {
			if len(offs) == 0 {
				continue
			}
			g := built[id]
			if g == nil {
				g = newGroup(id, ps, now)
				built[id] = g
			}
			g.pendingTxn[producerID] = offs
			indexTxnGroup(ps, producerID, id)
			nPending += len(offs)
		}
	}
	ps.nextPosition = st.position
	for _, g := range built {
		g.mu.Lock()
		for _, m := range g.members {
			c.scheduleHeartbeat(g, m, ms(m.sessionTimeout))
		}
		if int64(len(g.members)) > int64(c.cfg.GroupMaxSize) {
			c.prepareRebalance(g, "freshly-loaded group is over capacity; rebalancing to give consumers a chance to commit offsets")
		}
		g.unlock()
	}

	for {
		c.mu.Lock()
		if c.partitions[ps.id] != ps {
			c.mu.Unlock()
			for _, g := range built {
				g.mu.Lock()
				c.killGroup(g, kerr.NotCoordinator)
				g.unlock()
			}
			return
		}
		early := ps.earlyMarkers
		ps.earlyMarkers = nil
		if len(early) == 0 {
			for id, g := range built {
				c.groups[id] = g
			}
			ps.loaded = true
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
		// Markers written after the replay read past them: apply them
		// before anyone sees the groups.
		for _, o := range early {
			c.completeTxn(ps, o, func(id string) *group { return built[id] })
		}
	}
	ev := c.log.Debug()
	if len(built) > 0 || nOffsets > 0 {
		ev = c.log.Info() // most of the 50 partitions hold nothing: say so quietly
	}
	ev.Int32("partition", ps.id).Int("groups", len(built)).Int("offsets", nOffsets).Int("pending_txn_offsets", nPending).Int("skipped_records", st.skipped).Dur("took", took).Msg("loaded groups and offsets")
}

// restoreGroup rebuilds a group from its last metadata record.
func (c *Coordinator) restoreGroup(id string, ps *partitionState, v *kmsg.GroupMetadataValue, now time.Time) *group {
	g := newGroup(id, ps, now)
	g.generation = v.Generation
	g.protocolType = v.ProtocolType
	g.protocolName = v.Protocol
	if v.Leader != nil {
		g.leader = *v.Leader
	}
	g.stateTime = v.CurrentStateTimestamp // -1 before value v2
	var protocolName string
	if v.Protocol != nil {
		protocolName = *v.Protocol
	}
	for _, vm := range v.Members {
		m := &member{
			id:               vm.MemberID,
			instanceID:       vm.InstanceID,
			clientID:         vm.ClientID,
			clientHost:       vm.ClientHost,
			rebalanceTimeout: vm.RebalanceTimeoutMillis,
			sessionTimeout:   vm.SessionTimeoutMillis,
			protocolType:     v.ProtocolType,
			protocols:        []protocol{{name: protocolName, metadata: vm.Subscription}},
			assignment:       vm.Assignment,
		}
		if v.Version == 0 {
			m.rebalanceTimeout = vm.SessionTimeoutMillis
		}
		c.addMember(g, m, nil)
	}
	if len(g.members) > 0 {
		g.state = stateStable
	}
	g.subscribed = g.computeSubscribed()
	return g
}
