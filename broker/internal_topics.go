package broker

// The internal topics the coordinators keep their state in
// (__consumer_offsets for groups, groups.go; __transaction_state for
// transactions, transactions.go): created on first use, led by the
// coordinator's broker, appended to and waited for as acks=all writes,
// and replayed when a coordinator takes a partition over.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/log/recordbatch"
)

// internalTopic describes an internal topic to create.
type internalTopic struct {
	name       string
	partitions int32
	// replication is the configured replication factor and rfKey its
	// config key, named when too few brokers are alive.
	replication int16
	rfKey       string
}

// ensureInternalTopic creates an internal topic on first use, as Kafka
// does when a client first looks for its coordinator. A cluster with
// fewer live brokers than the replication factor refuses for now
// (COORDINATOR_NOT_AVAILABLE), as Kafka does; a single broker caps it at
// 1. configs may use the replication factor chosen (rf).
func (b *Broker) ensureInternalTopic(ctx context.Context, it internalTopic, configs func(rf int16) map[string]string) error {
	if _, ok := b.store.Topic(it.name); ok {
		return nil
	}
	rf := it.replication
	live := int16(len(b.store.Brokers()))
	if b.standalone() {
		rf = min(rf, live)
	} else if live < rf {
		return fmt.Errorf("%w: %d live brokers, %s is %d", kerr.CoordinatorNotAvailable, live, it.rfKey, rf)
	}
	t, err := b.store.CreateTopic(ctx, controller.CreateTopicRequest{
		Name:              it.name,
		Partitions:        it.partitions,
		ReplicationFactor: rf,
		Internal:          true,
		Configs:           configs(rf),
	})
	switch {
	case errors.Is(err, controller.ErrTopicExists):
		return b.replicas.Sync()
	case err != nil:
		return fmt.Errorf("create %s: %w", it.name, err)
	}
	// A topic whose logs cannot be created here (a full disk) is taken
	// back; the next FindCoordinator tries again.
	if aerr := b.undoTopicWithoutLogs(ctx, it.name, t.ID, b.syncAfterAdmin(ctx, "creating "+it.name)); aerr != nil {
		return aerr
	}
	return nil
}

// internalPartitionLeader is the live leader of an internal topic's
// partition (a coordinator), or COORDINATOR_NOT_AVAILABLE.
func (b *Broker) internalPartitionLeader(topic string, partition int32) (controller.Broker, *kerr.Error) {
	t, ok := b.store.Topic(topic)
	if !ok || int(partition) >= len(t.Partitions) || t.Partitions[partition].Leader < 0 {
		return controller.Broker{}, kerr.CoordinatorNotAvailable
	}
	leader := t.Partitions[partition].Leader
	for _, br := range b.store.Brokers() {
		if br.ID == leader {
			return br, nil
		}
	}
	return controller.Broker{}, kerr.CoordinatorNotAvailable
}

// appendInternal appends the batch build makes (given the time in ms) to
// a partition of an internal topic this broker leads and waits until the
// ISR has it, until ctx's deadline or else timeout. appended reports
// whether the log took the batch, also when the wait then failed. Errors
// are Kafka errors, which the coordinators map to what clients expect.
func (b *Broker) appendInternal(ctx context.Context, topic string, partition int32, timeout time.Duration, build func(nowMs int64) ([]byte, error)) (appended bool, err error) {
	p, err := b.replicas.LookupLeader(topic, partition)
	if err != nil {
		return false, kafkaError(err, kerr.UnknownServerError)
	}
	now := b.now()
	batch, err := build(now.UnixMilli())
	if err != nil {
		return false, err
	}
	res, epoch, err := b.replicas.AppendAsLeader(p, batch, now.UnixMilli(), true)
	if err != nil {
		return false, fmt.Errorf("append to %s-%d: %w", topic, partition, storageError(err))
	}
	if res.Duplicate {
		// The log took the batch for a retry of one it holds: the
		// producer's sequence here is not what the journal thinks.
		b.logger.Error().Str("topic", topic).Int32("partition", partition).Msg("batch of a coordinator taken for a duplicate; not written")
		return false, fmt.Errorf("append to %s-%d: sequence already written: %w", topic, partition, kerr.UnknownServerError)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(timeout)
	}
	if err := b.replicas.WaitReplicated(ctx, p, epoch, res.LastOffset+1, deadline); err != nil {
		return true, kafkaError(err, kerr.UnknownServerError)
	}
	return true, nil
}

// replayBatches calls fn for every whole batch of a partition this
// broker hosts, from its log start to its log end, in offset order, with
// the offset the replay starts at: records of the first batch below it
// (a log start inside a batch) are to be skipped. Control batches are
// passed on too.
func (b *Broker) replayBatches(ctx context.Context, topic string, partition int32, fn func(batch []byte, h recordbatch.Header, from int64) error) error {
	p, err := b.replicas.Lookup(topic, partition)
	if err != nil {
		return kafkaError(err, kerr.UnknownServerError)
	}
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
			return fmt.Errorf("read %s-%d: %w", topic, partition, err)
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
			if err := fn(batch, h, offset); err != nil {
				return err
			}
		}
		if next <= offset {
			return fmt.Errorf("replay %s-%d stuck at offset %d", topic, partition, offset)
		}
		offset = next
	}
	return nil
}

// replayRecords calls fn for each record of a replayed batch at or after
// from, with copies of its key and value fn may keep.
func replayRecords(topic string, partition int32, batch []byte, h recordbatch.Header, from int64, fn func(recordbatch.Record) error) error {
	var fnErr error
	err := recordbatch.Records(batch, func(r recordbatch.Record) bool {
		if r.Offset < from {
			return true
		}
		r.Key = append([]byte(nil), r.Key...)
		if r.Value != nil {
			r.Value = append([]byte(nil), r.Value...)
		}
		fnErr = fn(r)
		return fnErr == nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("replay %s-%d at offset %d: %w", topic, partition, h.BaseOffset, err)
	}
	return nil
}
