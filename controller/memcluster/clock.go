package memcluster

import (
	"sync"
	"time"
)

// ManualClock is a clock that moves only when told, for Options.Now:
// a test moves it past a session timeout and calls Ensemble.Tick, and the
// session expires then, not a wall-clock while later.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a clock showing start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now is the time the clock shows.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
