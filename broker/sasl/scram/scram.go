// Package scram is the broker's SCRAM-SHA-256 and SCRAM-SHA-512 SASL
// mechanisms (RFC 5802, KIP-84). Credentials are read, at each login, from
// the metadata store where Kafka keeps them: the user's entity configs
// (ZooKeeper /config/users/<user>) under the mechanism's name, so a
// credential AlterUserScramCredentials stores on one broker is used by
// every broker of the cluster from the next login.
//
// The server side is Samsa's own rather than xdg-go/scram's, because it
// must accept what Kafka's ScramSaslServer accepts: librdkafka sends a
// client-final nonce that only ends with the server's nonce (it repeats
// its own nonce in front), which Kafka takes (it checks endsWith) and a
// strict RFC 5802 server refuses. Channel binding is not offered, as in
// Kafka.
package scram

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"time"

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

// Mechanism is one SCRAM mechanism.
type Mechanism struct {
	name  string
	hash  func() hash.Hash
	store CredentialStore
}

// New returns the SCRAM mechanism name (SHA256 or SHA512) reading
// credentials from store.
func New(name string, store CredentialStore) (*Mechanism, error) {
	h := hashFor(name)
	if h == nil {
		return nil, fmt.Errorf("unknown SCRAM mechanism %q", name)
	}
	return &Mechanism{name: name, hash: h, store: store}, nil
}

// Name implements sasl.Mechanism.
func (m *Mechanism) Name() string { return m.name }

// Start implements sasl.Mechanism.
func (m *Mechanism) Start() sasl.Exchange { return &exchange{m: m} }

// exchange is one SCRAM conversation: client-first, server-first,
// client-final, server-final.
type exchange struct {
	m           *Mechanism
	user        string
	credential  Credential
	gs2Header   string // "n,," or "y,,", with the authzid if given
	clientFirst string // client-first-message-bare
	serverFirst string
	nonce       string // client nonce + server nonce
	done        bool
}

// failed is what the client is told whatever went wrong (unknown user,
// wrong proof, malformed message), as Kafka tells it.
func (e *exchange) failed() error {
	return fmt.Errorf("Authentication failed during authentication due to invalid credentials with SASL mechanism %s", e.m.name)
}

func (e *exchange) Next(client []byte) ([]byte, bool, error) {
	if e.serverFirst == "" {
		reply, err := e.first(string(client))
		if err != nil {
			return nil, false, e.failed()
		}
		return []byte(reply), false, nil
	}
	if e.done {
		return nil, false, errors.New("SCRAM conversation already finished")
	}
	reply, err := e.final(string(client))
	if err != nil {
		return nil, false, e.failed()
	}
	e.done = true
	return []byte(reply), true, nil
}

// first reads "gs2-header client-first-message-bare" and answers
// "r=<nonce>,s=<salt>,i=<iterations>".
func (e *exchange) first(msg string) (string, error) {
	cb, rest, ok := strings.Cut(msg, ",")
	if !ok || (cb != "n" && cb != "y") {
		return "", errors.New("channel binding is not supported")
	}
	authzid, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return "", errors.New("malformed client-first message")
	}
	e.gs2Header = cb + "," + authzid + ","
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return "", errors.New("malformed client-first message")
	}
	user, err := decodeSASLName(attrs[0][2:])
	if err != nil {
		return "", err
	}
	if authzid != "" && authzid != "a="+encodeSASLName(user) {
		return "", errors.New("authorization ID differs from the user")
	}
	cnonce := attrs[1][2:]
	if cnonce == "" {
		return "", errors.New("empty client nonce")
	}
	c, ok, err := Lookup(e.m.store, e.m.name, user)
	if err != nil || !ok {
		return "", errors.New("unknown user")
	}
	snonce := make([]byte, 24)
	if _, err := rand.Read(snonce); err != nil {
		return "", err
	}
	e.user, e.credential, e.clientFirst = user, c, bare
	e.nonce = cnonce + base64.RawStdEncoding.EncodeToString(snonce)
	e.serverFirst = "r=" + e.nonce + ",s=" + base64.StdEncoding.EncodeToString(c.Salt) + ",i=" + strconv.Itoa(c.Iterations)
	return e.serverFirst, nil
}

// final checks "c=<channel binding>,r=<nonce>,...,p=<proof>" and answers
// "v=<server signature>".
func (e *exchange) final(msg string) (string, error) {
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return "", errors.New("client-final message has no proof")
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return "", errors.New("malformed client-final message")
	}
	if cb, err := base64.StdEncoding.DecodeString(attrs[0][2:]); err != nil || string(cb) != e.gs2Header {
		return "", errors.New("channel binding does not match the gs2 header")
	}
	// Kafka's ScramSaslServer accepts a nonce that ends with the
	// server's (librdkafka's); RFC 5802 wants it equal.
	if !strings.HasSuffix(attrs[1][2:], e.nonce) {
		return "", errors.New("nonce does not match")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil {
		return "", errors.New("malformed proof")
	}
	authMessage := []byte(e.clientFirst + "," + e.serverFirst + "," + withoutProof)
	clientSignature := e.hmac(e.credential.StoredKey, authMessage)
	if len(proof) != len(clientSignature) {
		return "", errors.New("proof of the wrong length")
	}
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSignature[i]
	}
	h := e.m.hash()
	h.Write(clientKey)
	if !hmac.Equal(h.Sum(nil), e.credential.StoredKey) {
		return "", errors.New("invalid proof")
	}
	return "v=" + base64.StdEncoding.EncodeToString(e.hmac(e.credential.ServerKey, authMessage)), nil
}

func (e *exchange) hmac(key, msg []byte) []byte {
	m := hmac.New(e.m.hash, key)
	m.Write(msg)
	return m.Sum(nil)
}

func (e *exchange) Principal() string       { return e.user }
func (e *exchange) Lifetime() time.Duration { return 0 }

// decodeSASLName undoes RFC 5802's escaping of ',' and '=' in user names.
func decodeSASLName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '=' && strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
			i += 2
		case s[i] == '=' && strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
			i += 2
		case s[i] == '=':
			return "", errors.New("invalid escape in user name")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

func encodeSASLName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}
