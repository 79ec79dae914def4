package broker

// Transactions. The transaction coordinator (package broker/txncoord)
// owns the transactional IDs of the __transaction_state partitions this
// broker leads; this file wires it to the broker: its journal on those
// partition logs, the creation of the topic, the markers it sends to
// partition leaders (written here when this broker leads the partition,
// sent as WriteTxnMarkers otherwise), and the KIP-890 check a partition
// leader makes before a transactional write opens a transaction.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/txncoord"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/groupcoord"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/recordbatch"
)

// newTxnCoordinator builds the transaction coordinator from the broker's
// config.
func (b *Broker) newTxnCoordinator() *txncoord.Coordinator {
	return txncoord.New(txncoord.Config{
		NumPartitions:         b.cfg.TxnStateNumPartitions,
		MaxTimeout:            b.cfg.TxnMaxTimeout,
		IDExpiration:          b.cfg.TxnIDExpiration,
		AbortInterval:         b.cfg.TxnAbortTimedOutInterval,
		RemoveExpiredInterval: b.cfg.TxnRemoveExpiredInterval,
		AllocateProducerID:    b.producerIDs.next,
		Now:                   b.now,
		Logger:                b.logger,
	}, txnJournal{b}, markerWriter{b})
}

// txnLeadershipChanged loads or unloads a __transaction_state partition
// as this broker gains or loses its leadership.
func (b *Broker) txnLeadershipChanged(partition int32, leader bool) {
	if b.txns == nil {
		return
	}
	if leader {
		b.txns.Load(partition)
	} else {
		b.txns.Unload(partition)
	}
}

// ensureTxnTopic creates __transaction_state on first use, as Kafka does
// when a client first looks for a transaction coordinator: compacted,
// with transaction.state.log.num.partitions partitions, segments of
// transaction.state.log.segment.bytes and min.insync.replicas of
// transaction.state.log.min.isr. A cluster with fewer live brokers than
// transaction.state.log.replication.factor refuses for now
// (COORDINATOR_NOT_AVAILABLE); a single broker caps it at 1.
func (b *Broker) ensureTxnTopic(ctx context.Context) error {
	return b.ensureInternalTopic(ctx, internalTopic{
		name:        txncoord.StateTopic,
		partitions:  b.cfg.TxnStateNumPartitions,
		replication: b.cfg.TxnStateReplication,
		rfKey:       "transaction.state.log.replication.factor",
	}, func(rf int16) map[string]string {
		return map[string]string{
			"cleanup.policy":                 "compact",
			"compression.type":               "uncompressed",
			"unclean.leader.election.enable": "false",
			"min.insync.replicas":            strconv.Itoa(int(min(b.cfg.TxnStateMinISR, int32(rf)))),
			"segment.bytes":                  strconv.Itoa(int(b.cfg.TxnStateSegmentBytes)),
		}
	})
}

// txnCoordinatorFor answers FindCoordinator for a transactional ID: the
// leader of its __transaction_state partition.
func (b *Broker) txnCoordinatorFor(ctx context.Context, id string) (controller.Broker, *kerr.Error) {
	if err := b.ensureTxnTopic(ctx); err != nil {
		b.logger.Debug().Err(err).Msg("find transaction coordinator")
		return controller.Broker{}, kerr.CoordinatorNotAvailable
	}
	return b.internalPartitionLeader(txncoord.StateTopic, b.txns.PartitionFor(id))
}

// txnJournal is the coordinator's journal on the __transaction_state
// partitions this broker leads.
type txnJournal struct{ b *Broker }

func (j txnJournal) Append(ctx context.Context, partition int32, key, value []byte) error {
	_, err := j.b.appendInternal(ctx, txncoord.StateTopic, partition, interBrokerRequestTimeout, func(nowMs int64) ([]byte, error) {
		return recordbatch.Build([]recordbatch.KeyValue{{Key: key, Value: value}}, nowMs)
	})
	return err
}

func (j txnJournal) Replay(ctx context.Context, partition int32, fn func(key, value []byte) error) error {
	return j.b.replayBatches(ctx, txncoord.StateTopic, partition, func(batch []byte, h recordbatch.Header, from int64) error {
		if h.Control() {
			return nil
		}
		return replayRecords(txncoord.StateTopic, partition, batch, h, from, func(r recordbatch.Record) error {
			return fn(r.Key, r.Value)
		})
	})
}

func (j txnJournal) LeaderEpoch(partition int32) (int32, bool) {
	p, err := j.b.replicas.LookupLeader(txncoord.StateTopic, partition)
	if err != nil {
		return 0, false
	}
	return p.LeaderEpoch(), true
}

// markerWriter delivers a completing transaction's markers to the
// leaders of its partitions, retrying until each has its marker or is
// gone.
type markerWriter struct{ b *Broker }

// interBrokerRequestTimeout bounds a request this broker sends another
// on its own behalf, and a state-log write waiting for its replicas
// (Kafka's request.timeout.ms default).
const interBrokerRequestTimeout = 30 * time.Second

// markerRetryBackoff is the pause before markers that failed are sent
// again (the leader moved, or is not known yet).
const markerRetryBackoff = 100 * time.Millisecond

func (w markerWriter) WriteMarkers(ctx context.Context, m txncoord.Markers) error {
	b := w.b
	remaining := slices.Clone(m.Partitions)
	for attempt := 0; len(remaining) > 0; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(markerRetryBackoff):
			}
		}
		byLeader := make(map[int32][]txncoord.TopicPartition)
		var keep []txncoord.TopicPartition
		for _, tp := range remaining {
			t, ok := b.store.Topic(tp.Topic)
			if !ok || int(tp.Partition) >= len(t.Partitions) {
				// Deleted: there is nothing left to mark.
				continue
			}
			leader := t.Partitions[tp.Partition].Leader
			if leader < 0 {
				keep = append(keep, tp)
				continue
			}
			byLeader[leader] = append(byLeader[leader], tp)
		}
		for leader, tps := range byLeader {
			var codes map[txncoord.TopicPartition]int16
			var err error
			if leader == b.cfg.BrokerID {
				codes = b.writeMarkersHere(ctx, m, tps)
			} else {
				codes, err = b.sendMarkers(ctx, leader, m, tps)
			}
			if err != nil {
				b.logger.Debug().Err(err).Int32("leader", leader).Msg("sending transaction markers")
				keep = append(keep, tps...)
				continue
			}
			for _, tp := range tps {
				switch code := codes[tp]; code {
				case 0:
				case kerr.InvalidProducerEpoch.Code:
					// A newer epoch already wrote its marker there.
				case kerr.TransactionCoordinatorFenced.Code:
					return fmt.Errorf("writing markers to %v: %w", tp, kerr.TransactionCoordinatorFenced)
				default:
					if attempt%50 == 49 {
						b.logger.Warn().Str("transactional_id", m.TransactionalID).Stringer("partition", tp).Int16("error_code", code).Int("attempt", attempt).Msg("transaction marker still not written")
					}
					keep = append(keep, tp)
				}
			}
		}
		remaining = keep
	}
	return nil
}

// sendMarkers sends markers to the leader of tps (WriteTxnMarkers).
func (b *Broker) sendMarkers(ctx context.Context, leader int32, m txncoord.Markers, tps []txncoord.TopicPartition) (map[txncoord.TopicPartition]int16, error) {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.Version = 1
	km := kmsg.NewWriteTxnMarkersRequestMarker()
	km.ProducerID, km.ProducerEpoch, km.Committed, km.CoordinatorEpoch = m.ProducerID, m.ProducerEpoch, m.Commit, m.CoordinatorEpoch
	for topic, partitions := range txncoord.ByTopic(tps) {
		kt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		kt.Topic, kt.Partitions = topic, partitions
		km.Topics = append(km.Topics, kt)
	}
	req.Markers = []kmsg.WriteTxnMarkersRequestMarker{km}
	rctx, cancel := context.WithTimeout(ctx, interBrokerRequestTimeout)
	defer cancel()
	kresp, err := b.peers.request(rctx, leader, req)
	if err != nil {
		return nil, err
	}
	resp := kresp.(*kmsg.WriteTxnMarkersResponse)
	codes := make(map[txncoord.TopicPartition]int16)
	for _, rm := range resp.Markers {
		for _, rt := range rm.Topics {
			for _, rp := range rt.Partitions {
				codes[txncoord.TopicPartition{Topic: rt.Topic, Partition: rp.Partition}] = rp.ErrorCode
			}
		}
	}
	for _, tp := range tps {
		if _, ok := codes[tp]; !ok {
			codes[tp] = kerr.UnknownServerError.Code
		}
	}
	return codes, nil
}

// writeMarkersHere writes one transaction's markers to partitions this
// broker leads and waits until each is replicated; a marker on a
// __consumer_offsets partition then completes the transaction's offsets
// there. It returns an error code per partition.
func (b *Broker) writeMarkersHere(ctx context.Context, m txncoord.Markers, tps []txncoord.TopicPartition) map[txncoord.TopicPartition]int16 {
	type pending struct {
		tp     txncoord.TopicPartition
		wait   replicationWait
		offset bool
	}
	codes := make(map[txncoord.TopicPartition]int16, len(tps))
	var waits []pending
	now := b.now()
	mk := plog.TxnMarker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, CoordinatorEpoch: m.CoordinatorEpoch, Commit: m.Commit}
	for _, tp := range tps {
		p, err := b.replicas.LookupLeader(tp.Topic, tp.Partition)
		if err != nil {
			codes[tp] = errCode(err)
			continue
		}
		res, epoch, err := b.replicas.AppendMarkerAsLeader(p, mk, now.UnixMilli())
		if err != nil {
			code := storageError(err)
			if code == kerr.KafkaStorageError {
				b.logger.Error().Err(err).Stringer("partition", tp).Msg("writing transaction marker")
			}
			codes[tp] = code.Code
			continue
		}
		waits = append(waits, pending{tp: tp, wait: replicationWait{p: p, epoch: epoch, target: res.LastOffset + 1}, offset: tp.Topic == groupcoord.OffsetsTopic})
	}
	deadline := now.Add(interBrokerRequestTimeout)
	for _, w := range waits {
		if err := b.replicas.WaitReplicated(ctx, w.wait.p, w.wait.epoch, w.wait.target, deadline); err != nil {
			codes[w.tp] = errCode(err)
			continue
		}
		codes[w.tp] = 0
		if w.offset {
			b.offsetsMarkerWritten(w.tp.Partition, m.ProducerID, m.Commit)
		}
	}
	return codes
}

// verifyTxnPartition asks the transaction coordinator whether a
// partition is in the producer's running transaction (KIP-890 part 1),
// before a transactional write may open a transaction on it. It returns
// the error the write is answered with.
func (b *Broker) verifyTxnPartition(ctx context.Context, id string, producerID int64, epoch int16, topic string, partition int32) *kerr.Error {
	tp := txncoord.TopicPartition{Topic: topic, Partition: partition}
	coord, kerrv := b.internalPartitionLeader(txncoord.StateTopic, b.txns.PartitionFor(id))
	if kerrv != nil {
		return produceVerificationError(kerrv)
	}
	if coord.ID == b.cfg.BrokerID {
		res, err := b.txns.VerifyPartitions(id, producerID, epoch, []txncoord.TopicPartition{tp})
		if err != nil {
			return produceVerificationError(err)
		}
		return produceVerificationError(res[tp])
	}
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 4
	tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
	tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, tx.VerifyOnly = id, producerID, epoch, true
	tt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	tt.Topic, tt.Partitions = topic, []int32{partition}
	tx.Topics = []kmsg.AddPartitionsToTxnRequestTransactionTopic{tt}
	req.Transactions = []kmsg.AddPartitionsToTxnRequestTransaction{tx}
	rctx, cancel := context.WithTimeout(ctx, interBrokerRequestTimeout)
	defer cancel()
	kresp, err := b.peers.request(rctx, coord.ID, req)
	if err != nil {
		b.logger.Debug().Err(err).Int32("coordinator", coord.ID).Msg("verifying a transactional write")
		return kerr.NotEnoughReplicas
	}
	resp := kresp.(*kmsg.AddPartitionsToTxnResponse)
	if resp.ErrorCode != 0 {
		return produceVerificationError(kerr.ErrorForCode(resp.ErrorCode).(*kerr.Error))
	}
	for _, rt := range resp.Transactions {
		for _, rtt := range rt.Topics {
			for _, rp := range rtt.Partitions {
				if rtt.Topic == topic && rp.Partition == partition {
					if rp.ErrorCode == 0 {
						return nil
					}
					if ke, ok := kerr.ErrorForCode(rp.ErrorCode).(*kerr.Error); ok {
						return produceVerificationError(ke)
					}
					return kerr.UnknownServerError
				}
			}
		}
	}
	return kerr.UnknownServerError
}

// produceVerificationError is how a produce is answered when its
// verification failed, as Kafka answers: the coordinator being busy or
// away is retriable for every client (NOT_ENOUGH_REPLICAS); a fenced
// producer is INVALID_PRODUCER_EPOCH.
func produceVerificationError(err *kerr.Error) *kerr.Error {
	switch err {
	case nil:
		return nil
	case kerr.ProducerFenced:
		return kerr.InvalidProducerEpoch
	case kerr.InvalidTxnState, kerr.InvalidProducerEpoch, kerr.InvalidProducerIDMapping:
		return err
	default:
		return kerr.NotEnoughReplicas
	}
}

// producerFencedFor is PRODUCER_FENCED for request versions that know
// it and INVALID_PRODUCER_EPOCH for older ones, as Kafka answers.
func producerFencedFor(err *kerr.Error, knowsFenced bool) *kerr.Error {
	if err == kerr.ProducerFenced && !knowsFenced {
		return kerr.InvalidProducerEpoch
	}
	return err
}

// errorCodeOf is the code of a Kafka error, 0 for nil.
func errorCodeOf(err *kerr.Error) int16 {
	if err == nil {
		return 0
	}
	return err.Code
}
