package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestCredentialIsStoredInKafkasFormat(t *testing.T) {
	c := Credential{Salt: []byte("salt"), StoredKey: []byte("stored"), ServerKey: []byte("server"), Iterations: 4096}
	const want = "salt=c2FsdA==,stored_key=c3RvcmVk,server_key=c2VydmVy,iterations=4096"
	if got := c.String(); got != want {
		t.Fatalf("stored form %q, want %q", got, want)
	}
	back, err := ParseCredential(want)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != want {
		t.Fatalf("parsed back to %q", back.String())
	}
}

func TestParseCredentialRefusesIncompleteOrCorruptValues(t *testing.T) {
	for _, s := range []string{
		"salt=c2FsdA==,stored_key=c3RvcmVk,server_key=c2VydmVy", // no iterations
		"salt=!!!,stored_key=c3RvcmVk,server_key=c2VydmVy,iterations=4096",
		"salt=c2FsdA==,stored_key=c3RvcmVk,server_key=c2VydmVy,iterations=many",
		"garbage",
	} {
		if _, err := ParseCredential(s); err == nil {
			t.Errorf("ParseCredential(%q): no error", s)
		}
	}
}

type mapStore map[string]map[string]string

func (m mapStore) EntityConfigs(entity string) map[string]string { return m[entity] }

func TestWrongProofIsRefusedWithKafkasMessage(t *testing.T) {
	c, err := CredentialFromSaltedPassword(SHA256, []byte("salt"), []byte("not the client's salted password"), 4096)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(SHA256, mapStore{"users/alice": {SHA256: c.String()}})
	if err != nil {
		t.Fatal(err)
	}
	ex := m.Start()
	first, done, err := ex.Next([]byte("n,,n=alice,r=clientnonce"))
	if err != nil || done || !strings.HasPrefix(string(first), "r=clientnonce") {
		t.Fatalf("server-first: %q %v %v", first, done, err)
	}
	nonce := strings.TrimPrefix(strings.Split(string(first), ",")[0], "r=")
	_, _, err = ex.Next([]byte("c=biws,r=" + nonce + ",p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
	if err == nil || !strings.Contains(err.Error(), "invalid credentials with SASL mechanism SCRAM-SHA-256") {
		t.Fatalf("wrong proof: %v", err)
	}
}

// TestLibrdkafkasRepeatedNonceLogsInAsWithKafka is librdkafka's
// client-final message: its nonce is its own nonce followed by the
// server's whole nonce. Kafka accepts it; a strict server does not.
func TestLibrdkafkasRepeatedNonceLogsInAsWithKafka(t *testing.T) {
	const password, iterations = "pw", 4096
	salt := []byte("0123456789abcdef")
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	c, err := CredentialFromSaltedPassword(SHA256, salt, salted, iterations)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(SHA256, mapStore{"users/rdk": {SHA256: c.String()}})
	if err != nil {
		t.Fatal(err)
	}
	ex := m.Start()
	bare := "n=rdk,r=cnonce"
	serverFirst, _, err := ex.Next([]byte("n,," + bare))
	if err != nil {
		t.Fatal(err)
	}
	nonce := strings.TrimPrefix(strings.Split(string(serverFirst), ",")[0], "r=")
	withoutProof := "c=biws,r=cnonce" + nonce
	authMessage := bare + "," + string(serverFirst) + "," + withoutProof
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	signature := mac(c.StoredKey, authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ signature[i]
	}
	final, done, err := ex.Next([]byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)))
	if err != nil || !done || ex.Principal() != "rdk" {
		t.Fatalf("client-final with librdkafka's nonce: done %v principal %q err %v", done, ex.Principal(), err)
	}
	if want := "v=" + base64.StdEncoding.EncodeToString(mac(c.ServerKey, authMessage)); string(final) != want {
		t.Fatalf("server-final %q, want %q", final, want)
	}
}
