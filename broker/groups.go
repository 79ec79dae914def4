package broker

// Consumer groups. The group APIs are served by the group coordinator
// (package groupcoord, one file per API there, each declaring its key and
// versions); this file wires it to the broker: the routes, the
// coordinator's journal on the __consumer_offsets partition logs, and the
// creation of that internal topic.
//
// A group's coordinator is the leader of its __consumer_offsets partition:
// when this broker becomes a partition's leader the coordinator loads its
// groups from the log, and unloads them when the leadership moves away
// (partitionLeadershipChanged), so coordination moves with leadership.

import (
	"context"
	"errors"
	"math"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/txncoord"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/groupcoord"
	"github.com/samsa-io/samsa/log/recordbatch"
	"github.com/samsa-io/samsa/wire"
)

// The group APIs are declared beside their handlers in groupcoord; the
// broker serves each of them with the client's ID in the context.
func init() {
	for _, ga := range groupcoord.APIs() {
		registerAPI(api{key: ga.Key, min: ga.Min, max: ga.Max, serve: groupAPI(ga.Serve), note: ga.Note})
	}
}

// groupAPI adapts a group API's handler to the broker's coordinator,
// handing it the client's ID and host, which DescribeGroups reports.
func groupAPI(serve func(*groupcoord.Coordinator, context.Context, kmsg.Request) kmsg.Response) handler {
	return func(b *Broker, ctx context.Context, conn *wire.Conn, req kmsg.Request) (*wire.Response, error) {
		host := ""
		if tcp, ok := conn.RemoteAddr.(*net.TCPAddr); ok {
			host = "/" + tcp.IP.String()
		}
		ctx = groupcoord.WithClient(ctx, clientIDFrom(ctx), host)
		resp := b.authorizeGroupRequest(conn, req, func(r kmsg.Request) kmsg.Response { return serve(b.groups, ctx, r) })
		b.observeErrors(resp)
		return encodeResponse(resp), nil
	}
}

// newGroupCoordinator builds the coordinator from the broker's config.
func (b *Broker) newGroupCoordinator() (*groupcoord.Coordinator, error) {
	cfg := groupcoord.DefaultConfig()
	cfg.GroupMinSessionTimeout = b.cfg.GroupMinSessionTimeout
	cfg.GroupMaxSessionTimeout = b.cfg.GroupMaxSessionTimeout
	cfg.GroupInitialRebalanceDelay = max(b.cfg.GroupInitialRebalanceDelay, 0)
	cfg.GroupMaxSize = b.cfg.GroupMaxSize
	cfg.OffsetsRetention = b.cfg.OffsetsRetention
	cfg.OffsetsRetentionCheckInterval = b.cfg.OffsetsRetentionCheckInterval
	cfg.OffsetsTopicNumPartitions = b.cfg.OffsetsTopicNumPartitions
	cfg.OffsetMetadataMaxBytes = int(b.cfg.OffsetMetadataMaxBytes)
	cfg.OffsetCommitTimeout = b.cfg.OffsetsCommitTimeout
	cfg.Topics = topicsView{b}
	cfg.Logger = b.logger.With().Str("component", "groups").Logger()
	return groupcoord.New(cfg, &offsetsJournal{b: b, sequences: make(map[int32]map[int64]producerSequence)})
}

// offsetsMarkerWritten tells the group coordinator that a transaction
// marker (COMMIT when commit is set, else ABORT) for the producer is
// appended to __consumer_offsets partition p and replicated, so the
// producer's pending transactional offsets there are committed or
// dropped. The WriteTxnMarkers handler calls it for each
// __consumer_offsets partition it wrote a marker to.
func (b *Broker) offsetsMarkerWritten(partition int32, producerID int64, commit bool) {
	if b.groups == nil {
		return
	}
	b.groups.CompleteTransaction(partition, producerID, commit)
}

// partitionLeadershipChanged loads or unloads a __consumer_offsets
// partition's groups as this broker gains or loses its leadership
// (replica.Options.LeadershipChanged).
func (b *Broker) partitionLeadershipChanged(topic string, partition int32, leader bool) {
	if topic == txncoord.StateTopic {
		b.txnLeadershipChanged(partition, leader)
		return
	}
	if topic != groupcoord.OffsetsTopic || b.groups == nil {
		return
	}
	if leader {
		b.groups.Load(partition)
	} else {
		b.groups.Unload(partition)
	}
}

// ensureOffsetsTopic creates __consumer_offsets on first use, as Kafka
// does when a client first looks for a coordinator: compacted, with
// offsets.topic.num.partitions partitions and segments of
// offsets.topic.segment.bytes. Its replication factor is
// offsets.topic.replication.factor; a cluster with fewer live brokers
// refuses for now (COORDINATOR_NOT_AVAILABLE), as Kafka does, while a
// single broker caps it at 1.
func (b *Broker) ensureOffsetsTopic(ctx context.Context) error {
	return b.ensureInternalTopic(ctx, internalTopic{
		name:        groupcoord.OffsetsTopic,
		partitions:  b.cfg.OffsetsTopicNumPartitions,
		replication: b.cfg.OffsetsTopicReplication,
		rfKey:       "offsets.topic.replication.factor",
	}, func(int16) map[string]string {
		return map[string]string{
			"cleanup.policy":   "compact",
			"compression.type": "producer",
			"segment.bytes":    strconv.Itoa(int(b.cfg.OffsetsTopicSegmentBytes)),
		}
	})
}

// offsetsJournal is the coordinator's journal: batches appended to the
// __consumer_offsets partition this broker leads, committed when the ISR
// has them. Its errors are Kafka errors (errors.go), which the
// coordinator maps to what clients expect.
//
// Transactional offset commits are batches of the producer. Kafka writes
// them with base sequence 0 and its log skips sequence checks for the
// coordinator's own appends; Samsa's log checks every batch that carries a
// producer, so the journal continues each producer's sequence as the log
// expects it: learned from the batches a replay reads (the coordinator
// replays a partition before it writes to it) and from its own appends.
type offsetsJournal struct {
	b *Broker

	mu sync.Mutex
	// sequences: partition → producer ID → where its next batch starts.
	sequences map[int32]map[int64]producerSequence
}

var _ groupcoord.TransactionalJournal = (*offsetsJournal)(nil)

type producerSequence struct {
	epoch int16
	next  int32
}

func (j *offsetsJournal) Append(ctx context.Context, partition int32, records []groupcoord.Record) error {
	_, err := j.append(ctx, partition, records, func(kvs []recordbatch.KeyValue, now int64) ([]byte, error) {
		return recordbatch.Build(kvs, now)
	})
	return err
}

// AppendTransactional writes the records as one transactional batch of the
// producer, continuing its sequence on the partition. A log that expects
// the producer to start over (a new epoch, or a marker it counts as a
// batch) refuses the sequence as out of order; the batch is then written
// from sequence 0, which such a log accepts.
func (j *offsetsJournal) AppendTransactional(ctx context.Context, partition int32, producerID int64, producerEpoch int16, records []groupcoord.Record) error {
	seq := j.nextSequence(partition, producerID, producerEpoch)
	for {
		appended, err := j.append(ctx, partition, records, func(kvs []recordbatch.KeyValue, now int64) ([]byte, error) {
			return recordbatch.BuildTransactional(kvs, now, producerID, producerEpoch, seq)
		})
		if appended {
			j.setSequence(partition, producerID, producerEpoch, addSequence(seq, len(records)))
		}
		if errors.Is(err, kerr.OutOfOrderSequenceNumber) && seq != 0 {
			seq = 0
			continue
		}
		return err
	}
}

// append builds a batch of the records and appends it as the partition's
// leader, waiting until the ISR has it. appended reports whether the log
// took the batch, also when the wait for replication then failed.
func (j *offsetsJournal) append(ctx context.Context, partition int32, records []groupcoord.Record, build func([]recordbatch.KeyValue, int64) ([]byte, error)) (appended bool, err error) {
	kvs := make([]recordbatch.KeyValue, len(records))
	for i, r := range records {
		kvs[i] = recordbatch.KeyValue{Key: r.Key, Value: r.Value}
	}
	return j.b.appendInternal(ctx, groupcoord.OffsetsTopic, partition, j.b.cfg.OffsetsCommitTimeout, func(nowMs int64) ([]byte, error) {
		return build(kvs, nowMs)
	})
}

// nextSequence is where the producer's next batch on the partition starts:
// 0 for a producer the journal has not seen, or at a new epoch.
func (j *offsetsJournal) nextSequence(partition int32, producerID int64, epoch int16) int32 {
	j.mu.Lock()
	defer j.mu.Unlock()
	s, ok := j.sequences[partition][producerID]
	if !ok || s.epoch != epoch {
		return 0
	}
	return s.next
}

func (j *offsetsJournal) setSequence(partition int32, producerID int64, epoch int16, next int32) {
	j.mu.Lock()
	defer j.mu.Unlock()
	byProducer := j.sequences[partition]
	if byProducer == nil {
		byProducer = make(map[int64]producerSequence)
		j.sequences[partition] = byProducer
	}
	byProducer[producerID] = producerSequence{epoch: epoch, next: next}
}

// addSequence is seq+n, wrapping after MaxInt32 as Kafka's sequences do.
func addSequence(seq int32, n int) int32 {
	return int32((int64(seq) + int64(n)) % (math.MaxInt32 + 1))
}

// Replay reads the partition from its log start to its log end. Records of
// transactional batches carry their producer; a transaction marker (a
// control batch) is passed on as a Record with only Marker and ProducerID.
// The producers' sequences are learned on the way.
func (j *offsetsJournal) Replay(ctx context.Context, partition int32, fn func(groupcoord.Record) error) error {
	j.mu.Lock()
	delete(j.sequences, partition)
	j.mu.Unlock()
	return j.b.replayBatches(ctx, groupcoord.OffsetsTopic, partition, func(batch []byte, h recordbatch.Header, from int64) error {
		if h.Idempotent() {
			j.learnSequence(partition, h)
		}
		if h.Control() {
			// A transaction marker, or another kind the coordinator
			// skips (as it skips an unreadable one).
			if h.BaseOffset < from || !h.Transactional() {
				return nil
			}
			if marker := markerOf(batch); marker != groupcoord.NoMarker {
				return fn(groupcoord.Record{ProducerID: h.ProducerID, Marker: marker})
			}
			return nil
		}
		return replayRecords(groupcoord.OffsetsTopic, partition, batch, h, from, func(r recordbatch.Record) error {
			rec := groupcoord.Record{Key: r.Key, Value: r.Value, Transactional: h.Transactional()}
			if h.Transactional() {
				rec.ProducerID = h.ProducerID
			}
			return fn(rec)
		})
	})
}

// learnSequence follows a replayed batch of a producer: a data batch moves
// its sequence past the batch; a marker of a new epoch starts it over.
func (j *offsetsJournal) learnSequence(partition int32, h recordbatch.Header) {
	if !h.Control() {
		j.setSequence(partition, h.ProducerID, h.ProducerEpoch, addSequence(h.LastSequence(), 1))
		return
	}
	j.mu.Lock()
	s, ok := j.sequences[partition][h.ProducerID]
	j.mu.Unlock()
	if !ok || s.epoch != h.ProducerEpoch {
		j.setSequence(partition, h.ProducerID, h.ProducerEpoch, 0)
	}
}

// markerOf is the transaction marker a control batch holds.
func markerOf(batch []byte) groupcoord.Marker {
	cr, err := recordbatch.ParseControl(batch)
	switch {
	case err != nil:
		return groupcoord.NoMarker
	case cr.Type == recordbatch.ControlAbort:
		return groupcoord.AbortMarker
	case cr.Type == recordbatch.ControlCommit:
		return groupcoord.CommitMarker
	}
	return groupcoord.NoMarker
}

// topicsView answers the coordinator's questions about topics.
type topicsView struct{ b *Broker }

func (v topicsView) PartitionExists(topic string, partition int32) bool {
	t, ok := v.b.store.Topic(topic)
	return ok && partition >= 0 && int(partition) < len(t.Partitions)
}

func (v topicsView) TopicName(id [16]byte) (string, bool) {
	t, ok := v.b.store.TopicByID(controller.TopicID(id))
	return t.Name, ok
}

func (v topicsView) TopicID(name string) ([16]byte, bool) {
	t, ok := v.b.store.Topic(name)
	return t.ID, ok
}

// coordinatorFor answers where a group's coordinator is: the leader of
// its __consumer_offsets partition.
func (b *Broker) coordinatorFor(ctx context.Context, key string) (controller.Broker, *kerr.Error) {
	if err := b.ensureOffsetsTopic(ctx); err != nil {
		b.logger.Debug().Err(err).Msg("find coordinator")
		return controller.Broker{}, kerr.CoordinatorNotAvailable
	}
	return b.internalPartitionLeader(groupcoord.OffsetsTopic, b.groups.PartitionFor(key))
}

// clientIDFrom is the request's client ID (withQuotaClient).
func clientIDFrom(ctx context.Context) string { return quotaClientFrom(ctx).ClientID }
