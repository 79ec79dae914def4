package broker

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/controller"
)

// autoCreateTopic creates a topic a client asked for by name in Metadata
// (auto.create.topics.enable), with the broker's num.partitions and
// default.replication.factor, as Kafka does. A single broker
// (standalone) caps the replication factor at 1, so a
// server.properties with Kafka's usual default.replication.factor=3 still
// auto-creates; a cluster with fewer live brokers refuses for now, as
// Kafka does (the client retries).
func (b *Broker) autoCreateTopic(ctx context.Context, name string) error {
	cfg := b.effectiveConfig()
	rf := cfg.DefaultReplicationFactor
	if live := int16(len(b.store.Brokers())); rf > live && b.standalone() {
		rf = live
	}
	t, err := b.store.CreateTopic(ctx, controller.CreateTopicRequest{
		Name:              name,
		Partitions:        cfg.NumPartitions,
		ReplicationFactor: rf,
	})
	switch {
	case err == nil:
	case errors.Is(err, controller.ErrTopicExists):
		return kerr.TopicAlreadyExists
	case errors.Is(err, controller.ErrInvalidTopicName):
		return kerr.InvalidTopicException
	case errors.Is(err, controller.ErrInvalidReplication):
		b.logger.Info().Err(err).Str("topic", name).Msg("auto-create topic: not enough live brokers yet")
		return kerr.LeaderNotAvailable
	default:
		b.logger.Warn().Err(err).Str("topic", name).Msg("auto-create topic")
		if errors.Is(err, controller.ErrStorage) {
			return kerr.KafkaStorageError
		}
		return kerr.LeaderNotAvailable
	}
	// As CreateTopics: a topic whose logs this broker cannot create (a
	// full disk) is taken back; the client retries (KAFKA_STORAGE_ERROR
	// is retriable) and the topic is made once the disk has room.
	if aerr := b.undoTopicWithoutLogs(ctx, name, t.ID, b.syncAfterAdmin(ctx, "auto-create")); aerr != nil {
		return kerr.KafkaStorageError
	}
	return nil
}
