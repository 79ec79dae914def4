package sasl_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	"github.com/samsa-io/samsa/broker/embedded"
)

// A broker validating OAUTHBEARER tokens against an identity provider's
// JWKS (KIP-768), here a file:// one: a signed token for the expected
// audience and issuer logs in; the wrong issuer and an unsigned token do
// not.
func TestOAuthBearerTokenSignedByTheJWKSKeyLogsInThroughTheBroker(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "kid": "idp-1", "alg": "RS256", "use": "sig",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startSASLCluster(t, embedded.Config{Overrides: map[string]string{
		"listeners":               "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "OAUTHBEARER",
		"listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class": "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler",
		"listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config":                   "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;",
		"sasl.oauthbearer.jwks.endpoint.url":                                          (&url.URL{Scheme: "file", Path: path}).String(),
		"sasl.oauthbearer.expected.audience":                                          "kafka",
		"sasl.oauthbearer.expected.issuer":                                            "https://idp.test",
	}})
	token := func(issuer string) string {
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"sub": "svc-orders", "aud": "kafka", "iss": issuer, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		})
		tok.Header["kid"] = "idp-1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	roundTrip(t, newClient(t, c, oauth.Auth{Token: token("https://idp.test")}.AsMechanism()), "jwks-topic", "signed")

	unsigned := b64([]byte(`{"alg":"none"}`)) + "." + b64(fmtJSON(t, map[string]any{"sub": "svc-orders", "aud": "kafka", "iss": "https://idp.test",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})) + "."
	for what, tok := range map[string]string{"another issuer": token("https://evil.test"), "an unsigned token": unsigned} {
		cl := newClient(t, c, oauth.Auth{Token: tok}.AsMechanism())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := cl.Ping(ctx)
		cancel()
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Errorf("%s: %v, want SASL_AUTHENTICATION_FAILED", what, err)
		}
	}
}

func fmtJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
