// Package plain is the broker's SASL/PLAIN mechanism (RFC 4616) with
// Kafka's PlainServerCallbackHandler semantics: the users and passwords
// are the user_<name>="<password>" options of the listener's JAAS line
// (listener.name.<l>.plain.sasl.jaas.config).
package plain

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/samsa-io/samsa/broker/sasl"
)

// Name is the mechanism's name.
const Name = "PLAIN"

// Mechanism checks PLAIN logins against a fixed set of users.
type Mechanism struct {
	passwords map[string]string // user name → password
}

// New returns the PLAIN mechanism for users, keyed by user name.
func New(users map[string]string) *Mechanism {
	p := make(map[string]string, len(users))
	for u, pw := range users {
		p[u] = pw
	}
	return &Mechanism{passwords: p}
}

// Name implements sasl.Mechanism.
func (m *Mechanism) Name() string { return Name }

// Start implements sasl.Mechanism.
func (m *Mechanism) Start() sasl.Exchange { return &exchange{m: m} }

// errInvalidCredentials is Kafka's message for a wrong user or password.
var errInvalidCredentials = errors.New("Authentication failed: Invalid username or password")

type exchange struct {
	m    *Mechanism
	user string
}

// Next checks the one PLAIN message, "authzid NUL authcid NUL passwd".
// As Kafka's PlainSaslServer, an authorization ID other than empty or
// the user itself is refused.
func (e *exchange) Next(client []byte) ([]byte, bool, error) {
	parts := bytes.Split(client, []byte{0})
	if len(parts) != 3 {
		return nil, false, errors.New("Invalid SASL/PLAIN response: expected 3 tokens")
	}
	authzid, user, password := string(parts[0]), string(parts[1]), string(parts[2])
	if user == "" {
		return nil, false, errors.New("Authentication failed: username not specified")
	}
	if password == "" {
		return nil, false, errors.New("Authentication failed: password not specified")
	}
	want, ok := e.m.passwords[user]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1 {
		return nil, false, errInvalidCredentials
	}
	if authzid != "" && authzid != user {
		return nil, false, fmt.Errorf("Authentication failed: Client requested an authorization id that is different from username")
	}
	e.user = user
	return nil, true, nil
}

func (e *exchange) Principal() string       { return e.user }
func (e *exchange) Lifetime() time.Duration { return 0 }
