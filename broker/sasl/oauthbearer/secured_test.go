package oauthbearer

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idpClaims are the claims a typical provider puts in an access token.
func idpClaims(sub string) jwt.MapClaims {
	return jwt.MapClaims{
		"sub":   sub,
		"iss":   "https://idp.example.com",
		"aud":   "kafka",
		"iat":   unixIn(-time.Minute),
		"exp":   unixIn(time.Hour),
		"scope": "kafka",
	}
}

func securedConfig(p *identityProvider) Config {
	cfg := p.config()
	cfg.ExpectedAudience = []string{"kafka"}
	cfg.ExpectedIssuer = "https://idp.example.com"
	return cfg
}

func TestTokensSignedByAJWKSKeyAuthenticate(t *testing.T) {
	rsaKey, ecKey := newRSAKey(t, "rsa-1"), newECKey(t, "ec-1")
	p := newIdentityProvider(t, rsaKey, ecKey)
	m := newMechanism(t, securedConfig(p))

	for _, k := range []signingKey{rsaKey, ecKey} {
		t.Run(k.method.Alg(), func(t *testing.T) {
			l := authenticate(t, m, bearer(k.sign(t, idpClaims("svc-orders"))))
			if l.err != nil {
				t.Fatalf("%s token refused: %v", k.method.Alg(), l.err)
			}
			if l.exchange.Principal() != "svc-orders" {
				t.Errorf("principal = %q, want svc-orders", l.exchange.Principal())
			}
			if got := l.exchange.Lifetime(); got < 59*time.Minute || got > time.Hour {
				t.Errorf("lifetime = %v, want about the hour until exp", got)
			}
		})
	}
}

func TestSecuredValidatorRefusesBadTokens(t *testing.T) {
	good := newRSAKey(t, "rsa-1")
	impostor := newRSAKey(t, "rsa-1") // same kid, different key
	stranger := newRSAKey(t, "rsa-unknown")
	p := newIdentityProvider(t, good)
	m := newMechanism(t, securedConfig(p))

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := idpClaims("svc-orders")
		change(c)
		return c
	}
	for name, tc := range map[string]struct {
		token string
		why   string
	}{
		"expired": {good.sign(t, with(func(c jwt.MapClaims) {
			c["iat"], c["exp"] = unixIn(-2*time.Hour), unixIn(-time.Hour)
		})), "expired"},
		"not yet valid":  {good.sign(t, with(func(c jwt.MapClaims) { c["nbf"] = unixIn(time.Hour) })), "not valid yet"},
		"wrong audience": {good.sign(t, with(func(c jwt.MapClaims) { c["aud"] = "billing" })), "aud"},
		"no audience":    {good.sign(t, with(func(c jwt.MapClaims) { delete(c, "aud") })), "aud"},
		"wrong issuer":   {good.sign(t, with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com" })), "iss"},
		"no iat":         {good.sign(t, with(func(c jwt.MapClaims) { delete(c, "iat") })), "Issued At"},
		"no exp":         {good.sign(t, with(func(c jwt.MapClaims) { delete(c, "exp") })), "exp"},
		"blank sub":      {good.sign(t, with(func(c jwt.MapClaims) { c["sub"] = " " })), "sub"},
		"bad signature":  {impostor.sign(t, idpClaims("svc-orders")), "signature"},
		"unknown kid":    {stranger.sign(t, idpClaims("svc-orders")), "rsa-unknown"},
		"unsecured token": {unsecuredToken(t, map[string]any{
			"sub": "svc-orders", "iss": "https://idp.example.com", "aud": "kafka",
			"iat": unixIn(-time.Minute), "exp": unixIn(time.Hour),
		}), "signing method"},
	} {
		t.Run(name, func(t *testing.T) {
			l := authenticate(t, m, bearer(tc.token))
			if l.err == nil {
				t.Fatalf("token accepted as %q", l.exchange.Principal())
			}
			if len(l.replies) != 1 || l.replies[0] != `{"status":"invalid_token"}` {
				t.Errorf("replies = %q, want the invalid_token message", l.replies)
			}
			if !strings.Contains(l.err.Error(), tc.why) {
				t.Errorf("refusal %q does not mention %q", l.err, tc.why)
			}
		})
	}
}

func TestAnyOfTheExpectedAudiencesIsEnough(t *testing.T) {
	k := newRSAKey(t, "rsa-1")
	p := newIdentityProvider(t, k)
	cfg := securedConfig(p)
	cfg.ExpectedAudience = []string{"analytics", "kafka"}
	m := newMechanism(t, cfg)

	claims := idpClaims("svc")
	claims["aud"] = []string{"kafka", "s3"}
	if l := authenticate(t, m, bearer(k.sign(t, claims))); l.err != nil {
		t.Fatalf("token for kafka and s3 refused by a broker expecting analytics or kafka: %v", l.err)
	}
	claims["aud"] = []string{"s3"}
	if l := authenticate(t, m, bearer(k.sign(t, claims))); l.err == nil {
		t.Fatal("token for s3 only accepted")
	}
}

func TestConcurrentLoginsShareOneMechanism(t *testing.T) {
	k := newECKey(t, "ec-1")
	p := newIdentityProvider(t, k)
	m := newMechanism(t, securedConfig(p))
	stranger := newECKey(t, "stranger")

	var wg sync.WaitGroup
	results := make([]error, 16)
	for i := range results {
		wg.Go(func() {
			signer := k
			if i%4 == 0 {
				signer = stranger
			}
			results[i] = authenticate(t, m, bearer(signer.sign(t, idpClaims(fmt.Sprintf("svc-%d", i))))).err
		})
	}
	wg.Wait()
	for i, err := range results {
		if wantRefused := i%4 == 0; (err != nil) != wantRefused {
			t.Errorf("login %d: err = %v, want refused = %v", i, err, wantRefused)
		}
	}
}

func TestClockSkewAppliesToSecuredTokens(t *testing.T) {
	k := newRSAKey(t, "rsa-1")
	p := newIdentityProvider(t, k)
	claims := idpClaims("svc-orders")
	claims["exp"] = unixIn(-10 * time.Second)
	token := k.sign(t, claims)

	// Kafka's default sasl.oauthbearer.clock.skew.seconds is 30.
	if l := authenticate(t, newMechanism(t, securedConfig(p)), bearer(token)); l.err != nil {
		t.Fatalf("token expired 10 s ago refused with the default 30 s skew: %v", l.err)
	}
	cfg := securedConfig(p)
	cfg.ClockSkew = time.Second
	if l := authenticate(t, newMechanism(t, cfg), bearer(token)); l.err == nil {
		t.Fatal("token expired 10 s ago accepted with 1 s skew")
	}
}

func TestTokenNamingAnAudienceIsRefusedWhenNoneIsExpected(t *testing.T) {
	// jose4j, which Kafka uses, refuses an aud claim nobody expects.
	k := newRSAKey(t, "rsa-1")
	p := newIdentityProvider(t, k)
	cfg := p.config() // neither audience nor issuer expected
	m := newMechanism(t, cfg)

	if l := authenticate(t, m, bearer(k.sign(t, idpClaims("svc-orders")))); l.err == nil {
		t.Fatal("token with aud accepted though no audience is expected")
	}
	claims := idpClaims("svc-orders")
	delete(claims, "aud")
	if l := authenticate(t, m, bearer(k.sign(t, claims))); l.err != nil {
		t.Fatalf("token without aud refused: %v", l.err)
	}
}

func TestSubjectClaimNameIsConfigurable(t *testing.T) {
	k := newRSAKey(t, "rsa-1")
	p := newIdentityProvider(t, k)
	cfg := securedConfig(p)
	cfg.SubClaimName = "client_id"
	m := newMechanism(t, cfg)
	claims := idpClaims("a-user")
	claims["client_id"] = "svc-billing"
	l := authenticate(t, m, bearer(k.sign(t, claims)))
	if l.err != nil || l.exchange.Principal() != "svc-billing" {
		t.Fatalf("principal %q, err %v; want svc-billing from client_id", l.exchange.Principal(), l.err)
	}
}

func TestRotatedKeyIsFetchedWhenATokenNamesIt(t *testing.T) {
	old, rotated := newRSAKey(t, "2024"), newRSAKey(t, "2025")
	p := newIdentityProvider(t, old)
	m := newMechanism(t, securedConfig(p)) // refreshes only hourly
	if l := authenticate(t, m, bearer(old.sign(t, idpClaims("svc")))); l.err != nil {
		t.Fatalf("token of the first key refused: %v", l.err)
	}

	p.publish(t, old, rotated)
	fetches := p.fetches.Load()
	l := authenticate(t, m, bearer(rotated.sign(t, idpClaims("svc"))))
	if l.err != nil {
		t.Fatalf("token of the rotated key refused: %v", l.err)
	}
	if p.fetches.Load() != fetches+1 {
		t.Errorf("JWKS fetched %d times for the unknown kid, want once", p.fetches.Load()-fetches)
	}

	// An unknown kid cannot make the broker hammer the provider.
	stranger := newRSAKey(t, "made-up")
	fetches = p.fetches.Load()
	for range 5 {
		if l := authenticate(t, m, bearer(stranger.sign(t, idpClaims("svc")))); l.err == nil {
			t.Fatal("token of a key the provider never published accepted")
		}
	}
	if got := p.fetches.Load() - fetches; got > 1 {
		t.Errorf("5 tokens with an unknown kid fetched the JWKS %d times, want at most once", got)
	}
}

func TestJWKSIsRefreshedEveryRefreshInterval(t *testing.T) {
	old, replacement := newRSAKey(t, "old"), newRSAKey(t, "new")
	p := newIdentityProvider(t, old)
	cfg := securedConfig(p)
	cfg.JWKSEndpointRefresh = 20 * time.Millisecond
	m := newMechanism(t, cfg)
	token := old.sign(t, idpClaims("svc"))
	if l := authenticate(t, m, bearer(token)); l.err != nil {
		t.Fatalf("token refused: %v", l.err)
	}

	// The provider revokes the old key: after a refresh its tokens fail.
	p.publish(t, replacement)
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() bool {
		return authenticate(t, m, bearer(token)).err != nil
	})
}

func TestJWKSFromAFileURL(t *testing.T) {
	first, second := newECKey(t, "ec-1"), newRSAKey(t, "rsa-2")
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwksJSON(t, first), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		JWKSEndpointURL:  (&url.URL{Scheme: "file", Path: path}).String(),
		ExpectedAudience: []string{"kafka"},
	}
	m := newMechanism(t, cfg)

	if l := authenticate(t, m, bearer(first.sign(t, idpClaims("svc")))); l.err != nil || l.exchange.Principal() != "svc" {
		t.Fatalf("token of the file's key: principal %q, err %v", l.exchange.Principal(), l.err)
	}
	if l := authenticate(t, m, bearer(second.sign(t, idpClaims("svc")))); l.err == nil {
		t.Fatal("token of a key not in the file accepted")
	}

	// Rewriting the file is picked up without a restart.
	if err := os.WriteFile(path, jwksJSON(t, first, second), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Second)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	if l := authenticate(t, m, bearer(second.sign(t, idpClaims("svc")))); l.err != nil {
		t.Fatalf("token of the key added to the file refused: %v", l.err)
	}
}

func TestNewRefusesConfigurationsKafkaRefuses(t *testing.T) {
	down := httptest.NewTLSServer(nil)
	downURL := down.URL
	down.Close()
	untrusted := newIdentityProvider(t, newRSAKey(t, "k"))
	empty := newIdentityProvider(t)

	for name, cfg := range map[string]Config{
		"unknown handler class":       {ServerCallbackHandlerClass: "com.example.MyHandler"},
		"secured class without a URL": {ServerCallbackHandlerClass: SecuredValidatorClass},
		"unsecured class with a URL":  {ServerCallbackHandlerClass: UnsecuredValidatorClass, JWKSEndpointURL: "file:///etc/jwks.json"},
		"ftp URL":                     {JWKSEndpointURL: "ftp://idp.example.com/jwks"},
		"missing file":                {JWKSEndpointURL: "file://" + filepath.Join(t.TempDir(), "none.json")},
		"unreachable provider":        {JWKSEndpointURL: downURL + "/jwks"},
		"certificate not trusted":     {JWKSEndpointURL: untrusted.server.URL},
		"empty key set":               empty.config(),
		"negative clock skew":         func() Config { c := untrusted.config(); c.ClockSkew = -time.Second; return c }(),
		"negative refresh interval":   func() Config { c := untrusted.config(); c.JWKSEndpointRefresh = -time.Second; return c }(),
	} {
		t.Run(name, func(t *testing.T) {
			m, err := New(cfg)
			if err == nil {
				_ = m.Close()
				t.Fatal("New accepted it")
			}
		})
	}
}

func TestBothSecuredClassNamesSelectTheJWKSValidator(t *testing.T) {
	k := newRSAKey(t, "rsa-1")
	p := newIdentityProvider(t, k)
	unsecured := unsecuredToken(t, map[string]any{"sub": "svc", "iat": unixIn(0), "exp": unixIn(time.Hour)})
	for _, class := range []string{SecuredValidatorClass, SecuredValidatorClassKafka4} {
		cfg := securedConfig(p)
		cfg.ServerCallbackHandlerClass = class
		m := newMechanism(t, cfg)
		if l := authenticate(t, m, bearer(k.sign(t, idpClaims("svc")))); l.err != nil {
			t.Errorf("%s: signed token refused: %v", class, l.err)
		}
		if l := authenticate(t, m, bearer(unsecured)); l.err == nil {
			t.Errorf("%s: unsecured token accepted", class)
		}
	}
}
