package oauthbearer

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/oauth"
)

func TestUnsecuredTokenAuthenticatesAsItsSubjectUntilItExpires(t *testing.T) {
	m := newMechanism(t, Config{})
	token := unsecuredToken(t, map[string]any{"sub": "alice", "iat": unixIn(0), "exp": unixIn(time.Hour)})

	l := authenticate(t, m, bearer(token))
	if l.err != nil {
		t.Fatalf("valid unsecured token refused: %v", l.err)
	}
	if got := l.exchange.Principal(); got != "alice" {
		t.Errorf("principal = %q, want alice", got)
	}
	if got := l.exchange.Lifetime(); got < 59*time.Minute || got > time.Hour {
		t.Errorf("lifetime = %v, want about the hour left until exp", got)
	}
	if m.Name() != "OAUTHBEARER" {
		t.Errorf("Name() = %q", m.Name())
	}
}

func TestUnsecuredPrincipalComesFromTheClaimTheJAASLineNames(t *testing.T) {
	var cfg Config
	if err := cfg.SetJAASOptions(map[string]string{
		"unsecuredValidatorPrincipalClaimName": "client_id",
		"unsecuredLoginStringClaim_sub":        "ignored-on-the-broker",
	}); err != nil {
		t.Fatal(err)
	}
	m := newMechanism(t, cfg)

	l := authenticate(t, m, bearer(unsecuredToken(t, map[string]any{"client_id": "billing", "sub": "someone-else", "exp": unixIn(time.Hour)})))
	if l.err != nil || l.exchange.Principal() != "billing" {
		t.Fatalf("principal = %q, err = %v; want billing from client_id", l.exchange.Principal(), l.err)
	}
	l = authenticate(t, m, bearer(unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour)})))
	if l.err == nil {
		t.Fatal("token without the client_id claim accepted")
	}
}

func TestExpiredUnsecuredTokenIsAnsweredWithInvalidTokenThenRefused(t *testing.T) {
	m := newMechanism(t, Config{})
	token := unsecuredToken(t, map[string]any{"sub": "alice", "iat": unixIn(-2 * time.Hour), "exp": unixIn(-time.Hour)})

	l := authenticate(t, m, bearer(token))
	// Kafka's OAuthBearerSaslServer answers the token with this message;
	// the client acknowledges it with 0x01 and only then is refused.
	if len(l.replies) != 1 || l.replies[0] != `{"status":"invalid_token"}` {
		t.Fatalf("server replies = %q, want the one RFC 7628 error message", l.replies)
	}
	if l.err == nil {
		t.Fatal("expired token accepted")
	}
	if !strings.Contains(l.err.Error(), "invalid_token") || !strings.Contains(l.err.Error(), "Expiration Time") {
		t.Errorf("refusal %q does not say the token expired", l.err)
	}
	if l.exchange.Principal() != "" {
		t.Errorf("refused exchange has principal %q", l.exchange.Principal())
	}
}

func TestAllowableClockSkewAcceptsATokenThatJustExpired(t *testing.T) {
	token := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(-5 * time.Second)})

	if l := authenticate(t, newMechanism(t, Config{}), bearer(token)); l.err == nil {
		t.Fatal("token expired 5 s ago accepted without clock skew")
	}
	var cfg Config
	if err := cfg.SetJAASOptions(map[string]string{"unsecuredValidatorAllowableClockSkewMs": "60000"}); err != nil {
		t.Fatal(err)
	}
	if l := authenticate(t, newMechanism(t, cfg), bearer(token)); l.err != nil {
		t.Fatalf("token expired 5 s ago refused with 60 s of allowed skew: %v", l.err)
	}
}

func TestTokenThatExpiresBeforeItWasIssuedIsRefused(t *testing.T) {
	// With 60 s of allowed skew, an iat 30 s ahead passes the Issued At
	// check and an exp 20 s ahead passes the expiry check; only the
	// consistency of the two refuses the token.
	var cfg Config
	if err := cfg.SetJAASOptions(map[string]string{"unsecuredValidatorAllowableClockSkewMs": "60000"}); err != nil {
		t.Fatal(err)
	}
	token := unsecuredToken(t, map[string]any{"sub": "alice", "iat": unixIn(30 * time.Second), "exp": unixIn(20 * time.Second)})
	l := authenticate(t, newMechanism(t, cfg), bearer(token))
	if l.err == nil || !strings.Contains(l.err.Error(), "not after the Issued At time") {
		t.Fatalf("err = %v, want a refusal because exp is not after iat", l.err)
	}
}

func TestTokenMissingARequiredScopeIsAnsweredWithInsufficientScope(t *testing.T) {
	var cfg Config
	if err := cfg.SetJAASOptions(map[string]string{"unsecuredValidatorRequiredScope": "kafka write"}); err != nil {
		t.Fatal(err)
	}
	m := newMechanism(t, cfg)

	partial := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour), "scope": []string{"kafka", "read"}})
	l := authenticate(t, m, bearer(partial))
	if len(l.replies) != 1 || l.replies[0] != `{"status":"insufficient_scope", "scope":"[kafka, write]"}` {
		t.Fatalf("server replies = %q, want Kafka's insufficient_scope message", l.replies)
	}
	if l.err == nil {
		t.Fatal("token without the write scope accepted")
	}

	full := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour), "scope": []string{"write", "kafka", "read"}})
	if l := authenticate(t, m, bearer(full)); l.err != nil {
		t.Fatalf("token with every required scope refused: %v", l.err)
	}

	// As in Kafka, a string scope claim is one scope, not a space-separated list.
	asString := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour), "scope": "kafka write"})
	if l := authenticate(t, m, bearer(asString)); l.err == nil {
		t.Fatal(`scope "kafka write" as one string accepted as two scopes`)
	}
}

func TestScopeClaimNameFromJAASLine(t *testing.T) {
	var cfg Config
	if err := cfg.SetJAASOptions(map[string]string{
		"unsecuredValidatorScopeClaimName": "scp",
		"unsecuredValidatorRequiredScope":  "kafka",
	}); err != nil {
		t.Fatal(err)
	}
	m := newMechanism(t, cfg)
	if l := authenticate(t, m, bearer(unsecuredToken(t, map[string]any{"sub": "a", "exp": unixIn(time.Hour), "scp": []string{"kafka"}}))); l.err != nil {
		t.Fatalf("scope in scp refused: %v", l.err)
	}
	if l := authenticate(t, m, bearer(unsecuredToken(t, map[string]any{"sub": "a", "exp": unixIn(time.Hour), "scope": []string{"kafka"}}))); l.err == nil {
		t.Fatal("scope in the default claim accepted though the JAAS line names scp")
	}
}

func TestUnsecuredValidatorRefusesWhatKafkaRefuses(t *testing.T) {
	hour := unixIn(time.Hour)
	signedHeader := b64JSON(t, map[string]any{"alg": "RS256", "typ": "JWT"})
	claims := b64JSON(t, map[string]any{"sub": "alice", "exp": hour})
	for name, token := range map[string]string{
		"no exp":                 unsecuredToken(t, map[string]any{"sub": "alice"}),
		"exp not a number":       unsecuredToken(t, map[string]any{"sub": "alice", "exp": "tomorrow"}),
		"no sub":                 unsecuredToken(t, map[string]any{"exp": hour}),
		"blank sub":              unsecuredToken(t, map[string]any{"sub": "  ", "exp": hour}),
		"sub not a string":       unsecuredToken(t, map[string]any{"sub": 42, "exp": hour}),
		"issued in the future":   unsecuredToken(t, map[string]any{"sub": "alice", "iat": unixIn(10 * time.Minute), "exp": hour}),
		"expires before issued":  unsecuredToken(t, map[string]any{"sub": "alice", "iat": unixIn(-time.Minute), "exp": unixIn(-2 * time.Minute)}),
		"signed (alg RS256)":     signedHeader + "." + claims + ".",
		"carries a signature":    b64JSON(t, map[string]any{"alg": "none"}) + "." + claims + ".c2lnbmF0dXJl",
		"no alg":                 b64JSON(t, map[string]any{"typ": "JWT"}) + "." + claims + ".",
		"two parts":              b64JSON(t, map[string]any{"alg": "none"}) + "." + claims,
		"claims not JSON":        b64JSON(t, map[string]any{"alg": "none"}) + "." + "bm90LWpzb24" + ".",
		"claims not an object":   b64JSON(t, map[string]any{"alg": "none"}) + "." + b64JSON(t, []int{1}) + ".",
		"empty section":          b64JSON(t, map[string]any{"alg": "none"}) + ".." + claims,
		"scope neither str/list": unsecuredToken(t, map[string]any{"sub": "alice", "exp": hour, "scope": 7}),
	} {
		t.Run(name, func(t *testing.T) {
			l := authenticate(t, newMechanism(t, Config{}), bearer(token))
			if l.err == nil {
				t.Fatalf("token accepted as %q", l.exchange.Principal())
			}
			if len(l.replies) != 1 || l.replies[0] != `{"status":"invalid_token"}` {
				t.Errorf("replies = %q, want the invalid_token message", l.replies)
			}
		})
	}
}

func TestSetJAASOptionsRefusesANegativeClockSkew(t *testing.T) {
	for _, v := range []string{"-1", "soon", "99999999999"} {
		var cfg Config
		if err := cfg.SetJAASOptions(map[string]string{"unsecuredValidatorAllowableClockSkewMs": v}); err == nil {
			t.Errorf("clock skew %q accepted", v)
		}
	}
}

func TestAuthorizationIDMustBeTheTokensPrincipal(t *testing.T) {
	m := newMechanism(t, Config{})
	token := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour)})

	if l := authenticate(t, m, oauth.Auth{Token: token, Zid: "alice"}); l.err != nil {
		t.Fatalf("authorization ID equal to the principal refused: %v", l.err)
	}
	l := authenticate(t, m, oauth.Auth{Token: token, Zid: "admin"})
	if l.err == nil || !strings.Contains(l.err.Error(), "admin") {
		t.Fatalf("authorization ID admin for alice's token: err = %v, want a refusal naming admin", l.err)
	}
}

func TestExtensionsAreAccepted(t *testing.T) {
	m := newMechanism(t, Config{})
	token := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour)})
	l := authenticate(t, m, oauth.Auth{Token: token, Extensions: map[string]string{"logicalCluster": "lkc-1", "traceId": "x y"}})
	if l.err != nil || l.exchange.Principal() != "alice" {
		t.Fatalf("token with SASL extensions: principal %q, err %v", l.exchange.Principal(), l.err)
	}
}
