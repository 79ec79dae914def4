package replica

// Replication, the leader's side (the follower's is fetcher.go).
//
// Partition states come from the store (controller package): leader,
// leader epoch, replicas, ISR and partition epoch. applyPartitionState
// turns a newer state into this broker's role: a new leader epoch naming
// this broker makes it leader; naming another makes it a follower, which
// truncates its log against the leader's (KIP-101, KIP-279) and then
// fetches from it.
//
// The leader tracks each follower's log end offset from the offsets its
// fetches ask for. The high watermark is the smallest log end offset in
// the ISR and only moves forward; consumers read below it. A follower that
// has not caught up with the leader's log end offset for
// replica.lag.time.max.ms leaves the ISR; one that reaches the high
// watermark (and the start of the leader's epoch) joins it again. ISR
// changes go through the store (AlterPartition, one in flight at a time)
// and count for the high watermark while in flight as the union of the old
// and the proposed ISR (KIP-497's "maximal ISR"), so a shrink never moves
// the high watermark past a replica before the store agreed. A leader that
// was replaced learns it when AlterPartition fails as stale, or from the
// store's next state.

import (
	"context"
	"slices"
	"time"

	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
)

// followerState is what a leader knows of one follower.
type followerState struct {
	leo int64 // log end offset from its last fetch; -1 until it fetched
	// lastCaughtUp is when it last had everything the leader had, as
	// Kafka counts it: the time of a fetch at the leader's log end offset,
	// or of the previous fetch when this one reached the log end offset
	// the leader had then.
	lastCaughtUp         time.Time
	lastFetch            time.Time
	leaderLEOAtLastFetch int64
}

// ApplyState applies a partition state from the store to p as Sync does,
// when it is newer than the one applied, and then starts or stops p's
// fetcher and tells Options.LeadershipChanged.
func (m *Manager) ApplyState(p *Partition, st controller.Partition) {
	if then := m.applyPartitionState(p, st); then != nil {
		then()
	}
}

// applyPartitionState applies a state from the store when it is newer
// than the one applied (a higher leader epoch, or the same leader epoch
// with a higher partition epoch). It returns what must happen outside the
// partition table's lock (followers start fetching, coordinators load).
func (m *Manager) applyPartitionState(p *Partition, st controller.Partition) func() {
	p.roleMu.Lock()
	defer p.roleMu.Unlock()
	cur := p.state
	applied := cur.Replicas != nil
	if applied && (st.LeaderEpoch < cur.LeaderEpoch || (st.LeaderEpoch == cur.LeaderEpoch && st.PartitionEpoch <= cur.PartitionEpoch)) {
		return nil
	}
	st.Replicas, st.ISR = slices.Clone(st.Replicas), slices.Clone(st.ISR)
	p.state = st
	p.leaderEpoch.Store(st.LeaderEpoch)
	newLeadership := !applied || st.LeaderEpoch != cur.LeaderEpoch || st.Leader != cur.Leader
	if !newLeadership {
		// The ISR changed under the same leader.
		if p.role == roleLeader {
			p.isrMu.Lock()
			m.advanceHighWatermarkLocked(p)
			p.isrMu.Unlock()
		}
		return nil
	}
	p.leaderID.Store(st.Leader)
	defer p.signalChanged()
	switch {
	case st.Leader == m.cfg.BrokerID:
		m.becomeLeaderLocked(p)
		return func() {
			m.fetchers.remove(p)
			m.notifyLeadership(p, true)
		}
	case slices.Contains(st.Replicas, m.cfg.BrokerID):
		p.role = roleFollower
		p.epochStartOffset.Store(-1)
		p.isrMu.Lock()
		p.followers, p.pendingISR = nil, nil
		p.isrMu.Unlock()
		leader, epoch := st.Leader, st.LeaderEpoch
		m.logger.Debug().Str("topic", p.topic).Int32("partition", p.index).Int32("leader", leader).Int32("leader_epoch", epoch).Msg("following")
		return func() {
			if leader >= 0 {
				m.fetchers.add(p, leader, epoch)
			} else {
				m.fetchers.remove(p)
			}
			m.notifyLeadership(p, false)
		}
	default:
		p.role = roleNone
		p.epochStartOffset.Store(-1)
		return func() {
			m.fetchers.remove(p)
			m.notifyLeadership(p, false)
		}
	}
}

// becomeLeaderLocked makes this broker the partition's leader (roleMu
// held for writing).
func (m *Manager) becomeLeaderLocked(p *Partition) {
	p.role = roleLeader
	p.epochStartOffset.Store(p.log.Offsets().LogEndOffset)
	if err := p.log.BecomeLeader(p.state.LeaderEpoch); err != nil {
		m.logger.Error().Err(err).Str("topic", p.topic).Int32("partition", p.index).Msg("record leader epoch")
	}
	now := m.now()
	p.isrMu.Lock()
	defer p.isrMu.Unlock()
	p.followers = make(map[int32]*followerState)
	for _, id := range p.state.Replicas {
		if id == m.cfg.BrokerID {
			continue
		}
		f := &followerState{leo: -1, leaderLEOAtLastFetch: -1}
		if slices.Contains(p.state.ISR, id) {
			// As Kafka: an in-sync follower gets a full lag window to
			// fetch from its new leader.
			f.lastCaughtUp = now
		}
		p.followers[id] = f
	}
	p.pendingISR = nil
	m.advanceHighWatermarkLocked(p)
	off := p.log.Offsets()
	m.logger.Debug().Str("topic", p.topic).Int32("partition", p.index).Int32("leader_epoch", p.state.LeaderEpoch).Ints32("isr", p.state.ISR).
		Int64("log_end_offset", off.LogEndOffset).Int64("high_watermark", p.log.HighWatermark()).Msg("leading")
}

// stopReplica ends this broker's part in a partition (its topic was
// deleted).
func (m *Manager) stopReplica(p *Partition) {
	p.roleMu.Lock()
	p.role = roleNone
	p.leaderID.Store(-1)
	p.roleMu.Unlock()
	p.signalChanged()
	m.fetchers.remove(p)
	m.notifyLeadership(p, false)
}

// notifyLeadership tells Options.LeadershipChanged of this broker's new
// part in p.
func (m *Manager) notifyLeadership(p *Partition, leader bool) {
	if m.leadershipChanged != nil {
		m.leadershipChanged(p.topic, p.index, leader)
	}
}

// maximalISRLocked is the ISR plus any replica a change in flight would
// add (isrMu held).
func maximalISRLocked(p *Partition) []int32 {
	isr := p.state.ISR
	for _, id := range p.pendingISR {
		if !slices.Contains(isr, id) {
			isr = append(slices.Clone(isr), id)
		}
	}
	return isr
}

// advanceHighWatermarkLocked moves the high watermark to the smallest log
// end offset of the maximal ISR, if that is further (isrMu held, roleMu
// held at least for reading).
//
// It reports whether the high watermark moved (and watchers were woken).
func (m *Manager) advanceHighWatermarkLocked(p *Partition) (moved bool) {
	if p.role != roleLeader {
		return false
	}
	hw := p.log.Offsets().LogEndOffset
	for _, id := range maximalISRLocked(p) {
		if id == m.cfg.BrokerID {
			continue
		}
		f := p.followers[id]
		if f == nil || f.leo < 0 {
			return false // not known yet: the high watermark waits
		}
		hw = min(hw, f.leo)
	}
	if hw > p.log.HighWatermark() {
		if e := m.logger.Trace(); e.Enabled() {
			leos := make([]int64, 0, len(p.followers))
			for _, id := range maximalISRLocked(p) {
				if f := p.followers[id]; f != nil {
					leos = append(leos, int64(id), f.leo)
				}
			}
			e.Str("topic", p.topic).Int32("partition", p.index).Int64("high_watermark", hw).Ints32("isr", maximalISRLocked(p)).
				Ints64("follower_leos", leos).Msg("high watermark moved")
		}
		p.log.SetHighWatermark(hw)
		p.signalChanged()
		return true
	}
	return false
}

// AppendAsLeader appends one batch if this broker leads the partition
// (ErrNotLeader otherwise), and returns the result with the leader epoch
// it was written under. With acksAll, an ISR smaller than
// min.insync.replicas refuses the write first (ErrNotEnoughReplicas). A
// failure of the log is returned as the log reports it.
func (m *Manager) AppendAsLeader(p *Partition, batch []byte, nowMs int64, acksAll bool) (plog.AppendResult, int32, error) {
	return m.AppendAsLeaderWithGuard(p, batch, nowMs, acksAll, plog.SkipVerification)
}

// AppendAsLeaderWithGuard is AppendAsLeader for a batch verified with
// the transaction coordinator (KIP-890): guard is the one the log gave
// (Log.VerificationGuard) before the broker asked, or
// plog.SkipVerification. A transactional batch that would open a
// transaction with a guard the log no longer holds is refused with
// plog.ErrInvalidTxnState.
func (m *Manager) AppendAsLeaderWithGuard(p *Partition, batch []byte, nowMs int64, acksAll bool, guard uint64) (plog.AppendResult, int32, error) {
	return m.appendAsLeader(p, acksAll, func(epoch int32) (plog.AppendResult, error) {
		return p.log.AppendWithGuard(batch, epoch, nowMs, guard)
	})
}

// AppendMarkerAsLeader writes a transaction marker (WriteTxnMarkers) if
// this broker leads the partition, as AppendAsLeader with acks=all: an
// ISR smaller than min.insync.replicas refuses it (ErrNotEnoughReplicas),
// and the caller waits for it with WaitReplicated. Fencing by producer
// or coordinator epoch is the log's (plog.ErrInvalidProducerEpoch,
// plog.ErrCoordinatorFenced). Watchers are woken even when the high
// watermark stays: a marker can move the last stable offset by itself.
func (m *Manager) AppendMarkerAsLeader(p *Partition, mk plog.TxnMarker, nowMs int64) (plog.AppendResult, int32, error) {
	res, epoch, err := m.appendAsLeader(p, true, func(epoch int32) (plog.AppendResult, error) {
		return p.log.AppendMarker(mk, epoch, nowMs)
	})
	if err == nil {
		p.signalChanged()
	}
	return res, epoch, err
}

// appendAsLeader runs one leader append under the role lock, then moves
// the high watermark (a single-replica ISR commits at once) and wakes
// parked fetches.
func (m *Manager) appendAsLeader(p *Partition, acksAll bool, appendFn func(epoch int32) (plog.AppendResult, error)) (plog.AppendResult, int32, error) {
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	if p.role != roleLeader {
		return plog.AppendResult{}, 0, ErrNotLeader
	}
	if acksAll && len(p.state.ISR) < int(p.Config().MinInsyncReplicas) {
		return plog.AppendResult{}, 0, ErrNotEnoughReplicas
	}
	epoch := p.state.LeaderEpoch
	res, err := appendFn(epoch)
	if err != nil {
		return res, epoch, err
	}
	if !res.Duplicate {
		p.isrMu.Lock()
		moved := m.advanceHighWatermarkLocked(p)
		p.isrMu.Unlock()
		if !moved { // a moved high watermark woke the fetches already
			p.notifyAppended()
		}
	}
	return res, epoch, nil
}

// WaitReplicated waits until the high watermark passes target (an
// acks=all write), the leadership it was written under ends
// (ErrNotLeader), or the deadline passes (ErrReplicationTimeout). Once
// replicated, an ISR below min.insync.replicas answers
// ErrNotEnoughReplicasAfterAppend, as Kafka does.
func (m *Manager) WaitReplicated(ctx context.Context, p *Partition, epoch int32, target int64, deadline time.Time) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// The wake-up channel is taken only when the write must wait (then
	// the state is looked at again, so a change in between is not
	// missed): an append already replicated, as every one on a single
	// broker, makes no channel to close.
	var changed <-chan struct{}
	for {
		if done, err := m.Replicated(p, epoch, target); done {
			return err
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return ErrReplicationTimeout
		}
		if changed == nil {
			changed = p.changedSignal()
			continue
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		}
		select {
		case <-changed:
			changed = nil
		case <-timer.C:
			return ErrReplicationTimeout
		case <-ctx.Done():
			return ErrReplicationTimeout
		case <-m.closed:
			return ErrNotLeader
		}
	}
}

// Replicated tells, without waiting, whether WaitReplicated would return
// now, and with what.
func (m *Manager) Replicated(p *Partition, epoch int32, target int64) (done bool, err error) {
	p.roleMu.RLock()
	leading := p.role == roleLeader && p.state.LeaderEpoch == epoch
	isr := len(p.state.ISR)
	p.roleMu.RUnlock()
	switch {
	case !leading:
		return true, ErrNotLeader
	case p.log.HighWatermark() >= target:
		if isr < int(p.Config().MinInsyncReplicas) {
			return true, ErrNotEnoughReplicasAfterAppend
		}
		return true, nil
	}
	return false, nil
}

// FollowerFetched records a follower's fetch at offset: its log end
// offset, whether it is caught up, and, when it reached the high
// watermark, its return to the ISR. It answers ErrNotLeader when this
// broker does not lead the partition.
func (m *Manager) FollowerFetched(p *Partition, replica int32, offset int64, now time.Time) error {
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	if p.role != roleLeader {
		return ErrNotLeader
	}
	p.isrMu.Lock()
	defer p.isrMu.Unlock()
	f := p.followers[replica]
	leo := p.log.Offsets().LogEndOffset
	if f == nil || offset > leo {
		return nil // not a replica, or out of range: the read answers
	}
	f.leo = offset
	switch {
	case offset >= leo:
		f.lastCaughtUp = now
	case offset >= f.leaderLEOAtLastFetch && f.leaderLEOAtLastFetch >= 0:
		if f.lastFetch.After(f.lastCaughtUp) {
			f.lastCaughtUp = f.lastFetch
		}
	}
	f.leaderLEOAtLastFetch, f.lastFetch = leo, now
	if !slices.Contains(p.state.ISR, replica) && p.pendingISR == nil && offset >= p.log.HighWatermark() && m.brokerIsLive(replica) {
		_, epochStart := p.log.EndOffsetForEpoch(p.state.LeaderEpoch - 1)
		if offset >= epochStart {
			m.proposeISRLocked(p, append(slices.Clone(p.state.ISR), replica))
		}
	}
	m.advanceHighWatermarkLocked(p)
	return nil
}

// brokerIsLive reports whether a broker is registered in the cluster. A
// leader adds only live brokers to the ISR, as Kafka does (KIP-841): a
// follower still fetching after its ZooKeeper session lapsed is not one
// the controller could elect, and would be taken out again at once.
func (m *Manager) brokerIsLive(id int32) bool {
	for _, br := range m.store.Brokers() {
		if br.ID == id {
			return true
		}
	}
	return false
}

// shrinkISRs takes out of the ISR of every partition this broker leads the
// followers that have not caught up for replica.lag.time.max.ms.
func (m *Manager) shrinkISRs(now time.Time) {
	lag := m.cfg.ReplicaLagTimeMax
	for _, p := range m.LedPartitions() {
		p.roleMu.RLock()
		p.isrMu.Lock()
		if p.role == roleLeader && p.pendingISR == nil {
			var keep []int32
			for _, id := range p.state.ISR {
				if f := p.followers[id]; id != m.cfg.BrokerID && (f == nil || now.Sub(f.lastCaughtUp) > lag) {
					m.logger.Info().Str("topic", p.topic).Int32("partition", p.index).Int32("replica", id).
						Dur("lag", now.Sub(f.lastCaughtUpOrZero())).Msg("follower fell behind; shrinking the ISR")
					continue
				}
				keep = append(keep, id)
			}
			if len(keep) < len(p.state.ISR) {
				m.proposeISRLocked(p, keep)
			}
		}
		p.isrMu.Unlock()
		p.roleMu.RUnlock()
	}
}

func (f *followerState) lastCaughtUpOrZero() time.Time {
	if f == nil {
		return time.Time{}
	}
	return f.lastCaughtUp
}

// proposeISRLocked sends an ISR change to the store in the background
// (isrMu held). Until the store answers, the high watermark counts the
// union of the old and new ISR.
func (m *Manager) proposeISRLocked(p *Partition, isr []int32) {
	p.pendingISR = isr
	leaderEpoch, partitionEpoch, before := p.state.LeaderEpoch, p.state.PartitionEpoch, len(p.state.ISR)
	m.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := m.store.AlterPartition(ctx, p.topic, p.index, leaderEpoch, partitionEpoch, isr)
		p.roleMu.Lock()
		p.isrMu.Lock()
		p.pendingISR = nil
		if err == nil && p.role == roleLeader && st.LeaderEpoch == p.state.LeaderEpoch && st.PartitionEpoch > p.state.PartitionEpoch {
			st.Replicas, st.ISR = slices.Clone(st.Replicas), slices.Clone(st.ISR)
			p.state = st
			m.countISRChange(before, len(st.ISR))
		}
		m.advanceHighWatermarkLocked(p)
		p.isrMu.Unlock()
		p.roleMu.Unlock()
		p.signalChanged()
		if err != nil {
			m.logger.Info().Err(err).Str("topic", p.topic).Int32("partition", p.index).Ints32("isr", isr).Msg("ISR change not applied")
		} else {
			m.logger.Info().Str("topic", p.topic).Int32("partition", p.index).Ints32("isr", st.ISR).Msg("ISR changed")
		}
	})
}
