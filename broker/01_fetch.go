package broker

// Fetch. The oldest version served is the first answering with record
// batches v2.
//
// Record batches go out as the bytes the producer sent, straight from the
// segment files with sendfile (fetch_encode.go). Kafka's limits apply:
// partition_max_bytes per partition and max_bytes for the whole response,
// except that the first batch of the first partition with data is always
// returned whole even when larger (KIP-74). When fewer than min_bytes are
// ready the request waits up to max_wait_ms for appends to any of its
// partitions. v7+ uses incremental fetch sessions (KIP-227,
// fetch_session.go); v13+ names topics by ID (UNKNOWN_TOPIC_ID). Requests
// carrying a current leader epoch (v9+) are fenced per KIP-320. Consumers
// read below the high watermark; read_committed consumers read below the
// last stable offset (the first offset of the oldest open transaction, or
// the high watermark) and are told the aborted transactions in what they
// read, whose records they drop; read_uncommitted consumers see those
// records too.

import (
	"context"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/replica"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.Fetch, min: 4, max: 18, serve: (*Broker).serveFetch,
		note: "served by sendfile from the segment files (ranges of 16 KiB or less copied into the response, one send); max wait / min bytes; response and partition max bytes with the first batch always whole (KIP-74); incremental fetch sessions (KIP-227); topic IDs from v13; leader-epoch fencing (KIP-320)"})
}

func (b *Broker) serveFetch(ctx context.Context, conn *wire.Conn, kreq kmsg.Request) (*wire.Response, error) {
	req := kreq.(*kmsg.FetchRequest)
	now := b.now()
	plan := b.fetchSessions.plan(req, now)
	if plan.errorCode != 0 {
		b.observer.ResponseError(int16(kmsg.Fetch), plan.errorCode)
		parts := encodeFetchResponse(req.Version, plan.errorCode, 0, nil, nil)
		return &wire.Response{FlexibleHeader: req.Version >= 12, Parts: parts}, nil
	}

	maxBytes := int64(req.MaxBytes)
	if req.Version < 3 || maxBytes <= 0 {
		maxBytes = int64(^uint32(0) >> 1)
	}
	if fm := int64(b.cfg.FetchMaxBytes); fm > 0 && fm < maxBytes {
		maxBytes = fm
	}
	maxBytes = min(maxBytes, b.fetchQuotaWindowBytes(ctx, req))
	deadline := now.Add(time.Duration(req.MaxWaitMillis) * time.Millisecond)

	// Resolve partitions once; watch them all before the first read so an
	// append between read and wait is not missed.
	targets := make([]fetchTarget, len(plan.parts))
	wake := make(chan struct{}, 1)
	var watched []*replica.Partition
	// Kafka: a follower's fetch needs CLUSTER_ACTION on the cluster, a
	// consumer's READ on each topic (TOPIC_AUTHORIZATION_FAILED).
	mayRead := b.topicCheck(conn, acl.OpRead)
	if fetchReplicaID(req) >= 0 {
		clusterAction := b.authorizedCluster(conn, acl.OpClusterAction)
		mayRead = func(string) bool { return clusterAction }
	}
	for i, sp := range plan.parts {
		targets[i] = b.resolveFetchTarget(req.Version, sp)
		if t := targets[i]; t.errorCode != kerr.UnknownTopicID.Code && !mayRead(t.topicName) {
			targets[i] = fetchTarget{sp: sp, topicName: t.topicName, errorCode: kerr.TopicAuthorizationFailed.Code, leaderID: -1, leaderEpoch: -1}
		}
		if p := targets[i].p; p != nil {
			p.Watch(wake)
			watched = append(watched, p)
		}
	}
	defer func() {
		for _, p := range watched {
			p.Unwatch(wake)
		}
	}()
	if follower := fetchReplicaID(req); follower >= 0 {
		// A follower's fetch offset is its log end offset: the leader
		// tracks it for the ISR and the high watermark.
		for i := range targets {
			t := &targets[i]
			if t.p == nil {
				continue
			}
			if ce := t.sp.currentLeaderEpoch; ce >= 0 && ce != t.p.LeaderEpoch() {
				continue // answered with the fencing error below
			}
			if err := b.replicas.FollowerFetched(t.p, follower, t.sp.fetchOffset, now); err != nil {
				t.errorCode, t.p = errCode(err), nil
				t.leaderID, t.leaderEpoch = b.replicas.Leader(t.topicName, t.sp.key.partition)
			}
		}
	}

	var results []fetchPartitionResult
	var readStart time.Time // of the last read: request_percentage counts no wait (quotas.go)
	for {
		var bytesRead int64
		var anyError bool
		readStart = time.Now()
		results, bytesRead, anyError = b.readFetchTargets(req, targets, maxBytes)
		if bytesRead >= int64(req.MinBytes) || anyError || req.MaxWaitMillis <= 0 {
			break
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			break
		}
		releaseFetchResults(results)
		timer := time.NewTimer(wait)
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
		case <-b.closed:
		}
		timer.Stop()
		if ctx.Err() != nil || b.shuttingDown() {
			readStart = time.Now()
			results, _, _ = b.readFetchTargets(req, targets, maxBytes)
			break
		}
	}

	b.observeFetch(fetchReplicaID(req) >= 0, targets, results)
	if throttle := b.throttleFetch(ctx, conn, req, results, time.Since(readStart)); throttle > 0 {
		// Over consumer_byte_rate: no records, the throttle time, and the
		// session left as it was (quotas.go).
		releaseFetchResults(results)
		var sessionID int32
		if plan.session != nil {
			sessionID = plan.session.id
			b.fetchSessions.finish(plan.session, nil, b.now())
		}
		parts := encodeFetchResponse(req.Version, 0, sessionID, nil, nil)
		setFetchThrottle(parts, throttleMillis(throttle))
		return &wire.Response{FlexibleHeader: req.Version >= 12, Parts: parts}, nil
	}
	topics, served := b.assembleFetchResponse(req.Version, plan, targets, results)
	var sessionID int32
	if plan.session != nil {
		sessionID = plan.session.id
		b.fetchSessions.finish(plan.session, served, b.now())
	}
	parts := encodeFetchResponse(req.Version, 0, sessionID, topics, b.leaderEndpoints(topics, conn.Listener))
	return &wire.Response{
		FlexibleHeader: req.Version >= 12,
		Parts:          parts,
		Done:           func() { releaseFetchResults(results) },
	}, nil
}

// fetchTarget is one partition of a fetch, resolved against the broker's
// partition table.
type fetchTarget struct {
	sp        *sessionPartition
	p         *replica.Partition // nil when unknown
	topicName string
	errorCode int16
	// The current leader as the partition table knows it, for
	// NOT_LEADER_OR_FOLLOWER (KIP-951).
	leaderID, leaderEpoch int32
}

func (b *Broker) resolveFetchTarget(version int16, sp *sessionPartition) fetchTarget {
	t := fetchTarget{sp: sp, topicName: sp.key.topic}
	if version >= 13 {
		name, ok := b.replicas.TopicName(sp.key.topicID)
		if !ok {
			t.errorCode = kerr.UnknownTopicID.Code
			return t
		}
		t.topicName = name
	}
	p, err := b.replicas.LookupLeader(t.topicName, sp.key.partition)
	if err != nil {
		t.errorCode = errCode(err)
		t.leaderID, t.leaderEpoch = b.replicas.Leader(t.topicName, sp.key.partition)
		return t
	}
	t.p = p
	return t
}

// leaderEndpoints are the brokers a fetch response's leader hints name.
func (b *Broker) leaderEndpoints(topics []fetchTopicResult, listener string) []nodeEndpoint {
	var ids []int32
	for _, t := range topics {
		for _, p := range t.partitions {
			if p.currentLeaderID >= 0 && p.errorCode == kerr.NotLeaderForPartition.Code && !slices.Contains(ids, p.currentLeaderID) {
				ids = append(ids, p.currentLeaderID)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var nodes []nodeEndpoint
	for _, br := range b.store.Brokers() {
		if slices.Contains(ids, br.ID) {
			var n nodeEndpoint
			n.id, n.host, n.port, n.rack = brokerEndpoint(br, listener)
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// fetchReplicaID is the broker ID of a follower's fetch, -1 for a
// consumer's (v15+ carries it in ReplicaState, KIP-903).
func fetchReplicaID(req *kmsg.FetchRequest) int32 {
	if req.Version >= 15 {
		return req.ReplicaState.ID
	}
	return req.ReplicaID
}

// readFetchTargets reads every target once, honouring the byte limits. It
// returns one result per target, in order.
func (b *Broker) readFetchTargets(req *kmsg.FetchRequest, targets []fetchTarget, maxBytes int64) ([]fetchPartitionResult, int64, bool) {
	results := make([]fetchPartitionResult, len(targets))
	var total int64
	anyError := false
	for i := range targets {
		t := &targets[i]
		r := &results[i]
		r.partition = t.sp.key.partition
		r.highWatermark, r.lastStableOffset, r.logStartOffset = -1, -1, -1
		r.preferredReadReplica = -1
		r.currentLeaderID = -1
		if t.p == nil {
			r.errorCode = t.errorCode
			if t.errorCode == kerr.NotLeaderForPartition.Code && t.leaderID >= 0 {
				r.currentLeaderID, r.currentLeaderEpoch = t.leaderID, t.leaderEpoch
			}
			anyError = true
			continue
		}
		offsets := t.p.Log().Offsets()
		hw := t.p.HighWatermark()
		lso := t.p.Log().LastStableOffset()
		r.highWatermark = hw
		r.lastStableOffset = lso
		r.logStartOffset = offsets.LogStartOffset
		epoch := t.p.LeaderEpoch()
		if ce := t.sp.currentLeaderEpoch; req.Version >= 9 && ce >= 0 && ce != epoch {
			if ce < epoch {
				r.errorCode = kerr.FencedLeaderEpoch.Code
			} else {
				r.errorCode = kerr.UnknownLeaderEpoch.Code
			}
			r.currentLeaderID, r.currentLeaderEpoch = b.cfg.BrokerID, epoch
			anyError = true
			continue
		}
		limit := hw
		readCommitted := false
		switch {
		case fetchReplicaID(req) >= 0:
			limit = offsets.LogEndOffset // followers copy past the high watermark
		case req.IsolationLevel == 1:
			limit, readCommitted = lso, true
		}
		off := t.sp.fetchOffset
		if off < offsets.LogStartOffset || off > offsets.LogEndOffset {
			r.errorCode = kerr.OffsetOutOfRange.Code
			anyError = true
			continue
		}
		remaining := maxBytes - total
		if remaining <= 0 {
			continue
		}
		partMax := int64(t.sp.maxBytes)
		if partMax > remaining {
			partMax = remaining
		}
		if partMax <= 0 || off >= limit {
			continue
		}
		rr, err := t.p.Log().Read(off, int32(partMax), limit)
		if err != nil {
			code := storageError(err)
			if code == kerr.KafkaStorageError {
				b.logger.Error().Err(err).Str("topic", t.topicName).Int32("partition", r.partition).Msg("read failed")
			}
			r.errorCode = code.Code
			anyError = true
			continue
		}
		if total > 0 && rr.Size > remaining {
			// Only the response's first batch may exceed the limits
			// (KIP-74); this partition waits for a later fetch.
			rr.Release()
			continue
		}
		r.records = rr
		total += rr.Size
		if readCommitted {
			// The consumer drops these producers' records from their
			// first offsets up to the ABORT markers.
			r.abortedTxns = t.p.Log().AbortedTransactions(off, limit)
			if r.abortedTxns == nil {
				r.abortedTxns = []plog.AbortedTxn{}
			}
		}
	}
	return results, total, anyError
}

// assembleFetchResponse groups results by topic. In an incremental
// session only partitions with news are included, and the session learns
// what was sent.
func (b *Broker) assembleFetchResponse(version int16, plan fetchPlan, targets []fetchTarget, results []fetchPartitionResult) ([]fetchTopicResult, map[sessionPartitionKey]bool) {
	var topics []fetchTopicResult
	index := make(map[sessionPartitionKey]int) // topic key → index in topics
	var served map[sessionPartitionKey]bool
	for i := range targets {
		sp := targets[i].sp
		r := results[i]
		news := r.errorCode != 0 || r.records.Size > 0 ||
			r.highWatermark != sp.highWatermark || r.lastStableOffset != sp.lastStableOffset || r.logStartOffset != sp.logStartOffset
		if plan.incremental && !news {
			continue
		}
		sp.highWatermark, sp.lastStableOffset, sp.logStartOffset = r.highWatermark, r.lastStableOffset, r.logStartOffset
		if r.records.Size > 0 {
			if served == nil {
				served = make(map[sessionPartitionKey]bool)
			}
			served[sp.key] = true
		}
		tkey := sessionPartitionKey{topic: sp.key.topic, topicID: sp.key.topicID}
		ti, ok := index[tkey]
		if !ok {
			ti = len(topics)
			index[tkey] = ti
			topics = append(topics, fetchTopicResult{topic: sp.key.topic, topicID: sp.key.topicID})
		}
		topics[ti].partitions = append(topics[ti].partitions, r)
	}
	return topics, served
}

// observeFetch counts a fetch's bytes out on each partition (to a
// follower or a consumer) and the error codes of its partitions.
func (b *Broker) observeFetch(follower bool, targets []fetchTarget, results []fetchPartitionResult) {
	for i := range results {
		r := &results[i]
		if r.errorCode != 0 {
			b.observer.ResponseError(int16(kmsg.Fetch), r.errorCode)
		}
		p := targets[i].p
		if p == nil || r.records.Size <= 0 {
			continue
		}
		if follower {
			p.Traffic().FollowerBytesOut.Add(uint64(r.records.Size))
		} else {
			p.Traffic().ConsumerBytesOut.Add(uint64(r.records.Size))
		}
	}
}

func releaseFetchResults(results []fetchPartitionResult) {
	for i := range results {
		results[i].records.Release()
	}
}
