package wire

import (
	"context"
	"time"
)

// Throttle mutes the connection for d after the response of the request
// being served: no further request of it is served until d has passed.
// This is how Kafka enforces a client quota (KIP-219): the response goes
// out at once carrying throttle_time_ms, the client backs off for that
// long, and the broker mutes the channel for the same time so a client
// that does not back off gains nothing. A longer throttle already set
// is kept. The Handler calls it on its own goroutine.
func (c *Conn) Throttle(d time.Duration) {
	if d <= 0 {
		return
	}
	if until := time.Now().Add(d); until.After(c.mutedUntil) {
		c.mutedUntil = until
	}
}

// waitUnmuted returns once the connection's throttle has passed, or ctx
// ended.
func (c *Conn) waitUnmuted(ctx context.Context) {
	d := time.Until(c.mutedUntil)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
