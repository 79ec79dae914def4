package broker

// SaslHandshake, v0-1. The client names the SASL mechanism it wants; the
// answer lists the mechanisms the listener enables. An enabled mechanism
// starts a login that SaslAuthenticate requests carry (v1; KIP-152); one
// that is not enabled is answered UNSUPPORTED_SASL_MECHANISM and the
// connection is closed, as Kafka fails the authentication. On a listener
// without SASL the answer is ILLEGAL_SASL_STATE (Kafka's KafkaApis).
//
// A handshake on an authenticated connection starts a re-authentication
// (KIP-368); it must use the mechanism of the first login, else the
// SaslAuthenticate that follows is refused (SASL_AUTHENTICATION_FAILED).
//
// After a v0 handshake the client sends its SASL tokens raw, each a
// size-prefixed frame without a request header, and gets raw tokens back
// (Kafka's flow before KIP-152, which kafka-python 2.0 still uses); a
// refused raw login closes the connection without an answer, as in
// Kafka. The wire layer reads those frames as raw tokens when told to
// (wire.Conn.ReadRawSASLTokens); serveRawSASLToken drives them.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.SASLHandshake, min: 0, max: 1, serve: (*Broker).handleSASLHandshake,
		note: "v0: raw SASL tokens follow, as Kafka reads them (kafka-python 2.0)"})
}

func (b *Broker) handleSASLHandshake(_ context.Context, conn *wire.Conn, kreq kmsg.Request) (*wire.Response, error) {
	req := kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	ms, ok := b.saslMechanisms(conn)
	if !ok {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		return b.saslResponse(resp, false), nil
	}
	resp.SupportedMechanisms = ms.Names()
	s := saslSessionOf(conn)
	m, ok := ms[req.Mechanism]
	if !ok {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return b.saslResponse(resp, true), nil
	}
	if s.user != "" && s.mechanism != nil && s.mechanism.Name() != m.Name() {
		// KIP-368: re-authentication keeps the mechanism. As Kafka, the
		// handshake succeeds and the login that follows is refused.
		s.exchange = refusedExchange{fmt.Sprintf("SASL mechanism '%s' requested by client is not supported for re-authentication of mechanism '%s'",
			m.Name(), s.mechanism.Name())}
		conn.ReadRawSASLTokens(req.Version == 0)
		return b.saslResponse(resp, false), nil
	}
	s.mechanism, s.exchange = m, m.Start()
	conn.ReadRawSASLTokens(req.Version == 0)
	return b.saslResponse(resp, false), nil
}

// saslResponse encodes a SASL response; closeAfter closes the connection
// once it is written.
func (b *Broker) saslResponse(resp kmsg.Response, closeAfter bool) *wire.Response {
	b.observeErrors(resp)
	r := encodeResponse(resp)
	r.CloseAfter = closeAfter
	return r
}
