package groupcoord

// TxnOffsetCommit (KIP-98, KIP-447): a transactional producer commits the
// offsets its transaction consumed. They are written to __consumer_offsets
// as one transactional batch of the producer (its ID and epoch, the
// transactional attribute) and stay pending, invisible to OffsetFetch,
// until the transaction ends: the broker appends the producer's COMMIT or
// ABORT marker to the partition and calls CompleteTransaction. A COMMIT
// makes each pending offset the committed one unless a plain OffsetCommit
// of the partition was written after it (Kafka compares the records' log
// offsets); an ABORT drops them. OffsetFetch with require_stable answers a
// partition with pending offsets UNSTABLE_OFFSET_COMMIT, and clients retry.
//
// Who may commit (Kafka's rules for transactional commits): a group that
// does not exist is created, Empty, to hold the offsets, unless the request
// carries a generation (ILLEGAL_GENERATION, as Kafka's current coordinator
// answers). With a generation, a member id or a group.instance.id (v3+,
// KIP-447: the producer fences zombies through the group's generation),
// the member must be current — UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID for a
// static member replaced by another — and the generation the group's, or
// ILLEGAL_GENERATION. Without them (v0-v2) anyone may commit, also to a
// group with members: older producers send no member. Unlike OffsetCommit
// a rebalance does not refuse the commit.
//
// Versions: v2 adds the per-partition leader epoch; v3 generation, member
// id and group.instance.id; v0-v1 clients do not know
// COORDINATOR_LOAD_IN_PROGRESS and get COORDINATOR_NOT_AVAILABLE instead,
// as Kafka answers them. Unknown topic partitions and too large metadata
// fail their partition as in OffsetCommit. The transaction itself is not
// verified here (KIP-890's verification is the broker's, before the call).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.TxnOffsetCommit, Min: 0, Max: 4, Serve: serveAs((*Coordinator).TxnOffsetCommit),
		Note: "offsets pending until the transaction's marker; generation and member fencing (KIP-447)"})
}

// TxnOffsetCommit serves TxnOffsetCommit.
func (c *Coordinator) TxnOffsetCommit(_ context.Context, req *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	now := c.clock.Now().UnixMilli()
	var commits []offsetCommit
	for ti, t := range req.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for pi, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			if c.cfg.Topics != nil && !c.cfg.Topics.PartitionExists(t.Topic, p.Partition) {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			} else {
				e := offsetEntry{offset: p.Offset, leaderEpoch: p.LeaderEpoch, commitTime: now, expireTime: -1}
				if p.Metadata != nil {
					e.metadata = *p.Metadata
				}
				commits = append(commits, offsetCommit{tp: topicPartition{t.Topic, p.Partition}, entry: e, ti: ti, pi: pi})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(commits) == 0 {
		return resp
	}
	c.commitTxnOffsets(req, commits)
	for _, oc := range commits {
		err := oc.err
		if req.Version < 2 && err == kerr.CoordinatorLoadInProgress {
			err = kerr.CoordinatorNotAvailable
		}
		resp.Topics[oc.ti].Partitions[oc.pi].ErrorCode = errCode(err)
	}
	return resp
}

func (c *Coordinator) commitTxnOffsets(req *kmsg.TxnOffsetCommitRequest, commits []offsetCommit) {
	failAll := func(err *kerr.Error) {
		for i := range commits {
			commits[i].err = err
		}
	}
	journal, ok := c.journal.(TransactionalJournal)
	if !ok {
		c.log.Error().Str("group", req.Group).Msg("transactional offset commit on a journal that cannot write transactional batches")
		failAll(kerr.UnknownServerError)
		return
	}
	g, err := c.groupFor(req.Group, false, false)
	if err != nil {
		failAll(err)
		return
	}
	if g == nil {
		if req.Generation >= 0 {
			failAll(kerr.IllegalGeneration)
			return
		}
		c.log.Info().Str("group", req.Group).Msg("creating simple consumer group via transactional offset commit")
		if g, err = c.groupFor(req.Group, false, true); err != nil {
			failAll(err)
			return
		}
	}

	ps := g.ps
	ps.writeMu.Lock()
	defer ps.writeMu.Unlock()
	g.mu.Lock()
	if err := c.validateCommit(g, req.Generation, req.MemberID, req.InstanceID, true); err != nil {
		g.mu.Unlock()
		failAll(err)
		return
	}
	records, accepted := c.offsetRecords(g, commits)
	g.mu.Unlock()
	if len(records) == 0 {
		return
	}

	ctx, cancel := context.WithTimeout(ps.ctx, c.cfg.OffsetCommitTimeout)
	appendErr := commitAppendError(journal.AppendTransactional(ctx, ps.id, req.ProducerID, req.ProducerEpoch, records))
	cancel()
	if appendErr != nil {
		c.log.Debug().Str("group", g.id).Int64("producer_id", req.ProducerID).Str("error", appendErr.Message).Msg("transactional offset commit append failed")
		for _, i := range accepted {
			commits[i].err = appendErr
		}
		return
	}
	position := ps.takePosition()
	g.mu.Lock()
	if !g.is(stateDead) {
		pending := g.pendingTxn[req.ProducerID]
		if pending == nil {
			pending = make(map[topicPartition]offsetEntry)
			g.pendingTxn[req.ProducerID] = pending
		}
		for _, i := range accepted {
			e := commits[i].entry
			e.position = position
			pending[commits[i].tp] = e
		}
		indexTxnGroup(ps, req.ProducerID, g.id)
	}
	g.mu.Unlock()
}

// indexTxnGroup notes that the group holds pending offsets of the
// producer. ps.writeMu held (or the partition not loaded yet).
func indexTxnGroup(ps *partitionState, producerID int64, groupID string) {
	groups := ps.txnGroups[producerID]
	if groups == nil {
		groups = make(map[string]bool)
		ps.txnGroups[producerID] = groups
	}
	groups[groupID] = true
}

// CompleteTransaction applies the end of a producer's transaction to the
// groups of __consumer_offsets partition p: the broker calls it once the
// producer's COMMIT (commit set) or ABORT marker is appended to the
// partition and replicated. A commit makes the producer's pending offsets
// committed, each unless a plain commit of its partition was written after
// it; an abort drops them. A partition this coordinator does not own is
// left alone (its next owner replays the marker); one still loading
// applies the outcome once loaded.
func (c *Coordinator) CompleteTransaction(p int32, producerID int64, commit bool) {
	c.mu.Lock()
	ps := c.partitions[p]
	if ps == nil {
		c.mu.Unlock()
		c.log.Debug().Int32("partition", p).Int64("producer_id", producerID).Msg("transaction marker for a partition this coordinator does not own")
		return
	}
	if !ps.loaded {
		ps.earlyMarkers = append(ps.earlyMarkers, txnOutcome{producerID, commit})
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()

	ps.writeMu.Lock()
	defer ps.writeMu.Unlock()
	c.completeTxn(ps, txnOutcome{producerID, commit}, func(id string) *group {
		c.mu.Lock()
		defer c.mu.Unlock()
		if g := c.groups[id]; g != nil && g.ps == ps {
			return g
		}
		return nil
	})
}

// completeTxn applies a transaction's outcome to the groups the index
// names, found by lookup. ps.writeMu held, or the partition not loaded yet.
func (c *Coordinator) completeTxn(ps *partitionState, o txnOutcome, lookup func(string) *group) {
	ids := ps.txnGroups[o.producerID]
	delete(ps.txnGroups, o.producerID)
	for id := range ids {
		g := lookup(id)
		if g == nil {
			continue
		}
		g.mu.Lock()
		if n := g.completeTxn(o.producerID, o.commit); n > 0 {
			c.log.Debug().Str("group", id).Int64("producer_id", o.producerID).Bool("commit", o.commit).Int("offsets", n).Msg("completed transactional offset commit")
		}
		g.unlock()
	}
}

// completeTxn ends the producer's pending offsets of the group and returns
// how many there were. g.mu held.
func (g *group) completeTxn(producerID int64, commit bool) int {
	pending := g.pendingTxn[producerID]
	delete(g.pendingTxn, producerID)
	if !commit || g.is(stateDead) {
		return len(pending)
	}
	for tp, e := range pending {
		if cur, ok := g.offsets[tp]; !ok || cur.position < e.position {
			g.offsets[tp] = e
		}
	}
	return len(pending)
}

// hasPendingTransactionalOffsets reports whether a transactional commit is
// waiting for its marker on the partition. g.mu held.
func (g *group) hasPendingTransactionalOffsets(tp topicPartition) bool {
	for _, offs := range g.pendingTxn {
		if _, ok := offs[tp]; ok {
			return true
		}
	}
	return false
}

// pendingPartitions lists the partitions with pending transactional
// offsets. g.mu held.
func (g *group) pendingPartitions() map[topicPartition]bool {
	out := make(map[topicPartition]bool)
	for _, offs := range g.pendingTxn {
		for tp := range offs {
			out[tp] = true
		}
	}
	return out
}

// dropOffset removes the partition's committed offset and its pending
// transactional ones, as its tombstone does on replay. g.mu held.
func (g *group) dropOffset(tp topicPartition) {
	delete(g.offsets, tp)
	for producerID, offs := range g.pendingTxn {
		delete(offs, tp)
		if len(offs) == 0 {
			delete(g.pendingTxn, producerID)
		}
	}
}
