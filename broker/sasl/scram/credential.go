package scram

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// The SCRAM mechanisms Kafka supports, by the names clients ask for and
// the keys credentials are stored under.
const (
	SHA256 = "SCRAM-SHA-256"
	SHA512 = "SCRAM-SHA-512"
)

// Mechanisms lists the supported SCRAM mechanisms.
var Mechanisms = []string{SHA256, SHA512}

// Kafka's bounds on a credential's iteration count (ScramMechanism's
// minIterations, and the maximum AlterUserScramCredentials accepts).
const (
	MinIterations = 4096
	MaxIterations = 16384
)

// Credential is a user's stored SCRAM credential for one mechanism: what
// the server needs to check a client's proof without knowing its
// password (RFC 5802).
type Credential struct {
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int
}

// hashFor returns the hash a mechanism uses, or nil for an unknown one.
func hashFor(mechanism string) func() hash.Hash {
	switch mechanism {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

// Supported reports whether mechanism is a SCRAM mechanism Samsa serves.
func Supported(mechanism string) bool { return hashFor(mechanism) != nil }

// CredentialFromSaltedPassword derives the stored credential from the
// salted password a client computed (AlterUserScramCredentials sends the
// salted password, never the password).
func CredentialFromSaltedPassword(mechanism string, salt, saltedPassword []byte, iterations int) (Credential, error) {
	h := hashFor(mechanism)
	if h == nil {
		return Credential{}, fmt.Errorf("unknown SCRAM mechanism %q", mechanism)
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	clientKey := mac(saltedPassword, "Client Key")
	stored := h()
	stored.Write(clientKey)
	return Credential{
		Salt:       append([]byte(nil), salt...),
		StoredKey:  stored.Sum(nil),
		ServerKey:  mac(saltedPassword, "Server Key"),
		Iterations: iterations,
	}, nil
}

// String formats the credential as Kafka stores it in /config/users/<user>:
// "salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>"
// (ScramCredentialUtils.credentialToString).
func (c Credential) String() string {
	enc := base64.StdEncoding.EncodeToString
	return "salt=" + enc(c.Salt) + ",stored_key=" + enc(c.StoredKey) +
		",server_key=" + enc(c.ServerKey) + ",iterations=" + strconv.Itoa(c.Iterations)
}

// ParseCredential reads a credential in Kafka's stored form.
func ParseCredential(s string) (Credential, error) {
	var c Credential
	seen := map[string]bool{}
	for _, field := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return Credential{}, fmt.Errorf("SCRAM credential field %q has no value", field)
		}
		var err error
		switch k {
		case "salt":
			c.Salt, err = base64.StdEncoding.DecodeString(v)
		case "stored_key":
			c.StoredKey, err = base64.StdEncoding.DecodeString(v)
		case "server_key":
			c.ServerKey, err = base64.StdEncoding.DecodeString(v)
		case "iterations":
			c.Iterations, err = strconv.Atoi(v)
		default:
			continue // Kafka ignores fields it does not know
		}
		if err != nil {
			return Credential{}, fmt.Errorf("SCRAM credential field %s: %w", k, err)
		}
		seen[k] = true
	}
	for _, k := range []string{"salt", "stored_key", "server_key", "iterations"} {
		if !seen[k] {
			return Credential{}, errors.New("SCRAM credential has no " + k)
		}
	}
	return c, nil
}
