package zk

import (
	"slices"
	"time"

	gozk "github.com/go-zookeeper/zk"

	"github.com/samsa-io/samsa/controller"
)

// ISR change notifications. A leader that changes a partition's ISR
// records it under /isr_change_notification for the controller, as
// Kafka's ZooKeeper-mode leaders do; Samsa's brokers watch the state
// znodes themselves, so its controller only clears them. Kafka's
// ReplicaManager gathers the changes and writes one notification for
// many partitions every isr change propagation interval (2.5 s), not one
// per change: a broker rejoining the ISRs of 10,000 partitions writes a
// few znodes, not 10,000 for every watcher of the list to read again.

// isrNotifyInterval is Kafka's isr change propagation interval.
const isrNotifyInterval = 2500 * time.Millisecond

// noteISRChange queues tp for the next notification.
func (s *Store) noteISRChange(tp controller.TopicPartition) {
	s.isrMu.Lock()
	s.isrChanged = append(s.isrChanged, tp)
	s.isrMu.Unlock()
	select {
	case s.isrWake <- struct{}{}:
	default:
	}
}

// notifyISRChanges writes the queued changes as one notification at most
// every isrNotifyInterval, until the store closes.
func (s *Store) notifyISRChanges() {
	for {
		select {
		case <-s.stop:
			return
		case <-s.isrWake:
		}
		select {
		case <-s.stop:
			return
		case <-time.After(isrNotifyInterval):
		}
		s.isrMu.Lock()
		tps := s.isrChanged
		s.isrChanged = nil
		s.isrMu.Unlock()
		if len(tps) == 0 {
			continue
		}
		// A few thousand per znode keeps each well under jute.maxbuffer.
		for chunk := range slices.Chunk(tps, 4096) {
			if _, err := s.zk.create(zkIsrChangesPath+"/"+zkIsrChangePrefix, encodeIsrChange(chunk...), gozk.FlagSequence); err != nil {
				s.logger.Debug().Err(err).Int("partitions", len(chunk)).Msg("isr change notification not written")
			}
		}
	}
}
