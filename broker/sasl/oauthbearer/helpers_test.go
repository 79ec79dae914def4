package oauthbearer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/twmb/franz-go/pkg/sasl/oauth"

	"github.com/samsa-io/samsa/broker/sasl"
)

// login is the outcome of one authentication driven by franz-go's
// OAUTHBEARER client against an Exchange, the way the broker's
// SaslAuthenticate handler relays messages between them.
type login struct {
	exchange sasl.Exchange
	// replies are the server's messages, in order.
	replies []string
	// err is the server's refusal (what the client sees in the
	// SaslAuthenticate error message), nil on success.
	err error
}

func authenticate(t *testing.T, m sasl.Mechanism, auth oauth.Auth) login {
	t.Helper()
	session, msg, err := auth.AsMechanism().Authenticate(context.Background(), "broker:9092")
	if err != nil {
		t.Fatalf("franz-go client refused to start: %v", err)
	}
	l := login{exchange: m.Start()}
	for range 4 {
		reply, done, err := l.exchange.Next(msg)
		if err != nil {
			l.err = err
			return l
		}
		l.replies = append(l.replies, string(reply))
		clientDone, next, clientErr := session.Challenge(reply)
		if done {
			if !clientDone || clientErr != nil {
				t.Fatalf("server finished but the client did not: done=%v err=%v", clientDone, clientErr)
			}
			return l
		}
		if clientErr != nil {
			t.Fatalf("client gave up before the server ended the exchange: %v", clientErr)
		}
		msg = next
	}
	t.Fatalf("exchange did not end after 4 round trips; replies %q", l.replies)
	return l
}

func bearer(token string) oauth.Auth { return oauth.Auth{Token: token} }

// unsecuredToken is an unsecured JWS (alg "none") with the given claims,
// as Kafka's OAuthBearerUnsecuredLoginCallbackHandler mints them.
func unsecuredToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	return b64JSON(t, map[string]any{"alg": "none"}) + "." + b64JSON(t, claims) + "."
}

func b64JSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

func unixIn(d time.Duration) int64 { return time.Now().Add(d).Unix() }

// signingKey is one key of a test identity provider.
type signingKey struct {
	kid     string
	method  jwt.SigningMethod
	private crypto.Signer
}

func newRSAKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, method: jwt.SigningMethodRS256, private: k}
}

func newECKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, method: jwt.SigningMethodES256, private: k}
}

// sign returns the claims signed by k, with k's kid in the header.
func (k signingKey) sign(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(k.method, claims)
	token.Header["kid"] = k.kid
	signed, err := token.SignedString(k.private)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// jwk is k's public half as a JWKS entry.
func (k signingKey) jwk() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	switch pub := k.private.Public().(type) {
	case *rsa.PublicKey:
		return map[string]any{"kty": "RSA", "kid": k.kid, "use": "sig", "alg": "RS256",
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		ecdh, _ := pub.ECDH()
		point := ecdh.Bytes() // 0x04 || X || Y
		return map[string]any{"kty": "EC", "kid": k.kid, "use": "sig", "alg": "ES256", "crv": "P-256",
			"x": b64(point[1:33]), "y": b64(point[33:])}
	default:
		panic(fmt.Sprintf("unexpected key type %T", pub))
	}
}

func jwksJSON(t *testing.T, keys ...signingKey) []byte {
	t.Helper()
	set := map[string]any{"keys": []any{}}
	for _, k := range keys {
		set["keys"] = append(set["keys"].([]any), k.jwk())
	}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// identityProvider serves a JWKS over TLS, as a real provider's
// jwks_uri does; the key set can be changed while it runs.
type identityProvider struct {
	server  *httptest.Server
	mu      sync.Mutex
	jwks    []byte
	fetches atomic.Int64
}

func newIdentityProvider(t *testing.T, keys ...signingKey) *identityProvider {
	t.Helper()
	p := &identityProvider{jwks: jwksJSON(t, keys...)}
	p.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		body := p.jwks
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	// The untrusted-certificate test makes handshakes fail on purpose.
	p.server.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.server.StartTLS()
	t.Cleanup(p.server.Close)
	return p
}

func (p *identityProvider) publish(t *testing.T, keys ...signingKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jwks = jwksJSON(t, keys...)
}

// config is a secured-mode Config trusting the provider's certificate.
func (p *identityProvider) config() Config {
	return Config{
		JWKSEndpointURL: p.server.URL + "/.well-known/jwks.json",
		JWKSTLS:         p.server.Client().Transport.(*http.Transport).TLSClientConfig,
	}
}

func newMechanism(t *testing.T, cfg Config) *Mechanism {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// checkFor polls cond until it holds or wait passes.
func checkFor(t *testing.T, wait, poll time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", wait)
		}
		time.Sleep(poll)
	}
}
