package broker

// SaslAuthenticate, v0-2 (KIP-152). Each request carries the client's next
// SASL message for the mechanism SaslHandshake chose; the answer carries
// the server's. A refused login is answered SASL_AUTHENTICATION_FAILED
// with the mechanism's message (PLAIN: "Authentication failed: Invalid
// username or password", as Kafka) and the connection is closed. A login
// sets the connection's principal to User:<name>.
//
// v1+ answers session_lifetime_ms (KIP-368): connections.max.reauth.ms,
// or the credential's own lifetime if shorter; 0 when sessions do not
// expire. The client re-authenticates before then with a new
// SaslHandshake and SaslAuthenticate on the same connection; a request
// after expiry closes it (sasl_session.go). Sessions of v0 clients expire
// too, as in Kafka.
//
// Without a preceding SaslHandshake, or on a listener without SASL, the
// answer is ILLEGAL_SASL_STATE (and, on a SASL listener, the connection
// is closed).

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/sasl"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.SASLAuthenticate, min: 0, max: 2, serve: (*Broker).handleSASLAuthenticate,
		note: "session_lifetime_ms from connections.max.reauth.ms (KIP-368)"})
}

func (b *Broker) handleSASLAuthenticate(_ context.Context, conn *wire.Conn, kreq kmsg.Request) (*wire.Response, error) {
	req := kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	if _, ok := b.saslMechanisms(conn); !ok {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return b.saslResponse(resp, false), nil
	}
	s := saslSessionOf(conn)
	if s.exchange == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SaslAuthenticate without a SaslHandshake choosing a mechanism"
		resp.ErrorMessage = &msg
		return b.saslResponse(resp, true), nil
	}
	reply, done, err := s.exchange.Next(req.SASLAuthBytes)
	if err != nil {
		return b.saslFailed(s, resp, err.Error()), nil
	}
	resp.SASLAuthBytes = reply
	if !done {
		return b.saslResponse(resp, false), nil
	}
	lifetime, err := b.saslLoggedIn(conn, s)
	if err != nil {
		return b.saslFailed(s, resp, err.Error()), nil
	}
	resp.SessionLifetimeMillis = lifetime.Milliseconds()
	return b.saslResponse(resp, false), nil
}

// saslLoggedIn ends a login whose exchange is done: the connection's
// principal becomes the user's and its session starts. It returns the
// session's lifetime (0: no expiry), or the refusal of a
// re-authentication as another user.
func (b *Broker) saslLoggedIn(conn *wire.Conn, s *saslSession) (time.Duration, error) {
	user := s.exchange.Principal()
	if s.user != "" && user != s.user {
		return 0, fmt.Errorf("Cannot change principals during re-authentication from %s:%s to %s:%s",
			sasl.PrincipalType, s.user, sasl.PrincipalType, user)
	}
	lifetime := b.sessionLifetime(s.exchange.Lifetime())
	s.user, s.exchange = user, nil
	s.expiry = time.Time{}
	if lifetime > 0 {
		s.expiry = b.now().Add(lifetime)
	}
	conn.Principal = sasl.PrincipalType + ":" + user
	return lifetime, nil
}

// serveRawSASLToken answers a raw SASL token that followed a SaslHandshake
// v0 (17_sasl_handshake.go) with the mechanism's raw reply. A refused
// login closes the connection without an answer, as Kafka closes it.
func (b *Broker) serveRawSASLToken(conn *wire.Conn, token []byte) (*wire.Response, error) {
	s := saslSessionOf(conn)
	if s.exchange == nil {
		return nil, fmt.Errorf("%w: raw SASL token without a handshake", errSASLRequired)
	}
	reply, done, err := s.exchange.Next(token)
	if err != nil {
		s.exchange = nil
		return nil, fmt.Errorf("raw SASL login refused: %w", err)
	}
	if done {
		if _, err := b.saslLoggedIn(conn, s); err != nil {
			return nil, err
		}
	}
	conn.ReadRawSASLTokens(!done)
	return &wire.Response{RawSASL: true, Parts: []wire.Part{{Bytes: reply}}}, nil
}

// saslFailed answers a refused login: SASL_AUTHENTICATION_FAILED with
// message, then the connection closes.
func (b *Broker) saslFailed(s *saslSession, resp *kmsg.SASLAuthenticateResponse, message string) *wire.Response {
	s.exchange = nil
	resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
	resp.ErrorMessage = &message
	resp.SASLAuthBytes = nil
	return b.saslResponse(resp, true)
}
