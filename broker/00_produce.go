package broker

// Produce. The oldest version served is the first carrying record batches
// v2, the only message format Samsa stores (Kafka 4.0 dropped older ones
// too). v13 names topics by ID (KIP-516).
//
// Each partition's records are validated (length, magic, CRC-32C, codec,
// record count: recordbatch.Validate) and appended verbatim; the log
// assigns offsets and runs the idempotent-producer sequence checks.
// Transactional batches need the request's transactional ID; one that
// would open a transaction on its partition is first checked with the
// transaction coordinator (verifyTransactionalWrite).
// acks=0 gets no response at all, as in Kafka, and a failed acks=0 write
// closes the connection (Kafka's way of telling the producer); acks must
// be -1, 0 or 1 (INVALID_REQUIRED_ACKS). Internal topics (__consumer_offsets) are
// refused with INVALID_TOPIC_EXCEPTION unless the client ID is Kafka's
// admin client's, "__admin_client". Only the leader takes writes
// (NOT_LEADER_OR_FOLLOWER, with the current leader in v10+ per KIP-951).
// acks=1 answers once the leader appended; acks=-1 refuses the write when
// the ISR is smaller than min.insync.replicas (NOT_ENOUGH_REPLICAS) and
// otherwise answers once every in-sync replica has it (the high
// watermark passed it), or at timeout_ms (REQUEST_TIMED_OUT).

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/replica"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.Produce, min: 3, max: 13, serve: (*Broker).serveProduce,
		note: "acks 0, 1 and -1 (acks=-1 waits on the connection's writer, so pipelined produce requests append meanwhile); every codec (gzip, snappy raw and xerial-framed, lz4, zstd) validated by CRC-32C, framing and record count; idempotent producers (sequence checks, duplicates of the last five batches answered with their first offsets); transactional batches, verified with the coordinator before they open a transaction (KIP-890); topic `compression.type` recompresses; v13 names topics by ID"})
}

func (b *Broker) serveProduce(ctx context.Context, conn *wire.Conn, kreq kmsg.Request) (*wire.Response, error) {
	req := kreq.(*kmsg.ProduceRequest)
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	acksValid := req.Acks == -1 || req.Acks == 0 || req.Acks == 1
	start := time.Now()
	nowMs := b.now().UnixMilli()
	internalAllowed := clientIDFrom(ctx) == adminClientID
	// Read once per request, and only for a transactional producer's:
	// the dynamic config is assembled on each read.
	verifyTxns := req.TransactionID != nil && b.effectiveConfig().TxnPartitionVerification
	// Kafka: a transactional produce needs WRITE on its transactional
	// ID, else every partition fails; each topic needs WRITE.
	txnDenied := req.TransactionID != nil && !b.authorized(conn, acl.OpWrite, acl.ResourceTransactionalID, *req.TransactionID)

	var waits []replicationWait
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(req.Topics))
	for i := range req.Topics {
		rt := &req.Topics[i]
		name := rt.Topic
		var unknownCode int16 = kerr.UnknownTopicOrPartition.Code
		if req.Version >= 13 {
			unknownCode = kerr.UnknownTopicID.Code
			if n, ok := b.replicas.TopicName(rt.TopicID); ok {
				name = n
			} else {
				name = ""
			}
		}
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		st.TopicID = rt.TopicID
		st.Partitions = make([]kmsg.ProduceResponseTopicPartition, 0, len(rt.Partitions))
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset = -1
			sp.LogAppendTime = -1
			sp.LogStartOffset = -1
			switch {
			case !acksValid:
				sp.ErrorCode = kerr.InvalidRequiredAcks.Code
			case txnDenied:
				sp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			case name == "":
				sp.ErrorCode = unknownCode
			case !b.authorizedTopic(conn, acl.OpWrite, name):
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case controller.IsInternalTopic(name) && !internalAllowed:
				// Kafka: "Cannot append to internal topic", before the
				// partition is looked up; no message in the response.
				sp.ErrorCode = kerr.InvalidTopicException.Code
			default:
				if w := b.producePartition(ctx, name, rp, req, nowMs, verifyTxns, &sp); w.p != nil {
					w.topic, w.partition = len(resp.Topics), len(st.Partitions)
					waits = append(waits, w)
				}
				if sp.ErrorCode == kerr.UnknownTopicOrPartition.Code {
					sp.ErrorCode = unknownCode
				}
				b.fillLeaderHint(req.Version, conn.Listener, name, rp.Partition, &sp, resp)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	resp.ThrottleMillis = b.throttleProduce(ctx, conn, req, time.Since(start))
	if req.Acks == 0 {
		b.observeErrors(resp)
		// No response to carry an error: Kafka closes the connection so
		// the producer notices (it reconnects and refreshes metadata).
		if code, part := firstProduceError(resp); code != 0 {
			return nil, fmt.Errorf("acks=0 produce failed with %v on %s", kerr.ErrorForCode(code), part)
		}
		return nil, nil
	}
	// acks=all: answer once every partition is replicated to its ISR, or
	// at the request's timeout. The records are in the log: the request's
	// bytes go back to the request budget now, as the followers' fetches
	// that end this wait may need them.
	waits = b.settleReplicated(req.Version, conn.Listener, waits, resp)
	if len(waits) == 0 {
		b.observeErrors(resp)
		return encodeResponse(resp), nil
	}
	conn.ReleaseRequest()
	// The wait runs on the connection's writer: the producer's next
	// produce requests on this connection are appended meanwhile and
	// ride the same replication round trip, instead of queueing behind
	// this one's (Kafka reads nothing more from the connection until it
	// answers). Responses still go out in request order.
	deadline := b.now().Add(time.Duration(req.TimeoutMillis) * time.Millisecond)
	out := &wire.Response{}
	out.Finish = func() {
		for _, w := range waits {
			if err := b.replicas.WaitReplicated(ctx, w.p, w.epoch, w.target, deadline); err != nil {
				b.failReplicationWait(req.Version, conn.Listener, w, err, resp)
			}
		}
		b.observeErrors(resp)
		done := encodeResponse(resp)
		out.FlexibleHeader, out.Parts = done.FlexibleHeader, done.Parts
	}
	return out, nil
}

// settleReplicated answers the acks=all writes already replicated (or
// failed) and returns those still waiting for their ISR.
func (b *Broker) settleReplicated(version int16, listener string, waits []replicationWait, resp *kmsg.ProduceResponse) []replicationWait {
	waiting := waits[:0]
	for _, w := range waits {
		done, err := b.replicas.Replicated(w.p, w.epoch, w.target)
		switch {
		case !done:
			waiting = append(waiting, w)
		case err != nil:
			b.failReplicationWait(version, listener, w, err, resp)
		}
	}
	return waiting
}

// failReplicationWait puts an acks=all write's failure in its partition's
// place in the response.
func (b *Broker) failReplicationWait(version int16, listener string, w replicationWait, err error, resp *kmsg.ProduceResponse) {
	sp := &resp.Topics[w.topic].Partitions[w.partition]
	sp.ErrorCode = errCode(err)
	b.fillLeaderHint(version, listener, w.p.Topic(), w.p.Index(), sp, resp)
}

// adminClientID is the client ID of Kafka's own admin tools
// (AdminUtils.ADMIN_CLIENT_ID), the only one Kafka lets produce to
// internal topics.
const adminClientID = "__admin_client"

// firstProduceError returns the first partition error of a produce
// response and names its partition.
func firstProduceError(resp *kmsg.ProduceResponse) (int16, string) {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return p.ErrorCode, fmt.Sprintf("%s-%d", t.Topic, p.Partition)
			}
		}
	}
	return 0, ""
}

// replicationWait is an acks=all write waiting for its ISR.
type replicationWait struct {
	p                *replica.Partition
	epoch            int32
	target           int64 // the high watermark that commits it
	topic, partition int   // its place in the response
}

// fillLeaderHint adds KIP-951's current leader (v10+) to a partition
// answered NOT_LEADER_OR_FOLLOWER, with the leader's endpoint, so the
// client retries there without a metadata round trip. The leader comes
// from the partition table, which decided that this broker does not lead.
func (b *Broker) fillLeaderHint(version int16, listener, topic string, partition int32, sp *kmsg.ProduceResponseTopicPartition, resp *kmsg.ProduceResponse) {
	if version < 10 || sp.ErrorCode != kerr.NotLeaderForPartition.Code {
		return
	}
	leader, epoch := b.replicas.Leader(topic, partition)
	if leader < 0 {
		return
	}
	sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = leader, epoch
	for _, ep := range resp.Brokers {
		if ep.NodeID == leader {
			return
		}
	}
	for _, br := range b.store.Brokers() {
		if br.ID == leader {
			ep := kmsg.NewProduceResponseBroker()
			ep.NodeID, ep.Host, ep.Port, ep.Rack = brokerEndpoint(br, listener)
			resp.Brokers = append(resp.Brokers, ep)
		}
	}
}

// producePartition validates and appends one partition's records, filling
// in its response. An acks=all write that must wait for its ISR comes back
// as a replicationWait.
func (b *Broker) producePartition(ctx context.Context, topic string, rp *kmsg.ProduceRequestTopicPartition, req *kmsg.ProduceRequest, nowMs int64, verifyTxns bool, sp *kmsg.ProduceResponseTopicPartition) (wait replicationWait) {
	fail := func(err error, msg string) {
		sp.ErrorCode = errCode(err)
		if req.Version >= 8 && msg != "" {
			sp.ErrorMessage = &msg
		}
	}
	p, err := b.replicas.LookupLeader(topic, rp.Partition)
	if err != nil {
		fail(err, "")
		return
	}
	tc := p.Config()
	if len(rp.Records) == 0 {
		fail(kerr.CorruptMessage, "produce request holds no record batch")
		return
	}
	summary, err := recordbatch.Validate(rp.Records, tc.MaxMessageBytes)
	if err != nil {
		fail(kafkaError(err, kerr.CorruptMessage), err.Error())
		return
	}
	guard := plog.SkipVerification
	if summary.Transactional {
		var code *kerr.Error
		if guard, code = b.verifyTransactionalWrite(ctx, p, rp.Records, req.TransactionID, verifyTxns); code != nil {
			fail(code, "")
			return
		}
	}
	if tc.Compact && summary.NullKeys {
		fail(kerr.InvalidRecord, fmt.Sprintf("Compacted topic cannot accept message without key in topic partition %s-%d.", topic, rp.Partition))
		return
	}
	if !tc.LogAppendTime {
		if msg := timestampOutOfRange(summary, nowMs, tc.TimestampBeforeMaxMs, tc.TimestampAfterMaxMs); msg != "" {
			fail(kerr.InvalidTimestamp, msg)
			return
		}
	}
	records := rp.Records
	if codec, ok := recordbatch.CodecByName(tc.CompressionType); ok {
		// The topic names a codec: store the batch in it, as Kafka does,
		// and no larger than max.message.bytes, which Kafka checks again
		// after recompressing (MESSAGE_TOO_LARGE).
		if records, err = recordbatch.Recompress(records, codec, tc.MaxMessageBytes); err != nil {
			fail(kafkaError(err, kerr.CorruptMessage), err.Error())
			return
		}
	}
	res, epoch, err := b.replicas.AppendAsLeaderWithGuard(p, records, nowMs, req.Acks == -1, guard)
	if err != nil {
		code := storageError(err)
		if code == kerr.KafkaStorageError {
			b.logger.Error().Err(err).Str("topic", topic).Int32("partition", rp.Partition).Msg("append failed")
		}
		fail(code, errorMessage(err))
		return
	}
	traffic := p.Traffic()
	traffic.BytesIn.Add(uint64(len(rp.Records)))
	traffic.RecordsIn.Add(uint64(summary.Records))
	sp.BaseOffset = res.BaseOffset
	sp.LogAppendTime = res.LogAppendTime
	sp.LogStartOffset = res.LogStartOffset
	if req.Acks == -1 {
		// A duplicate waits too: its original may not be replicated yet.
		return replicationWait{p: p, epoch: epoch, target: res.LastOffset + 1}
	}
	return
}

// timestampOutOfRange checks CreateTime timestamps against
// message.timestamp.before.max.ms and message.timestamp.after.max.ms
// (KIP-937) and returns Kafka's message when one is out of range.
func timestampOutOfRange(s recordbatch.Summary, nowMs, beforeMax, afterMax int64) string {
	// Both limits are non-negative and so is the clock: only the upper
	// bound can overflow (Long.MAX_VALUE means no limit).
	lo, hi := nowMs-beforeMax, int64(math.MaxInt64)
	if afterMax < math.MaxInt64-nowMs {
		hi = nowMs + afterMax
	}
	for _, ts := range []int64{s.MinTimestamp, s.MaxTimestamp} {
		if ts < lo || ts > hi {
			return fmt.Sprintf("Timestamp %d of message is out of range. The timestamp should be within [%d, %d]", ts, lo, hi)
		}
	}
	return ""
}

// verifyTransactionalWrite checks a transactional batch before it is
// appended: the request must name its transactional ID, and a write that
// would open a transaction on the partition is first verified with the
// transaction coordinator (KIP-890 part 1,
// transaction.partition.verification.enable): a write that arrives after
// its transaction was aborted would otherwise open one that no marker
// ever closes, holding the last stable offset back for good. It returns
// the verification guard to append with; verify is
// transaction.partition.verification.enable.
func (b *Broker) verifyTransactionalWrite(ctx context.Context, p *replica.Partition, records []byte, txnID *string, verify bool) (uint64, *kerr.Error) {
	if txnID == nil || *txnID == "" {
		// Kafka: transactional records need the request's transactional ID.
		return 0, kerr.TransactionalIDAuthorizationFailed
	}
	if !verify {
		return plog.SkipVerification, nil
	}
	h, err := recordbatch.ParseHeader(records)
	if err != nil {
		return 0, kerr.CorruptMessage
	}
	guard, needed := p.Log().VerificationGuard(h.ProducerID)
	if !needed {
		return guard, nil
	}
	if code := b.verifyTxnPartition(ctx, *txnID, h.ProducerID, h.ProducerEpoch, p.Topic(), p.Index()); code != nil {
		return 0, code
	}
	return guard, nil
}
