package groupcoord

// Offset retention (offsets.retention.minutes, Kafka 2.1+ semantics from
// KIP-211) and the cleanup shared with DeleteGroups and OffsetDelete.
//
// Every offsets.retention.check.interval.ms the coordinator expires:
//   - in a group that has members' protocol type and is Empty, every offset
//     once the retention has passed since the group became Empty (the commit
//     time if the group was loaded from a record without that timestamp);
//   - in a Stable consumer group whose subscriptions are known, offsets of
//     topics no member is subscribed to, counted from their commit;
//   - in a standalone group (offsets only, never any member), each offset
//     counted from its commit.
// An offset committed with an explicit expiry (OffsetCommit v1 timestamp,
// v2-v4 retention time) expires at that time instead. An offset with
// pending transactional offsets does not expire until their transaction
// ends, and an Empty group left with no offsets is deleted only when no
// transaction has pending offsets in it (Kafka's cleanupExpiredOffsets). Removed offsets, and the group's metadata,
// are tombstoned in __consumer_offsets.

import (
	"github.com/twmb/franz-go/pkg/kerr"
)

// cleanupGroup removes the offsets the selector picks, committed and
// pending transactional ones alike (it runs under the group lock and may
// refuse with an error), kills the group if it is left Empty with no
// offsets of either kind, and appends the tombstones. Called without locks;
// holds the partition's writer lock so the tombstones land after any
// commit already applied and before any later one.
func (c *Coordinator) cleanupGroup(g *group, selector func() ([]topicPartition, *kerr.Error)) (removed int, dead bool, err *kerr.Error) {
	ps := g.ps
	ps.writeMu.Lock()
	defer ps.writeMu.Unlock()

	g.mu.Lock()
	tps, err := selector()
	if err != nil {
		g.mu.Unlock()
		return 0, false, err
	}
	records := make([]Record, 0, len(tps)+1)
	for _, tp := range tps {
		g.dropOffset(tp)
		records = append(records, Record{Key: offsetKey(g.id, tp)})
	}
	if g.is(stateEmpty) && len(g.offsets) == 0 && len(g.pendingTxn) == 0 {
		c.log.Info().Str("group", g.id).Int32("generation", g.generation).Msg("group is empty and has no offsets left, removing it")
		c.killGroup(g, kerr.CoordinatorNotAvailable)
	}
	dead = g.is(stateDead)
	generation := g.generation
	g.mu.Unlock()

	if dead && c.forgetGroupIfIndexed(g) && generation > 0 {
		// A group that only ever stored offsets (generation 0) never had a
		// metadata record to delete.
		records = append(records, Record{Key: groupKey(g.id)})
	}
	if len(records) > 0 {
		// Like Kafka, a lost tombstone is not an error for the caller: the
		// next cleanup writes it again.
		if aerr := c.appendRecords(ps, records); aerr != nil {
			c.log.Warn().Str("group", g.id).Err(aerr).Int("tombstones", len(records)).Msg("failed to append tombstones")
		}
	}
	return len(tps), dead, nil
}

// forgetGroupIfIndexed removes the group from the index and reports
// whether it was there (an unloaded group is not, and writes nothing).
func (c *Coordinator) forgetGroupIfIndexed(g *group) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[g.id] != g {
		return false
	}
	delete(c.groups, g.id)
	return true
}

func (c *Coordinator) scheduleExpiry() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	ref := &timerRef{}
	c.expiry = ref
	ref.t = c.clock.AfterFunc(c.cfg.OffsetsRetentionCheckInterval, func() { c.expireOffsets(ref) })
}

// expireOffsets is one retention sweep over the loaded groups.
func (c *Coordinator) expireOffsets(ref *timerRef) {
	c.mu.Lock()
	if c.closed || c.expiry != ref {
		c.mu.Unlock()
		return
	}
	groups := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.Unlock()

	now := c.clock.Now().UnixMilli()
	total := 0
	for _, g := range groups {
		n, _, _ := c.cleanupGroup(g, func() ([]topicPartition, *kerr.Error) {
			return c.expiredOffsets(g, now), nil
		})
		total += n
	}
	if total > 0 {
		c.log.Info().Int("offsets", total).Msg("removed expired offsets")
	}
	c.scheduleExpiry()
}

// expiredOffsets lists the group's offsets past retention. g.mu held.
func (c *Coordinator) expiredOffsets(g *group, now int64) []topicPartition {
	retention := c.cfg.OffsetsRetention.Milliseconds()
	var base func(offsetEntry) int64
	var keep map[string]bool
	commitTime := func(e offsetEntry) int64 { return e.commitTime }
	switch {
	case g.is(stateDead):
		return nil
	case g.protocolType != "" && g.is(stateEmpty):
		base = commitTime
		if g.stateTime >= 0 {
			stateTime := g.stateTime
			base = func(offsetEntry) int64 { return stateTime }
		}
	case g.protocolType == consumerProtocolType && g.subscribed != nil && g.is(stateStable):
		base, keep = commitTime, g.subscribed
	case g.protocolType == "":
		base = commitTime
	default:
		return nil
	}
	var expired []topicPartition
	for tp, e := range g.offsets {
		if keep[tp.topic] || g.hasPendingTransactionalOffsets(tp) {
			continue
		}
		if e.expireTime >= 0 {
			if now >= e.expireTime {
				expired = append(expired, tp)
			}
		} else if now-base(e) >= retention {
			expired = append(expired, tp)
		}
	}
	return expired
}
