package sasl_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	"github.com/samsa-io/samsa/broker/embedded"
)

// unsecuredJWT is a token as Kafka's unsecured login module makes one:
// header {"alg":"none"}, the claims, and an empty signature.
func unsecuredJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + "."
}

func oauthOverrides() map[string]string {
	return map[string]string{
		"listeners":               "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "OAUTHBEARER",
		"listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ` +
			`unsecuredValidatorRequiredScope="kafka";`,
	}
}

func TestOAuthBearerUnsecuredTokenLogsInAndProduces(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: oauthOverrides()})
	now := time.Now()
	token := unsecuredJWT(t, map[string]any{"sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "kafka"})
	roundTrip(t, newClient(t, c, oauth.Auth{Token: token}.AsMechanism()), "oauth-topic", "hello")
}

func TestOAuthBearerRefusesAnExpiredTokenAndOneWithoutTheRequiredScope(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: oauthOverrides()})
	now := time.Now()
	for what, claims := range map[string]map[string]any{
		"expired":       {"sub": "alice", "iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix(), "scope": "kafka"},
		"missing scope": {"sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "other"},
	} {
		cl := newClient(t, c, oauth.Auth{Token: unsecuredJWT(t, claims)}.AsMechanism())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := cl.Ping(ctx)
		cancel()
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Errorf("%s token: %v, want SASL_AUTHENTICATION_FAILED", what, err)
		}
	}
}
