package quota

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client names who is measured: the principal's name (without "User:")
// and the client ID of the request header.
type Client struct {
	User     string
	ClientID string
}

// ClientFor builds a Client from a principal ("User:alice") and a client
// ID.
func ClientFor(principal, clientID string) Client {
	_, name, found := strings.Cut(principal, ":")
	if !found {
		name = principal
	}
	return Client{User: name, ClientID: clientID}
}

// rateKey names one measured rate: the quota key and the metric tags.
type rateKey struct {
	key            string
	user, clientID string
}

// Manager measures clients against their quotas.
type Manager struct {
	window Window
	// none is set while the table holds no quota: every client is
	// within its (absent) quotas, answered without the lock or the
	// eight-level lookup, so a broker without quotas pays nothing per
	// request.
	none atomic.Bool

	mu      sync.Mutex
	table   Table
	rates   map[rateKey]*Rate
	buckets map[rateKey]*tokenBucket // controller_mutation_rate's (mutations.go)
	// lastUsed is when each rate or bucket was last used; those unused
	// for inactiveExpiry are dropped by a sweep every sweepEvery uses, as
	// Kafka drops inactive quota sensors, so client IDs that come and go
	// do not grow the maps for ever.
	lastUsed map[rateKey]time.Time
	uses     int
}

// inactiveExpiry is Kafka's ClientQuotaManager InactiveSensorExpirationTimeSeconds.
const inactiveExpiry = time.Hour

const sweepEvery = 4096

// NewManager returns a manager with no quotas.
func NewManager(w Window) *Manager {
	m := &Manager{window: w.normalized(), table: Table{}, rates: map[rateKey]*Rate{},
		buckets: map[rateKey]*tokenBucket{}, lastUsed: map[rateKey]time.Time{}}
	m.none.Store(true)
	return m
}

// Reload replaces the quota table. Rates already measured are kept, so a
// changed quota applies to what the client used before the change, as in
// Kafka.
func (m *Manager) Reload(t Table) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.table = t
	m.none.Store(t.empty())
}

// Table returns the current quota table; callers must not change it.
func (m *Manager) Table() Table {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.table
}

// Bound returns the quota key applying to c, if any.
func (m *Manager) Bound(key string, c Client) (Bound, bool) {
	if m.none.Load() {
		return Bound{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.table.Resolve(key, c.User, c.ClientID)
}

// Record adds v to c's usage of key at now and returns how long c must
// be throttled for it: zero when c has no quota or is within it.
func (m *Manager) Record(key string, c Client, v float64, now time.Time) time.Duration {
	if m.none.Load() {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.table.Resolve(key, c.User, c.ClientID)
	if !ok {
		return 0
	}
	r := m.rateLocked(key, b, now)
	r.Record(now, v)
	return r.ThrottleTime(now, b.Limit)
}

// Unrecord takes v back from c's usage of key, for a response that was
// not sent after all (a throttled fetch, as Kafka does).
func (m *Manager) Unrecord(key string, c Client, v float64, now time.Time) {
	if m.none.Load() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if b, ok := m.table.Resolve(key, c.User, c.ClientID); ok {
		m.rateLocked(key, b, now).Record(now, -v)
	}
}

// Exceeded reports whether c is over its quota of key at now without
// recording anything, and for how long it would be throttled; used by
// controller_mutation_rate, which refuses a request made while over the
// quota (KIP-599).
func (m *Manager) Exceeded(key string, c Client, now time.Time) (time.Duration, bool) {
	if m.none.Load() {
		return 0, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.table.Resolve(key, c.User, c.ClientID)
	if !ok {
		return 0, false
	}
	t := m.rateLocked(key, b, now).ThrottleTime(now, b.Limit)
	return t, t > 0
}

func (m *Manager) rateLocked(key string, b Bound, now time.Time) *Rate {
	k := rateKey{key: key, user: b.User, clientID: b.ClientID}
	r := m.rates[k]
	if r == nil {
		r = NewRate(m.window)
		m.rates[k] = r
	}
	m.usedLocked(k, now)
	return r
}

// usedLocked notes a use of k and now and then sweeps inactive ones.
func (m *Manager) usedLocked(k rateKey, now time.Time) {
	m.lastUsed[k] = now
	if m.uses++; m.uses < sweepEvery {
		return
	}
	m.uses = 0
	for k, last := range m.lastUsed {
		if now.Sub(last) > inactiveExpiry {
			delete(m.lastUsed, k)
			delete(m.rates, k)
			delete(m.buckets, k)
		}
	}
}
