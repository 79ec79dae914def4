// Package sasl holds what the broker's SASL mechanisms have in common:
// a Mechanism starts one Exchange per authentication, and the exchange
// turns the client's SaslAuthenticate messages into replies until the
// client is authenticated or refused.
//
// Each mechanism lives in its own package (PLAIN, SCRAM, OAUTHBEARER);
// the broker's SaslHandshake and SaslAuthenticate handlers pick one by
// name from the listener's enabled mechanisms and drive its exchanges.
package sasl

import "time"

// Mechanism is one SASL mechanism a listener may enable.
type Mechanism interface {
	// Name is the mechanism's name as clients ask for it in
	// SaslHandshake: "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512",
	// "OAUTHBEARER".
	Name() string
	// Start begins one authentication.
	Start() Exchange
}

// Exchange is one authentication in progress: the messages of a
// client's SaslAuthenticate requests (or, for a client that does not
// use SaslAuthenticate, its raw SASL tokens) in order.
type Exchange interface {
	// Next takes the client's next message and returns the reply to
	// send. done is true once the client is authenticated (the reply
	// may still carry the server's final message, as SCRAM's does). An
	// error refuses the client: the broker answers
	// SASL_AUTHENTICATION_FAILED with the error's text and closes the
	// connection.
	Next(client []byte) (reply []byte, done bool, err error)
	// Principal is the authenticated user's name (without "User:"),
	// once Next returned done.
	Principal() string
	// Lifetime is how long the authentication stays valid (the expiry
	// of an OAUTHBEARER token), or 0 when the credential does not
	// expire; the session lifetime the broker gives the client is the
	// smaller of this and connections.max.reauth.ms.
	Lifetime() time.Duration
}

// PrincipalType is the type of every principal SASL authenticates, as
// Kafka's default principal builder names it: "User:alice".
const PrincipalType = "User"
