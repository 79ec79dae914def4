package wire

import (
	"net"
	"net/netip"
	"time"
)

// CreationRate is a connection creation rate policy (Kafka's
// max.connection.creation.rate and per-IP connection_creation_rate,
// KIP-612; package broker/quota implements it). Accepted is told of
// each connection a listener accepts and returns how long the listener
// pauses before accepting the next one, or how long to hold this
// connection before closing it unserved.
type CreationRate interface {
	Accepted(listener string, ip netip.Addr, now time.Time) (pause, closeAfter time.Duration)
}

// SetCreationRate sets the connection creation rate policy; nil means
// none.
func (l *ConnLimits) SetCreationRate(r CreationRate) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.creation = r
}

// creationDelay applies the creation rate policy to a connection just
// accepted.
func (l *ConnLimits) creationDelay(listener string, addr net.Addr) (pause, closeAfter time.Duration) {
	l.mu.Lock()
	r := l.creation
	l.mu.Unlock()
	if r == nil {
		return 0, 0
	}
	return r.Accepted(listener, addrIP(addr), time.Now())
}

// closeLater closes a connection refused for its address's creation
// rate once its throttle has passed, as Kafka does, so the client does
// not reconnect at once; Shutdown closes it sooner.
func (s *Server) closeLater(c net.Conn, after time.Duration) {
	t := time.NewTimer(after)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.draining.Done():
	}
	c.Close()
}

// pauseAccepting waits d before the listener accepts again, as Kafka's
// acceptor waits when the broker is over its connection creation rate;
// false when the server shut down meanwhile.
func (s *Server) pauseAccepting(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.draining.Done():
		return false
	}
}
