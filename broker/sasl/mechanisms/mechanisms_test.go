package mechanisms

import (
	"strings"
	"testing"

	"github.com/samsa-io/samsa/broker/config"
)

type noCredentials struct{}

func (noCredentials) EntityConfigs(string) map[string]string { return nil }

func load(t *testing.T, overrides ...string) config.SASL {
	t.Helper()
	cfg, _, err := config.Load("", append([]string{"listeners=SASL_PLAINTEXT://127.0.0.1:0"}, overrides...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.SASL
}

func TestEachSASLListenerGetsItsEnabledMechanisms(t *testing.T) {
	cfg := load(t, "sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
		`listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";`)
	got, err := ForListeners(cfg, noCredentials{})
	if err != nil {
		t.Fatal(err)
	}
	if names := strings.Join(got["SASL_PLAINTEXT"].Names(), ","); names != "PLAIN,SCRAM-SHA-512" {
		t.Fatalf("mechanisms of SASL_PLAINTEXT: %s", names)
	}
}

func TestOAuthBearerTakesItsValidatorFromTheListenerAndItsOptionsFromJAAS(t *testing.T) {
	cfg := load(t, "sasl.enabled.mechanisms=OAUTHBEARER",
		`listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka";`)
	got, err := ForListeners(cfg, noCredentials{})
	if err != nil {
		t.Fatal(err)
	}
	defer Close(got)
	if names := strings.Join(got["SASL_PLAINTEXT"].Names(), ","); names != "OAUTHBEARER" {
		t.Fatalf("mechanisms of SASL_PLAINTEXT: %s", names)
	}

	bad := load(t, "sasl.enabled.mechanisms=OAUTHBEARER",
		`listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorAllowableClockSkewMs="soon";`)
	if _, err := ForListeners(bad, noCredentials{}); err == nil || !strings.Contains(err.Error(), "unsecuredValidatorAllowableClockSkewMs") {
		t.Fatalf("a bad unsecured validator option: %v", err)
	}
	secured := load(t, "sasl.enabled.mechanisms=OAUTHBEARER",
		"listener.name.sasl_plaintext.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler")
	if _, err := ForListeners(secured, noCredentials{}); err == nil {
		t.Fatal("the JWKS validator without sasl.oauthbearer.jwks.endpoint.url was accepted")
	}
}

func TestPlainWithoutUsersIsRefused(t *testing.T) {
	cfg := load(t, "sasl.enabled.mechanisms=PLAIN",
		`listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b";`)
	if _, err := ForListeners(cfg, noCredentials{}); err == nil || !strings.Contains(err.Error(), "user_") {
		t.Fatalf("PLAIN without user_ options: %v", err)
	}
}
