package quota

import (
	"math"
	"time"
)

// tokenBucket is Kafka's TokenBucket, which controller_mutation_rate is
// measured with (KIP-599): it holds up to bound × quota.window.num ×
// quota.window.size.seconds tokens, refills at bound per second, and
// goes negative when a request takes more than it holds; the client is
// throttled until it is back at zero.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

func (b *tokenBucket) refill(now time.Time, bound, burst float64) {
	if b.last.IsZero() {
		b.tokens, b.last = burst, now
		return
	}
	b.tokens = math.Min(burst, b.tokens+bound*now.Sub(b.last).Seconds())
	b.last = now
}

// RecordMutations counts partitions created or deleted by c against its
// controller_mutation_rate. With strict (CreateTopics v6+, DeleteTopics
// v5+, CreatePartitions v3+) a client already over its quota is refused
// (nothing is recorded) and must answer THROTTLING_QUOTA_EXCEEDED; a
// client under it may take more than it has left, as in Kafka. Older
// versions are always recorded and never refused.
func (m *Manager) RecordMutations(c Client, partitions int, strict bool, now time.Time) (refused bool) {
	if m.none.Load() {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.table.Resolve(ControllerMutationRate, c.User, c.ClientID)
	if !ok {
		return false
	}
	bucket := m.bucketLocked(b, now)
	bucket.refill(now, b.Limit, b.Limit*m.burstSeconds())
	if strict && bucket.tokens < 0 {
		return true
	}
	bucket.tokens -= float64(partitions)
	return false
}

// MutationThrottle is how long c must wait before its
// controller_mutation_rate lets it mutate again.
func (m *Manager) MutationThrottle(c Client, now time.Time) time.Duration {
	if m.none.Load() {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.table.Resolve(ControllerMutationRate, c.User, c.ClientID)
	if !ok {
		return 0
	}
	bucket := m.bucketLocked(b, now)
	bucket.refill(now, b.Limit, b.Limit*m.burstSeconds())
	if bucket.tokens >= 0 {
		return 0
	}
	if b.Limit <= 0 {
		return m.window.Size * time.Duration(m.window.Samples)
	}
	return time.Duration(-bucket.tokens / b.Limit * float64(time.Second))
}

func (m *Manager) burstSeconds() float64 {
	return float64(m.window.Samples) * m.window.Size.Seconds()
}

func (m *Manager) bucketLocked(b Bound, now time.Time) *tokenBucket {
	k := rateKey{key: ControllerMutationRate, user: b.User, clientID: b.ClientID}
	t := m.buckets[k]
	if t == nil {
		t = &tokenBucket{}
		m.buckets[k] = t
	}
	m.usedLocked(k, now)
	return t
}
