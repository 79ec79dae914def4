package replica

// Replication, the follower's side: num.replica.fetchers fetchers per
// leader broker, each with its own connection, copy the logs of the
// partitions this broker follows there, as Kafka's ReplicaFetcherThreads
// do; a partition goes to fetcher hash(topic, partition) mod that number.
// Changing num.replica.fetchers moves partitions between fetchers (each
// truncates again, which is harmless) and stops the fetchers left empty.
//
// A partition joining a fetcher (new leader, new epoch) first truncates:
// it asks the leader, with OffsetForLeaderEpoch, where the newest epoch of
// its own log ends in the leader's log, and cuts its log there (KIP-101,
// KIP-279), so its log never diverges from the leader's. Then it fetches
// from its log end offset with Fetch (replica id set), appends what comes
// back as it is, and takes the leader's high watermark (capped by its own
// log end) and log start offset. A partition whose leader answers that it
// is not the leader, or fences the epoch, waits for the store's next
// state, which moves it to another fetcher or makes it leader.

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/wire"
)

// Versions of the requests followers send; every Samsa broker serves them.
const (
	replicaFetchVersion     = 12 // the newest that names topics and carries replica_id
	replicaOffsetForEpochV  = 4
	fetcherIdleWait         = time.Second
	fetcherErrorBackoffBase = 50 * time.Millisecond
	// notYetLeaderBackoff is the first wait after a leader refused a
	// partition it does not know it leads yet (fetchState.notYetLeader).
	notYetLeaderBackoff = 10 * time.Millisecond
)

// fetcherKey names a fetcher: the leader broker it copies from and its
// number among that leader's fetchers.
type fetcherKey struct {
	leader int32
	id     int32
}

// fetchers holds the fetchers of each leader broker.
type fetchers struct {
	m      *Manager
	mu     sync.Mutex
	byKey  map[fetcherKey]*fetcher
	count  int32 // num.replica.fetchers
	closed bool
}

func newFetchers(m *Manager) *fetchers {
	return &fetchers{m: m, byKey: make(map[fetcherKey]*fetcher), count: max(m.cfg.NumReplicaFetchers, 1)}
}

// fetcherID is the fetcher of a leader that copies topic-partition, as
// Kafka picks it: abs(31 * topic.hashCode + partition) mod count.
func fetcherID(topic string, partition, count int32) int32 {
	var h int32
	for _, r := range topic {
		h = 31*h + int32(r)
	}
	id := (31*h + partition) % count
	if id < 0 {
		id = -id
	}
	return id
}

// add makes the right fetcher of leader copy p at leader epoch epoch,
// moving p from any other fetcher. p truncates first.
func (fs *fetchers) add(p *Partition, leader, epoch int32) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed {
		return
	}
	fs.addLocked(p, fetcherKey{leader: leader, id: fetcherID(p.topic, p.index, fs.count)}, epoch)
}

func (fs *fetchers) addLocked(p *Partition, key fetcherKey, epoch int32) {
	for k, f := range fs.byKey {
		if k != key {
			f.remove(p)
		}
	}
	f := fs.byKey[key]
	if f == nil {
		f = newFetcher(fs.m, key)
		fs.byKey[key] = f
		fs.m.background(f.run)
	}
	f.add(p, epoch)
}

// setCount applies num.replica.fetchers: partitions whose fetcher number
// changes move, and fetchers left with nothing to copy stop.
func (fs *fetchers) setCount(n int32) {
	n = max(n, 1)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.closed || n == fs.count {
		return
	}
	fs.count = n
	type move struct {
		p     *Partition
		key   fetcherKey
		epoch int32
	}
	var moves []move
	for k, f := range fs.byKey {
		f.mu.Lock()
		for p, st := range f.parts {
			if want := (fetcherKey{leader: k.leader, id: fetcherID(p.topic, p.index, n)}); want != k {
				moves = append(moves, move{p, want, st.epoch})
			}
		}
		f.mu.Unlock()
	}
	for _, m := range moves {
		fs.addLocked(m.p, m.key, m.epoch)
	}
	for k, f := range fs.byKey {
		if k.id >= n && f.empty() {
			f.stop()
			delete(fs.byKey, k)
		}
	}
}

// remove stops copying p.
func (fs *fetchers) remove(p *Partition) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.byKey {
		f.remove(p)
	}
}

// close stops every fetcher.
func (fs *fetchers) close() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.closed = true
	for _, f := range fs.byKey {
		f.stop()
	}
}

// fetchState is a partition's place in its fetcher.
type fetchState struct {
	epoch    int32 // the leader epoch it follows
	truncate bool  // must truncate against the leader before fetching
	// retryAt delays a partition the leader refused for now.
	retryAt time.Time
	// notYetLeader counts the leader's refusals of a partition it does
	// not know it leads yet (a new topic or leadership the leader has not
	// applied): retried after a short, growing wait rather than
	// replica.fetch.backoff.ms, so a new topic's followers start at once.
	notYetLeader int
}

// fetcher copies partitions from one leader.
type fetcher struct {
	m      *Manager
	leader int32
	id     int32 // among the leader's fetchers

	mu     sync.Mutex
	parts  map[*Partition]*fetchState
	wake   chan struct{}
	done   chan struct{}
	client *wire.Client
	addr   string
	// interrupt cancels the long-poll fetch in flight (nil: none), so a
	// partition added while the leader holds it waits for no
	// replica.fetch.wait.max.ms: the first acks=all writes to a new topic
	// need its followers fetching at once. interrupted says it was used.
	interrupt   context.CancelFunc
	interrupted bool

	// session is the incremental fetch session (KIP-227) this fetcher
	// holds on its leader: only the run goroutine touches it.
	session fetchSession
}

// fetchSession is a follower's side of an incremental fetch session
// (KIP-227), as Kafka's followers hold one per fetcher: after the full
// fetch that creates it, a fetch names only the partitions whose fetch
// position changed (and forgets those that left), and the leader answers
// only partitions with news. A follower of 10,000 idle partitions so
// sends and reads a few bytes per long poll instead of 10,000
// partitions each way.
type fetchSession struct {
	id    int32 // 0: none; the next fetch is a full one creating one
	epoch int32 // the epoch the next fetch carries
	// closing is a session given up (its last fetch's fate unknown):
	// the next full fetch names it, so the leader drops it at once.
	closing int32
	// sent is the fetch position the leader's session holds for each
	// partition.
	sent map[*Partition]sentPosition
}

type sentPosition struct {
	fetchOffset, logStartOffset int64
	leaderEpoch                 int32
}

// reset gives the session up: the next fetch is a full one.
func (s *fetchSession) reset() {
	if s.id != 0 {
		s.closing = s.id
	}
	s.id, s.epoch, s.sent = 0, 0, nil
}

func newFetcher(m *Manager, key fetcherKey) *fetcher {
	return &fetcher{m: m, leader: key.leader, id: key.id, parts: make(map[*Partition]*fetchState), wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (f *fetcher) add(p *Partition, epoch int32) {
	f.mu.Lock()
	f.parts[p] = &fetchState{epoch: epoch, truncate: true}
	if f.interrupt != nil {
		f.interrupted = true
		f.interrupt()
		f.interrupt = nil
	}
	f.mu.Unlock()
	f.poke()
}

func (f *fetcher) remove(p *Partition) {
	f.mu.Lock()
	delete(f.parts, p)
	f.mu.Unlock()
}

func (f *fetcher) empty() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.parts) == 0
}

// owns tells whether p is still this fetcher's to copy at epoch: a
// response that arrives after p moved to another fetcher is dropped.
func (f *fetcher) owns(p *Partition, epoch int32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.parts[p]
	return ok && s.epoch == epoch
}

func (f *fetcher) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) stop() {
	select {
	case <-f.done:
	default:
		close(f.done)
	}
}

// snapshot returns the partitions ready for work now, and when the next
// delayed one is.
func (f *fetcher) snapshot(now time.Time) (map[*Partition]fetchState, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[*Partition]fetchState, len(f.parts))
	var next time.Time
	for p, s := range f.parts {
		if now.Before(s.retryAt) {
			if next.IsZero() || s.retryAt.Before(next) {
				next = s.retryAt
			}
			continue
		}
		out[p] = *s
	}
	return out, next
}

// update changes a partition's state if it still follows epoch here.
func (f *fetcher) update(p *Partition, epoch int32, fn func(*fetchState)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.parts[p]; ok && s.epoch == epoch {
		fn(s)
	}
}

func (f *fetcher) run() {
	defer func() {
		if f.client != nil {
			f.client.Close()
		}
	}()
	backoff := time.Duration(0)
	for {
		select {
		case <-f.done:
			return
		case <-f.m.closed:
			return
		default:
		}
		parts, next := f.snapshot(f.m.now())
		if len(parts) == 0 {
			wait := fetcherIdleWait
			if !next.IsZero() {
				wait = min(wait, time.Until(next))
			}
			f.sleep(wait, true)
			continue
		}
		err := f.round(parts)
		if err == nil {
			backoff = 0
			continue
		}
		if f.client != nil {
			f.client.Close()
			f.client = nil
		}
		backoff = min(max(2*backoff, fetcherErrorBackoffBase), f.m.cfg.ReplicaFetchBackoff)
		f.m.logger.Debug().Err(err).Int32("leader", f.leader).Dur("retry_in", backoff).Msg("replica fetch failed")
		f.sleep(backoff, false)
	}
}

// sleep waits d, or less when woken (if wakeable) or stopped.
func (f *fetcher) sleep(d time.Duration, wakeable bool) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	wake := f.wake
	if !wakeable {
		wake = nil
	}
	select {
	case <-t.C:
	case <-wake:
	case <-f.done:
	case <-f.m.closed:
	}
}

// connect dials the leader's advertised address (through Options.Dial).
func (f *fetcher) connect() error {
	addr := ""
	for _, br := range f.m.store.Brokers() {
		if br.ID == f.leader {
			host, port := br.Addr(f.m.cfg.InterBrokerListener().Name)
			addr = net.JoinHostPort(host, strconv.Itoa(int(port)))
		}
	}
	if addr == "" {
		return errors.New("leader is not a live broker")
	}
	if f.client != nil && f.addr == addr {
		return nil
	}
	if f.client != nil {
		f.client.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.m.cfg.ReplicaSocketTimeout)
	defer cancel()
	c, err := wire.DialWith(ctx, f.m.dial, addr, "samsa-replica-fetcher-"+strconv.Itoa(int(f.m.cfg.BrokerID))+"-"+strconv.Itoa(int(f.id)))
	if err != nil {
		return err
	}
	f.client, f.addr = c, addr
	return nil
}

func (f *fetcher) request(req kmsg.Request, timeout time.Duration) (kmsg.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return f.client.Request(ctx, req)
}

// round truncates the partitions that need it, then fetches once.
func (f *fetcher) round(parts map[*Partition]fetchState) error {
	if err := f.connect(); err != nil {
		return err
	}
	var truncating []*Partition
	for p, s := range parts {
		if s.truncate {
			truncating = append(truncating, p)
		}
	}
	if len(truncating) > 0 {
		if err := f.truncate(truncating, parts); err != nil {
			return err
		}
	}
	// The partitions ready to fetch now, those just truncated included:
	// a new partition's first fetch goes in this round, not after the
	// leader held this one for replica.fetch.wait.max.ms.
	var fetching []*Partition
	now := f.m.now()
	f.mu.Lock()
	for p, snap := range parts {
		if s, ok := f.parts[p]; ok && s.epoch == snap.epoch && !s.truncate && !now.Before(s.retryAt) {
			fetching = append(fetching, p)
		}
	}
	f.mu.Unlock()
	if len(fetching) == 0 {
		return nil
	}
	return f.fetch(fetching, parts)
}

// truncate asks the leader where each partition's newest epoch ends and
// cuts the local log there.
func (f *fetcher) truncate(ps []*Partition, parts map[*Partition]fetchState) error {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.Version = replicaOffsetForEpochV
	req.ReplicaID = f.m.cfg.BrokerID
	for _, group := range groupByTopic(ps) {
		t := kmsg.NewOffsetForLeaderEpochRequestTopic()
		t.Topic = group[0].topic
		for _, p := range group {
			rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
			rp.Partition = p.index
			rp.CurrentLeaderEpoch = parts[p].epoch
			rp.LeaderEpoch = p.log.LatestEpoch()
			t.Partitions = append(t.Partitions, rp)
		}
		req.Topics = append(req.Topics, t)
	}
	resp, err := f.request(req, f.m.cfg.ReplicaSocketTimeout)
	if err != nil {
		return err
	}
	byName := indexPartitions(ps)
	for _, rt := range resp.(*kmsg.OffsetForLeaderEpochResponse).Topics {
		for _, rp := range rt.Partitions {
			p := byName.find(rt.Topic, rp.Partition)
			if p == nil {
				continue
			}
			epoch := parts[p].epoch
			if rp.ErrorCode != 0 {
				f.refused(p, epoch, rp.ErrorCode)
				continue
			}
			if err := f.truncateTo(p, epoch, rp.LeaderEpoch, rp.EndOffset); err != nil {
				f.m.logger.Error().Err(err).Str("topic", p.topic).Int32("partition", p.index).Msg("truncate to the leader")
				f.update(p, epoch, func(s *fetchState) { s.retryAt = f.m.now().Add(f.m.cfg.ReplicaFetchBackoff) })
				continue
			}
			f.update(p, epoch, func(s *fetchState) { s.truncate, s.notYetLeader = false, 0 })
		}
	}
	return nil
}

// truncateTo cuts p's log where the leader's log diverges from it: at the
// end of the leader's answer for its epoch, or the end of that epoch in
// its own log when shorter (KIP-279). Without any epoch in common the log
// is cut to its high watermark, as Kafka does.
func (f *fetcher) truncateTo(p *Partition, epoch, leaderEpoch int32, leaderEnd int64) error {
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	if p.role != roleFollower || p.state.LeaderEpoch != epoch {
		return nil // the state moved on; the next one decides
	}
	target := p.log.HighWatermark()
	if leaderEpoch >= 0 && leaderEnd >= 0 {
		_, ownEnd := p.log.EndOffsetForEpoch(leaderEpoch)
		target = leaderEnd
		if ownEnd >= 0 && ownEnd < target {
			target = ownEnd
		}
	}
	f.m.logger.Debug().Str("topic", p.topic).Int32("partition", p.index).Int32("leader_epoch_asked", leaderEpoch).
		Int64("leader_end", leaderEnd).Int64("target", target).Int64("log_end_offset", p.log.Offsets().LogEndOffset).Msg("truncation point")
	if target < p.log.Offsets().LogEndOffset {
		f.m.logger.Info().Str("topic", p.topic).Int32("partition", p.index).Int64("to", target).
			Int64("log_end_offset", p.log.Offsets().LogEndOffset).Msg("truncating to the leader's log")
	}
	if target < p.log.Offsets().LogStartOffset {
		return p.log.TruncateFully(target)
	}
	return p.log.TruncateTo(target)
}

// fetch sends one Fetch for the partitions and applies the answer.
func (f *fetcher) fetch(ps []*Partition, parts map[*Partition]fetchState) error {
	cfg := f.m.cfg
	req := kmsg.NewPtrFetchRequest()
	req.Version = replicaFetchVersion
	req.ReplicaID = cfg.BrokerID
	req.MinBytes = cfg.ReplicaFetchMinBytes
	req.MaxBytes = cfg.ReplicaFetchResponseMaxBytes
	sess := &f.session
	full := sess.id == 0
	if full {
		req.SessionID, req.SessionEpoch = sess.closing, 0 // a new session (closing the old)
	} else {
		req.SessionID, req.SessionEpoch = sess.id, sess.epoch
	}
	sending := make(map[*Partition]sentPosition, len(ps))
	var changed []*Partition
	for _, p := range ps {
		off := p.log.Offsets()
		pos := sentPosition{fetchOffset: off.LogEndOffset, logStartOffset: off.LogStartOffset, leaderEpoch: parts[p].epoch}
		sending[p] = pos
		if prev, ok := sess.sent[p]; full || !ok || prev != pos {
			changed = append(changed, p)
		}
	}
	for _, group := range groupByTopic(changed) {
		t := kmsg.NewFetchRequestTopic()
		t.Topic = group[0].topic
		for _, p := range group {
			pos := sending[p]
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition = p.index
			rp.CurrentLeaderEpoch = pos.leaderEpoch
			rp.FetchOffset = pos.fetchOffset
			rp.LogStartOffset = pos.logStartOffset
			rp.PartitionMaxBytes = cfg.ReplicaFetchMaxBytes
			t.Partitions = append(t.Partitions, rp)
		}
		req.Topics = append(req.Topics, t)
	}
	if !full {
		// Partitions that left the round (backing off, truncating, gone)
		// leave the session until they fetch again.
		var gone []*Partition
		for p := range sess.sent {
			if _, ok := sending[p]; !ok {
				gone = append(gone, p)
			}
		}
		for _, group := range groupByTopic(gone) {
			ft := kmsg.NewFetchRequestForgottenTopic()
			ft.Topic = group[0].topic
			for _, p := range group {
				ft.Partitions = append(ft.Partitions, p.index)
			}
			req.ForgottenTopics = append(req.ForgottenTopics, ft)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ReplicaSocketTimeout+cfg.ReplicaFetchWaitMax)
	defer cancel()
	// The leader holds the fetch at most replica.fetch.wait.max.ms, and
	// no longer than until a partition left out of it is due: one its
	// leader did not know it led a moment ago (retried in milliseconds),
	// or one that joined or became due since the round began (at once).
	// Decided under the same lock add takes to cut a fetch in flight
	// short, so a partition joining at any moment waits for no long poll.
	maxWait, now := cfg.ReplicaFetchWaitMax, f.m.now()
	f.mu.Lock()
	for p, s := range f.parts {
		if _, in := sending[p]; in {
			continue
		}
		maxWait = max(0, min(maxWait, s.retryAt.Sub(now)))
	}
	req.MaxWaitMillis = int32(maxWait.Milliseconds())
	f.interrupt, f.interrupted = cancel, false
	f.mu.Unlock()
	resp, err := f.client.Request(ctx, req)
	f.mu.Lock()
	interrupted := f.interrupted
	f.interrupt, f.interrupted = nil, false
	f.mu.Unlock()
	if err != nil {
		// Whether the leader took this fetch (and moved the session's
		// epoch) is unknown: the next fetch starts a new session.
		sess.reset()
	}
	if err != nil && interrupted {
		// A partition joined while the leader held the fetch: the
		// connection is dropped with the fetch (its answer would come
		// later), and the next round dials again at once.
		f.client.Close()
		f.client = nil
		return nil
	}
	if err != nil {
		return err
	}
	fr := resp.(*kmsg.FetchResponse)
	switch fr.ErrorCode {
	case 0:
	case kerr.FetchSessionIDNotFound.Code, kerr.InvalidFetchSessionEpoch.Code:
		// The leader lost or moved on from the session (it restarted,
		// or evicted it): a full fetch now.
		sess.reset()
		sess.closing = 0
		return nil
	default:
		sess.reset()
		return kerr.ErrorForCode(fr.ErrorCode)
	}
	if full {
		sess.closing = 0
		if fr.SessionID != 0 {
			sess.id, sess.epoch, sess.sent = fr.SessionID, 1, sending
		}
	} else {
		sess.sent = sending
		if sess.epoch++; sess.epoch <= 0 {
			sess.epoch = 1
		}
	}
	byName := indexPartitions(ps)
	for _, rt := range fr.Topics {
		for i := range rt.Partitions {
			rp := &rt.Partitions[i]
			p := byName.find(rt.Topic, rp.Partition)
			if p == nil {
				continue
			}
			f.applyFetched(p, parts[p].epoch, rp)
		}
	}
	return nil
}

// applyFetched appends one partition's records and takes the leader's high
// watermark and log start offset.
func (f *fetcher) applyFetched(p *Partition, epoch int32, rp *kmsg.FetchResponseTopicPartition) {
	if rp.ErrorCode != 0 {
		if rp.ErrorCode == kerr.OffsetOutOfRange.Code {
			f.outOfRange(p, epoch, rp.LogStartOffset)
			return
		}
		f.refused(p, epoch, rp.ErrorCode)
		return
	}
	p.roleMu.RLock()
	defer p.roleMu.RUnlock()
	if p.role != roleFollower || p.state.LeaderEpoch != epoch || !f.owns(p, epoch) {
		return
	}
	if len(rp.RecordBatches) > 0 {
		if _, err := p.log.AppendAsFollower(rp.RecordBatches); err != nil {
			f.m.logger.Error().Err(err).Str("topic", p.topic).Int32("partition", p.index).Msg("append from the leader")
			f.update(p, epoch, func(s *fetchState) { s.truncate, s.retryAt = true, f.m.now().Add(f.m.cfg.ReplicaFetchBackoff) })
			return
		}
	}
	off := p.log.Offsets()
	if e := f.m.logger.Trace(); e.Enabled() && len(rp.RecordBatches) > 0 {
		e.Str("topic", p.topic).Int32("partition", p.index).Int32("leader", f.leader).Int32("leader_epoch", epoch).
			Int("bytes", len(rp.RecordBatches)).Int64("log_end_offset", off.LogEndOffset).Int64("leader_high_watermark", rp.HighWatermark).Msg("appended from the leader")
	}
	p.log.SetHighWatermark(min(rp.HighWatermark, off.LogEndOffset))
	if rp.LogStartOffset > off.LogStartOffset {
		if _, err := p.log.DeleteRecords(min(rp.LogStartOffset, p.log.HighWatermark())); err != nil {
			f.m.logger.Warn().Err(err).Str("topic", p.topic).Int32("partition", p.index).Msg("follow the leader's log start offset")
		}
	}
	p.notifyAppended()
}

// outOfRange handles a fetch offset the leader does not have: below its
// log start, the follower starts over there; above its log end, the
// follower truncates again.
func (f *fetcher) outOfRange(p *Partition, epoch int32, leaderStart int64) {
	p.roleMu.RLock()
	follower := p.role == roleFollower && p.state.LeaderEpoch == epoch
	var err error
	if follower && leaderStart > p.log.Offsets().LogEndOffset {
		f.m.logger.Info().Str("topic", p.topic).Int32("partition", p.index).Int64("leader_log_start", leaderStart).Msg("behind the leader's log start; starting over there")
		err = p.log.TruncateFully(leaderStart)
	}
	p.roleMu.RUnlock()
	if err != nil {
		f.m.logger.Error().Err(err).Str("topic", p.topic).Int32("partition", p.index).Msg("restart the log at the leader's start")
	}
	f.update(p, epoch, func(s *fetchState) { s.truncate = true })
}

// refused backs a partition off after the leader refused it: the store's
// next state (a new leader or epoch) brings it back.
func (f *fetcher) refused(p *Partition, epoch int32, code int16) {
	f.m.logger.Debug().Str("topic", p.topic).Int32("partition", p.index).Int32("leader", f.leader).
		Str("error", kerr.ErrorForCode(code).Error()).Msg("leader refused the fetch")
	f.update(p, epoch, func(s *fetchState) {
		backoff := f.m.cfg.ReplicaFetchBackoff
		switch code {
		case kerr.UnknownTopicOrPartition.Code, kerr.NotLeaderForPartition.Code, kerr.UnknownLeaderEpoch.Code:
			// The store names the leader already; it has not caught up
			// with it yet. 10 ms, doubling, up to the backoff.
			backoff = min(backoff, notYetLeaderBackoff<<min(s.notYetLeader, 16))
			s.notYetLeader++
		}
		s.retryAt = f.m.now().Add(backoff)
		s.truncate = s.truncate || code == kerr.FencedLeaderEpoch.Code || code == kerr.UnknownLeaderEpoch.Code
	})
}

// groupByTopic groups partitions by topic, topics in first-seen order.
func groupByTopic(ps []*Partition) [][]*Partition {
	var groups [][]*Partition
	index := map[string]int{}
	for _, p := range ps {
		i, ok := index[p.topic]
		if !ok {
			i = len(groups)
			index[p.topic] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], p)
	}
	return groups
}

// partitionsByName indexes the partitions of a request, so that matching
// a response of 10,000 partitions to them is not 10,000 scans of 10,000.
type partitionsByName map[plog.TopicPartition]*Partition

func indexPartitions(ps []*Partition) partitionsByName {
	m := make(partitionsByName, len(ps))
	for _, p := range ps {
		m[plog.TopicPartition{Topic: p.topic, Partition: p.index}] = p
	}
	return m
}

func (m partitionsByName) find(topic string, index int32) *Partition {
	return m[plog.TopicPartition{Topic: topic, Partition: index}]
}
