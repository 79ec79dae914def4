package replica

// What the partition table tells monitoring (package broker/metrics reads
// it at scrape time through package broker): each hosted partition's
// state and log, the traffic counted on it, and the ISR changes this
// broker made as a leader. Counting costs the hot paths one atomic add
// per partition of a request; everything else is read when asked.

import (
	"sync/atomic"

	plog "github.com/samsa-io/samsa/log"
)

// Traffic counts what went through one partition on this broker since it
// was opened here: Kafka's per-topic BytesInPerSec and MessagesInPerSec
// (appends taken as leader), BytesOutPerSec (fetches served to
// consumers) and ReplicationBytesOutPerSec (fetches served to followers).
// Package broker's handlers add to it; readers sum it per topic.
type Traffic struct {
	BytesIn          atomic.Uint64
	RecordsIn        atomic.Uint64
	ConsumerBytesOut atomic.Uint64
	FollowerBytesOut atomic.Uint64
}

// Traffic is the partition's traffic counters.
func (p *Partition) Traffic() *Traffic { return &p.traffic }

// PartitionStatus is one hosted partition as this broker sees it now.
type PartitionStatus struct {
	Topic     string
	Partition int32
	// Leader is the leader of the state applied, -1 when the partition
	// has none (offline); IsLeader is whether it is this broker.
	Leader   int32
	IsLeader bool
	// Replicas and ISR are the sizes of the assignment and the in-sync
	// set of the state applied: a leader whose ISR is smaller than its
	// replicas leads an under-replicated partition.
	Replicas, ISR int
	// The log: start and end offsets, high watermark, bytes on disk.
	Offsets       plog.Offsets
	HighWatermark int64
	Size          int64
	Traffic       *Traffic
}

// Status lists every partition this broker hosts, in no order. It takes
// each partition's role lock for reading, briefly, and nothing else.
func (m *Manager) Status() []PartitionStatus {
	m.mu.RLock()
	var hosted []*Partition
	for _, ts := range m.topics {
		for _, p := range ts.partitions {
			if p != nil {
				hosted = append(hosted, p)
			}
		}
	}
	m.mu.RUnlock()
	out := make([]PartitionStatus, 0, len(hosted))
	for _, p := range hosted {
		p.roleMu.RLock()
		st := PartitionStatus{
			Topic: p.topic, Partition: p.index,
			Leader: p.state.Leader, IsLeader: p.role == roleLeader,
			Replicas: len(p.state.Replicas), ISR: len(p.state.ISR),
		}
		p.roleMu.RUnlock()
		st.Offsets = p.log.Offsets()
		st.HighWatermark = p.log.HighWatermark()
		st.Size = p.log.Size()
		st.Traffic = &p.traffic
		out = append(out, st)
	}
	return out
}

// ISRChanges counts the ISR changes this broker made as a leader and the
// store accepted since it started: shrinks (a follower fell behind) and
// expansions (one caught up), Kafka's IsrShrinksPerSec and
// IsrExpandsPerSec.
func (m *Manager) ISRChanges() (shrinks, expands uint64) {
	return m.isrShrinks.Load(), m.isrExpands.Load()
}

// countISRChange counts an accepted ISR change from before to after
// members.
func (m *Manager) countISRChange(before, after int) {
	switch {
	case after < before:
		m.isrShrinks.Add(1)
	case after > before:
		m.isrExpands.Add(1)
	}
}
