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

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type replayed struct {
	offsets map[string]map[topicPartition]offsetEntry
	groups  map[string]*kmsg.GroupMetadataValue
	skipped int // undecodable records
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
		groups:  make(map[string]*kmsg.GroupMetadataValue),
	}
	err := c.journal.Replay(ps.ctx, ps.id, func(r Record) error {
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
			offs := st.offsets[k.group]
			if r.Value == nil {
				delete(offs, k.tp)
				return nil
			}
			e, err := decodeOffsetValue(r.Value)
			if err != nil {
				st.skipped++
				c.log.Error().Err(err).Str("group", k.group).Msg("skipping undecodable offset record")
				return nil
			}
			if offs == nil {
				offs = make(map[topicPartition]offsetEntry)
				st.offsets[k.group] = offs
			}
			offs[k.tp] = e
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
	for id, g := range built {
		c.groups[id] = g
	}
	ps.loaded = true
	c.mu.Unlock()
	ev := c.log.Debug()
	if len(built) > 0 || nOffsets > 0 {
		ev = c.log.Info() // most of the 50 partitions hold nothing: say so quietly
	}
	ev.Int32("partition", ps.id).Int("groups", len(built)).Int("offsets", nOffsets).Int("skipped_records", st.skipped).Dur("took", took).Msg("loaded groups and offsets")
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
