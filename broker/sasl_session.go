package broker

// SASL state of a connection, and the gate every request on a SASL
// listener passes (Kafka's SaslServerAuthenticator):
//
//   - before a successful login only ApiVersions, SaslHandshake and
//     SaslAuthenticate are served; any other request closes the
//     connection, as Kafka closes it on an unexpected request during the
//     SASL handshake;
//   - a session has a lifetime (connections.max.reauth.ms, or a token's
//     expiry if shorter; KIP-368): once it is over, a request other than
//     SaslHandshake/SaslAuthenticate closes the connection, and a new
//     SaslHandshake and SaslAuthenticate on the same connection start a
//     new session.
//
// The state lives in wire.Conn.SASL and is only touched by the
// connection's handler goroutine (requests are served one at a time), so
// it needs no lock.

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/sasl"
	"github.com/samsa-io/samsa/broker/sasl/mechanisms"
	"github.com/samsa-io/samsa/wire"
)

// saslSession is one connection's SASL state.
type saslSession struct {
	mechanism sasl.Mechanism // chosen by the last SaslHandshake
	exchange  sasl.Exchange  // the login in progress, nil between logins
	// user is the authenticated user; empty before the first login. A
	// re-authentication must log in the same user (Kafka refuses a
	// change of principal).
	user string
	// expiry is when the session ends; zero when it does not.
	expiry time.Time
}

// errSASLRequired closes a connection that sends a request before it
// authenticated, or after its session expired.
var errSASLRequired = errors.New("SASL authentication required")

// saslMechanisms returns the mechanisms of the connection's listener, and
// whether the listener is a SASL one.
func (b *Broker) saslMechanisms(conn *wire.Conn) (mechanisms.Listener, bool) {
	ms, ok := b.sasl[conn.Listener]
	return ms, ok
}

// saslSessionOf returns the connection's SASL state, making it on first
// use.
func saslSessionOf(conn *wire.Conn) *saslSession {
	s, _ := conn.SASL.(*saslSession)
	if s == nil {
		s = &saslSession{}
		conn.SASL = s
	}
	return s
}

// checkSASL lets a request through the SASL gate, or returns the error
// that closes its connection.
func (b *Broker) checkSASL(conn *wire.Conn, key int16) error {
	if _, ok := b.saslMechanisms(conn); !ok {
		return nil
	}
	switch kmsg.Key(key) {
	case kmsg.ApiVersions, kmsg.SASLHandshake, kmsg.SASLAuthenticate:
		return nil
	}
	s := saslSessionOf(conn)
	if s.user == "" {
		return fmt.Errorf("%w: %s before a SASL login", errSASLRequired, kmsg.NameForKey(key))
	}
	if !s.expiry.IsZero() && !b.now().Before(s.expiry) {
		return fmt.Errorf("%w: %s after the session of %s expired (connections.max.reauth.ms)", errSASLRequired, kmsg.NameForKey(key), s.user)
	}
	return nil
}

// sessionLifetime is the lifetime of a session a login just started: the
// smaller of connections.max.reauth.ms and the credential's own, zero
// when neither limits it.
func (b *Broker) sessionLifetime(credential time.Duration) time.Duration {
	max := b.cfg.SASL.MaxReauth
	switch {
	case credential <= 0:
		return max
	case max <= 0:
		return credential
	}
	return min(max, credential)
}

// refusedExchange is a login refused before it starts: a
// re-authentication that asked for another mechanism.
type refusedExchange struct{ reason string }

func (r refusedExchange) Next([]byte) ([]byte, bool, error) { return nil, false, errors.New(r.reason) }
func (refusedExchange) Principal() string                   { return "" }
func (refusedExchange) Lifetime() time.Duration             { return 0 }
