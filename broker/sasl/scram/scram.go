// Package scram is the broker's SCRAM-SHA-256 and SCRAM-SHA-512 SASL
// mechanisms (RFC 5802, KIP-84). Credentials are read, at each login, from
// the metadata store where Kafka keeps them: the user's entity configs
// (ZooKeeper /config/users/<user>) under the mechanism's name, so a
// credential AlterUserScramCredentials stores on one broker is used by
// every broker of the cluster from the next login.
package scram

import (
	"errors"
	"fmt"
	"time"

	xscram "github.com/xdg-go/scram"

	"github.com/samsa-io/samsa/broker/sasl"
)

// CredentialStore is the part of the metadata store SCRAM reads
// (controller.Store's EntityConfigs).
type CredentialStore interface {
	// EntityConfigs returns the configs of a client entity
	// ("users/<user>"), nil when it has none.
	EntityConfigs(entity string) map[string]string
}

// Lookup returns the stored credential of user for mechanism, and whether
// there is one.
func Lookup(store CredentialStore, mechanism, user string) (Credential, bool, error) {
	v, ok := store.EntityConfigs("users/" + user)[mechanism]
	if !ok {
		return Credential{}, false, nil
	}
	c, err := ParseCredential(v)
	if err != nil {
		return Credential{}, false, fmt.Errorf("stored %s credential of user %q: %w", mechanism, user, err)
	}
	return c, true, nil
}

// errUnknownUser is returned by the credential lookup; it never reaches
// the client, which learns only that authentication failed.
var errUnknownUser = errors.New("unknown user")

// Mechanism is one SCRAM mechanism.
type Mechanism struct {
	name   string
	server *xscram.Server
}

// New returns the SCRAM mechanism name (SHA256 or SHA512) reading
// credentials from store.
func New(name string, store CredentialStore) (*Mechanism, error) {
	var hashGen xscram.HashGeneratorFcn
	switch name {
	case SHA256:
		hashGen = xscram.SHA256
	case SHA512:
		hashGen = xscram.SHA512
	default:
		return nil, fmt.Errorf("unknown SCRAM mechanism %q", name)
	}
	server, err := hashGen.NewServer(func(user string) (xscram.StoredCredentials, error) {
		c, ok, err := Lookup(store, name, user)
		if err != nil {
			return xscram.StoredCredentials{}, err
		}
		if !ok {
			return xscram.StoredCredentials{}, errUnknownUser
		}
		return xscram.StoredCredentials{
			KeyFactors: xscram.KeyFactors{Salt: string(c.Salt), Iters: c.Iterations},
			StoredKey:  c.StoredKey,
			ServerKey:  c.ServerKey,
		}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("SCRAM server %s: %w", name, err)
	}
	return &Mechanism{name: name, server: server}, nil
}

// Name implements sasl.Mechanism.
func (m *Mechanism) Name() string { return m.name }

// Start implements sasl.Mechanism.
func (m *Mechanism) Start() sasl.Exchange {
	return &exchange{mechanism: m.name, conv: m.server.NewConversation()}
}

type exchange struct {
	mechanism string
	conv      *xscram.ServerConversation
	user      string
}

// Next runs one step of the conversation: the client-first message gets
// the server-first, the client-final the server-final. Whatever went
// wrong (unknown user, wrong proof, malformed message), the client is
// told what Kafka tells it, which does not say which.
func (e *exchange) Next(client []byte) ([]byte, bool, error) {
	reply, err := e.conv.Step(string(client))
	if err != nil {
		return nil, false, fmt.Errorf("Authentication failed during authentication due to invalid credentials with SASL mechanism %s", e.mechanism)
	}
	if !e.conv.Done() {
		return []byte(reply), false, nil
	}
	if !e.conv.Valid() {
		return nil, false, fmt.Errorf("Authentication failed during authentication due to invalid credentials with SASL mechanism %s", e.mechanism)
	}
	e.user = e.conv.Username()
	return []byte(reply), true, nil
}

func (e *exchange) Principal() string       { return e.user }
func (e *exchange) Lifetime() time.Duration { return 0 }
