package oauthbearer

import (
	"errors"
	"fmt"
	"time"
)

// exchange is one OAUTHBEARER authentication, following Kafka's
// OAuthBearerSaslServer: the client's initial response carries the token;
// a valid token ends the exchange with an empty reply; an invalid one is
// answered with the RFC 7628 error message ({"status":"invalid_token"}),
// which the client acknowledges with a lone 0x01, and the exchange then
// fails. A malformed message fails at once.
type exchange struct {
	mechanism *Mechanism

	// refused is set between the error message and the client's 0x01.
	refused *tokenError
	failed  bool
	done    bool

	principal string
	lifetime  time.Duration
}

var errExchangeOver = errors.New("OAUTHBEARER authentication already ended")

func (e *exchange) Next(client []byte) ([]byte, bool, error) {
	if e.done || e.failed {
		return nil, false, errExchangeOver
	}
	if e.refused != nil && string(client) == kvSeparator {
		e.failed = true
		return nil, false, fmt.Errorf("%s: %s", e.refused.jsonReply(), e.refused.reason)
	}
	// Anything else after an error message starts over, as in Kafka.
	e.refused = nil
	first, err := parseInitialResponse(client)
	if err != nil {
		e.failed = true
		return nil, false, err
	}
	now := e.mechanism.now()
	token, err := e.mechanism.validator.validate(first.token, now)
	if err != nil {
		var refused *tokenError
		if !errors.As(err, &refused) {
			e.failed = true
			return nil, false, fmt.Errorf("authentication could not be performed due to an internal error on the server: %w", err)
		}
		e.refused = refused
		return refused.jsonReply(), false, nil
	}
	// The client may name an authorization ID, but only its own.
	if first.authzid != "" && first.authzid != token.principal {
		e.failed = true
		return nil, false, fmt.Errorf("authentication failed: client requested an authorization id (%s) that is different from the token's principal name (%s)",
			first.authzid, token.principal)
	}
	e.done = true
	e.principal = token.principal
	e.lifetime = max(token.expiry.Sub(now), time.Millisecond)
	return []byte{}, true, nil
}

func (e *exchange) Principal() string { return e.principal }

// Lifetime is the time left until the token's exp, counted from when the
// token was validated.
func (e *exchange) Lifetime() time.Duration { return e.lifetime }
