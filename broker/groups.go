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
	"encoding/binary"
	"errors"
	"fmt"
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
		registerAPI(api{key: ga.Key, min: ga.Min, max: ga.Max, serve: groupAPI(ga.Serve), clientID: true, note: ga.Note})
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
		return encodeResponse(serve(b.groups, ctx, req)), nil
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
	if _, ok := b.store.Topic(groupcoord.OffsetsTopic); ok {
		return nil
	}
	rf := b.cfg.OffsetsTopicReplication
	live := int16(len(b.store.Brokers()))
	if b.standalone() {
		rf = min(rf, live)
	} else if live < rf {
		return fmt.Errorf("%w: %d live brokers, offsets.topic.replication.factor is %d", kerr.CoordinatorNotAvailable, live, rf)
	}
	t, err := b.store.CreateTopic(ctx, controller.CreateTopicRequest{
		Name:              groupcoord.OffsetsTopic,
		Partitions:        b.cfg.OffsetsTopicNumPartitions,
		ReplicationFactor: rf,
		Internal:          true,
		Configs: map[string]string{
			"cleanup.policy":   "compact",
			"compression.type": "producer",
			"segment.bytes":    strconv.Itoa(int(b.cfg.OffsetsTopicSegmentBytes)),
		},
	})
	switch {
	case errors.Is(err, controller.ErrTopicExists):
		return b.replicas.Sync()
	case err != nil:
		return fmt.Errorf("create %s: %w", groupcoord.OffsetsTopic, err)
	}
	// A topic whose logs cannot be created here (a full disk) is taken
	// back; the next FindCoordinator tries again.
	if aerr := b.undoTopicWithoutLogs(ctx, groupcoord.OffsetsTopic, t.ID, b.syncAfterAdmin(ctx, "creating "+groupcoord.OffsetsTopic)); aerr != nil {
		return aerr
	}
	return nil
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
	b := j.b
	p, err := b.replicas.LookupLeader(groupcoord.OffsetsTopic, partition)
	if err != nil {
		return false, kafkaError(err, kerr.UnknownServerError)
	}
	kvs := make([]recordbatch.KeyValue, len(records))
	for i, r := range records {
		kvs[i] = recordbatch.KeyValue{Key: r.Key, Value: r.Value}
	}
	now := b.now()
	batch, err := build(kvs, now.UnixMilli())
	if err != nil {
		return false, err
	}
	res, epoch, err := b.replicas.AppendAsLeader(p, batch, now.UnixMilli(), true)
	if err != nil {
		return false, fmt.Errorf("append to %s-%d: %w", groupcoord.OffsetsTopic, partition, storageError(err))
	}
	if res.Duplicate {
		// The log took the batch for a retry of one it holds: the
		// producer's sequence here is not what the journal thinks.
		b.logger.Error().Int32("partition", partition).Msg("transactional offset batch taken for a duplicate; not written")
		return false, fmt.Errorf("append to %s-%d: sequence already written: %w", groupcoord.OffsetsTopic, partition, kerr.UnknownServerError)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(b.cfg.OffsetsCommitTimeout)
	}
	if err := b.replicas.WaitReplicated(ctx, p, epoch, res.LastOffset+1, deadline); err != nil {
		return true, kafkaError(err, kerr.UnknownServerError)
	}
	return true, nil
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
	p, err := j.b.replicas.Lookup(groupcoord.OffsetsTopic, partition)
	if err != nil {
		return kafkaError(err, kerr.UnknownServerError)
	}
	j.mu.Lock()
	delete(j.sequences, partition)
	j.mu.Unlock()
	offset := p.Log().Offsets().LogStartOffset
	end := p.Log().Offsets().LogEndOffset
	var buf []byte
	for offset < end {
		if err := ctx.Err(); err != nil {
			return err
		}
		rr, err := p.Log().Read(offset, 1<<20, end)
		if err != nil {
			return err
		}
		if rr.Size == 0 {
			rr.Release()
			return nil
		}
		if int64(cap(buf)) < rr.Size {
			buf = make([]byte, rr.Size)
		}
		buf = buf[:rr.Size]
		_, err = rr.File.ReadAt(buf, rr.Position)
		rr.Release()
		if err != nil {
			return fmt.Errorf("read %s-%d: %w", groupcoord.OffsetsTopic, partition, err)
		}
		next := offset
		for rest := buf; len(rest) >= recordbatch.HeaderSize; {
			h, err := recordbatch.ParseHeader(rest)
			if err != nil || h.TotalSize() > int64(len(rest)) {
				break // a partial batch at the end of the range
			}
			batch := rest[:h.TotalSize()]
			rest = rest[h.TotalSize():]
			next = h.LastOffset() + 1
			if h.Idempotent() {
				j.learnSequence(partition, h)
			}
			var fnErr error
			err = recordbatch.Records(batch, func(r recordbatch.Record) bool {
				if r.Offset < offset {
					return true
				}
				if h.Control() {
					// One control record per batch: a transaction
					// marker, or another kind the coordinator skips.
					if marker := markerOf(r.Key); h.Transactional() && marker != groupcoord.NoMarker {
						fnErr = fn(groupcoord.Record{ProducerID: h.ProducerID, Marker: marker})
					}
					return false
				}
				rec := groupcoord.Record{Key: append([]byte(nil), r.Key...), Transactional: h.Transactional()}
				if h.Transactional() {
					rec.ProducerID = h.ProducerID
				}
				if r.Value != nil {
					rec.Value = append([]byte(nil), r.Value...)
				}
				fnErr = fn(rec)
				return fnErr == nil
			})
			if fnErr != nil {
				return fnErr
			}
			if err != nil {
				return fmt.Errorf("replay %s-%d at offset %d: %w", groupcoord.OffsetsTopic, partition, h.BaseOffset, err)
			}
		}
		if next <= offset {
			return fmt.Errorf("replay %s-%d stuck at offset %d", groupcoord.OffsetsTopic, partition, offset)
		}
		offset = next
	}
	return nil
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

// markerOf reads a control record's key: an int16 version and an int16
// type, 0 ABORT and 1 COMMIT (Kafka's ControlRecordType).
func markerOf(key []byte) groupcoord.Marker {
	if len(key) < 4 {
		return groupcoord.NoMarker
	}
	switch int16(binary.BigEndian.Uint16(key[2:])) {
	case 0:
		return groupcoord.AbortMarker
	case 1:
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

// clientIDKey carries the request's client ID in its context.
type clientIDKey struct{}

func withClientID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, clientIDKey{}, id)
}

func clientIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(clientIDKey{}).(string)
	return id
}
