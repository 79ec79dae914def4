package broker

// Incremental fetch sessions (KIP-227). A consumer's first fetch (session
// id 0, epoch 0) creates a session holding its partitions and their fetch
// state; later fetches (epoch 1, 2, ...) carry only what changed, and the
// response carries only partitions with news: records, an error, or a new
// high watermark, last stable offset or log start offset. Epoch -1 asks
// for a sessionless full fetch (closing the named session, if any).

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	fetchSessionInitialEpoch = 0
	fetchSessionFinalEpoch   = -1
	// fetchSessionIdleTimeout is how long an unused session is kept
	// before another client's new session may evict it
	// (min.incremental.fetch.session.eviction.ms).
	fetchSessionIdleTimeout = 120 * time.Second
)

// sessionPartitionKey names a partition in a session: by topic name for
// versions before 13, by topic ID from v13 on.
type sessionPartitionKey struct {
	topic     string
	topicID   [16]byte
	partition int32
}

// sessionPartition is what the session remembers of one partition: the
// client's fetch position and what the last response told it.
type sessionPartition struct {
	key                sessionPartitionKey
	fetchOffset        int64
	maxBytes           int32
	currentLeaderEpoch int32
	// Last values sent, to tell whether the partition has news.
	highWatermark    int64
	lastStableOffset int64
	logStartOffset   int64
}

type fetchSession struct {
	id int32
	// epoch is the epoch the next request must carry. A new session
	// starts at 0, the epoch of the full fetch creating it, and finish
	// advances it after every response: the client's next fetch carries 1.
	epoch    int32
	order    []sessionPartitionKey
	parts    map[sessionPartitionKey]*sessionPartition
	lastUsed time.Time
	inUse    bool
}

type fetchSessionCache struct {
	mu       sync.Mutex
	maxSlots int
	nextID   int32
	sessions map[int32]*fetchSession
}

func newFetchSessionCache(maxSlots int) *fetchSessionCache {
	return &fetchSessionCache{maxSlots: maxSlots, nextID: 1, sessions: make(map[int32]*fetchSession)}
}

// fetchPlan is what a Fetch request resolves to after applying its
// session: the partitions to read, in order.
type fetchPlan struct {
	session     *fetchSession // nil for sessionless fetches
	incremental bool
	parts       []*sessionPartition
	errorCode   int16
}

func requestKey(version int16, topic string, topicID [16]byte, partition int32) sessionPartitionKey {
	if version >= 13 {
		return sessionPartitionKey{topicID: topicID, partition: partition}
	}
	return sessionPartitionKey{topic: topic, partition: partition}
}

func newSessionPartition(key sessionPartitionKey, p *kmsg.FetchRequestTopicPartition) *sessionPartition {
	return &sessionPartition{
		key:                key,
		fetchOffset:        p.FetchOffset,
		maxBytes:           p.PartitionMaxBytes,
		currentLeaderEpoch: p.CurrentLeaderEpoch,
		highWatermark:      -1,
		lastStableOffset:   -1,
		logStartOffset:     -1,
	}
}

// plan applies a request to the session cache.
func (c *fetchSessionCache) plan(req *kmsg.FetchRequest, now time.Time) fetchPlan {
	full := func() []*sessionPartition {
		var parts []*sessionPartition
		for i := range req.Topics {
			t := &req.Topics[i]
			for j := range t.Partitions {
				p := &t.Partitions[j]
				parts = append(parts, newSessionPartition(requestKey(req.Version, t.Topic, t.TopicID, p.Partition), p))
			}
		}
		return parts
	}
	if req.Version < 7 {
		return fetchPlan{parts: full()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if req.SessionEpoch == fetchSessionInitialEpoch || req.SessionEpoch == fetchSessionFinalEpoch {
		if req.SessionID != 0 {
			delete(c.sessions, req.SessionID)
		}
		parts := full()
		if req.SessionEpoch == fetchSessionFinalEpoch {
			return fetchPlan{parts: parts}
		}
		s := c.newSessionLocked(now)
		if s == nil {
			return fetchPlan{parts: parts} // no free slot: sessionless
		}
		for _, sp := range parts {
			if _, dup := s.parts[sp.key]; !dup {
				s.order = append(s.order, sp.key)
			}
			s.parts[sp.key] = sp
		}
		s.inUse = true
		return fetchPlan{session: s, parts: parts}
	}
	s, ok := c.sessions[req.SessionID]
	if !ok {
		return fetchPlan{errorCode: kerr.FetchSessionIDNotFound.Code}
	}
	if s.epoch != req.SessionEpoch || s.inUse {
		return fetchPlan{errorCode: kerr.InvalidFetchSessionEpoch.Code}
	}
	s.lastUsed = now
	s.inUse = true
	for i := range req.ForgottenTopics {
		ft := &req.ForgottenTopics[i]
		for _, p := range ft.Partitions {
			delete(s.parts, requestKey(req.Version, ft.Topic, ft.TopicID, p))
		}
	}
	for i := range req.Topics {
		t := &req.Topics[i]
		for j := range t.Partitions {
			p := &t.Partitions[j]
			key := requestKey(req.Version, t.Topic, t.TopicID, p.Partition)
			if sp, ok := s.parts[key]; ok {
				sp.fetchOffset = p.FetchOffset
				sp.maxBytes = p.PartitionMaxBytes
				sp.currentLeaderEpoch = p.CurrentLeaderEpoch
				continue
			}
			s.parts[key] = newSessionPartition(key, p)
			s.order = append(s.order, key)
		}
	}
	// Compact the order list, dropping forgotten partitions.
	order := s.order[:0]
	parts := make([]*sessionPartition, 0, len(s.parts))
	for _, key := range s.order {
		if sp, ok := s.parts[key]; ok {
			order = append(order, key)
			parts = append(parts, sp)
		}
	}
	s.order = order
	return fetchPlan{session: s, incremental: true, parts: parts}
}

// size counts the sessions held and the partitions they hold.
func (c *fetchSessionCache) size() (sessions, partitions int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sessions {
		partitions += len(s.parts)
	}
	return len(c.sessions), partitions
}

// newSessionLocked creates a session, evicting the least recently used
// idle one when the cache is full. It returns nil when no slot is free.
func (c *fetchSessionCache) newSessionLocked(now time.Time) *fetchSession {
	if c.maxSlots <= 0 {
		return nil
	}
	if len(c.sessions) >= c.maxSlots {
		var victim *fetchSession
		for _, s := range c.sessions {
			if s.inUse || now.Sub(s.lastUsed) < fetchSessionIdleTimeout {
				continue
			}
			if victim == nil || s.lastUsed.Before(victim.lastUsed) {
				victim = s
			}
		}
		if victim == nil {
			return nil
		}
		delete(c.sessions, victim.id)
	}
	id := c.nextID
	for {
		if id <= 0 {
			id = 1
		}
		if _, taken := c.sessions[id]; !taken {
			break
		}
		id++
	}
	c.nextID = id + 1
	s := &fetchSession{id: id, epoch: 0, parts: make(map[sessionPartitionKey]*sessionPartition), lastUsed: now}
	c.sessions[id] = s
	return s
}

// finish records that the response for a session was built: the next
// request must carry the next epoch. Partitions that returned records move
// to the end of the order, so that partitions left out by the response
// size limit come first next time.
func (c *fetchSessionCache) finish(s *fetchSession, served map[sessionPartitionKey]bool, now time.Time) {
	if s == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.inUse = false
	s.lastUsed = now
	s.epoch++
	if s.epoch < 0 {
		s.epoch = 1
	}
	if len(served) == 0 {
		return
	}
	order := make([]sessionPartitionKey, 0, len(s.order))
	var tail []sessionPartitionKey
	for _, key := range s.order {
		if served[key] {
			tail = append(tail, key)
		} else {
			order = append(order, key)
		}
	}
	s.order = append(order, tail...)
}
