package sasl_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/wire"
)

// saslOverrides is a single SASL_PLAINTEXT listener with PLAIN users
// admin and alice.
func saslOverrides(extra ...string) map[string]string {
	o := map[string]string{
		"listeners":               "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "PLAIN",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
			`username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		o[k] = v
	}
	return o
}

func startSASLCluster(t *testing.T, cfg embedded.Config) *embedded.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := embedded.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newClient(t *testing.T, c *embedded.Cluster, mech sasl.Mechanism, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Seeds()...), kgo.SASL(mech),
		kgo.RetryTimeout(5 * time.Second), kgo.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// roundTrip produces one record to topic and reads it back.
func roundTrip(t *testing.T, cl *kgo.Client, topic, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatalf("produce as logged-in user: %v", err)
	}
}

func TestPlainLoginProducesAndConsumes(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides()})
	alice := plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()
	roundTrip(t, newClient(t, c, alice), "plain-topic", "hello")

	consumer := newClient(t, c, alice, kgo.ConsumeTopics("plain-topic"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fetches := consumer.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatalf("consume: %v", err)
	}
	if recs := fetches.Records(); len(recs) != 1 || string(recs[0].Value) != "hello" {
		t.Fatalf("consumed %d records, want the one produced", len(recs))
	}
}

func TestWrongPlainPasswordIsRefusedWithSASLAuthenticationFailed(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides()})
	cl := newClient(t, c, plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := cl.Ping(ctx)
	if !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("Ping with a wrong password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if !strings.Contains(err.Error(), "Invalid username or password") {
		t.Errorf("error %q does not carry Kafka's message", err)
	}
}

// rawConn is a connection driven request by request, to see what kgo
// hides: which answers come and when the broker hangs up.
type rawConn struct {
	t  *testing.T
	cl *wire.Client
}

func dialRaw(t *testing.T, c *embedded.Cluster) *rawConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := wire.Dial(ctx, c.Seeds()[0], "raw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return &rawConn{t: t, cl: cl}
}

func (r *rawConn) request(req kmsg.Request) (kmsg.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.cl.Request(ctx, req)
}

// mustRequest fails the test unless req is answered.
func (r *rawConn) mustRequest(req kmsg.Request) kmsg.Response {
	r.t.Helper()
	resp, err := r.request(req)
	if err != nil {
		r.t.Fatalf("%s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// login runs SaslHandshake v1 and SaslAuthenticate v1 with PLAIN and
// returns the authenticate response.
func (r *rawConn) loginPlain(user, password string) *kmsg.SASLAuthenticateResponse {
	r.t.Helper()
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	if resp := r.mustRequest(hs).(*kmsg.SASLHandshakeResponse); resp.ErrorCode != 0 {
		r.t.Fatalf("SaslHandshake PLAIN: %v (mechanisms %v)", kerr.ErrorForCode(resp.ErrorCode), resp.SupportedMechanisms)
	}
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version = 1
	auth.SASLAuthBytes = []byte("\x00" + user + "\x00" + password)
	return r.mustRequest(auth).(*kmsg.SASLAuthenticateResponse)
}

func metadataRequest() kmsg.Request {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 1
	return req
}

// requireClosed checks the broker hung up: the request gets no answer but
// the end of the connection.
func (r *rawConn) requireClosed(req kmsg.Request, why string) {
	r.t.Helper()
	resp, err := r.request(req)
	if err == nil {
		r.t.Fatalf("%s: %s answered (%+v), want the connection closed", why, kmsg.NameForKey(req.Key()), resp)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		r.t.Fatalf("%s: %v, want the connection closed by the broker", why, err)
	}
}

func TestRequestBeforeLoginClosesTheConnectionButApiVersionsIsServed(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides()})
	raw := dialRaw(t, c)
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName, av.ClientSoftwareVersion = "raw", "1"
	resp := raw.mustRequest(av).(*kmsg.ApiVersionsResponse)
	advertised := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, k := range resp.ApiKeys {
		advertised[k.ApiKey] = k
	}
	if k := advertised[int16(kmsg.SASLHandshake)]; k.MaxVersion != 1 {
		t.Errorf("SaslHandshake advertised %+v, want up to v1", k)
	}
	if k := advertised[int16(kmsg.SASLAuthenticate)]; k.MaxVersion != 2 {
		t.Errorf("SaslAuthenticate advertised %+v, want up to v2", k)
	}
	raw.requireClosed(metadataRequest(), "Metadata before login")
}

func TestFailedLoginAnswersAndClosesTheConnection(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides()})
	raw := dialRaw(t, c)
	resp := raw.loginPlain("alice", "wrong")
	if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil ||
		*resp.ErrorMessage != "Authentication failed: Invalid username or password" {
		t.Fatalf("login with a wrong password: %v %v", kerr.ErrorForCode(resp.ErrorCode), resp.ErrorMessage)
	}
	raw.requireClosed(metadataRequest(), "Metadata after a failed login")
}

func TestUnknownMechanismIsRefusedWithTheEnabledOnesListed(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides()})
	raw := dialRaw(t, c)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "GSSAPI"
	resp := raw.mustRequest(hs).(*kmsg.SASLHandshakeResponse)
	if resp.ErrorCode != kerr.UnsupportedSaslMechanism.Code {
		t.Fatalf("handshake GSSAPI: %v, want UNSUPPORTED_SASL_MECHANISM", kerr.ErrorForCode(resp.ErrorCode))
	}
	if got := strings.Join(resp.SupportedMechanisms, ","); got != "PLAIN" {
		t.Errorf("supported mechanisms %s", got)
	}
	raw.requireClosed(metadataRequest(), "after an unsupported mechanism")
}

func TestSessionEndsAtConnectionsMaxReauthUnlessTheClientReauthenticates(t *testing.T) {
	const reauth = 1500 * time.Millisecond
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides(fmt.Sprintf("connections.max.reauth.ms=%d", reauth.Milliseconds()))})

	stays, leaves := dialRaw(t, c), dialRaw(t, c)
	for _, raw := range []*rawConn{stays, leaves} {
		resp := raw.loginPlain("alice", "alice-secret")
		if resp.ErrorCode != 0 {
			t.Fatalf("login: %v", kerr.ErrorForCode(resp.ErrorCode))
		}
		if resp.SessionLifetimeMillis != reauth.Milliseconds() {
			t.Fatalf("session_lifetime_ms = %d, want connections.max.reauth.ms %d", resp.SessionLifetimeMillis, reauth.Milliseconds())
		}
		raw.mustRequest(metadataRequest())
	}

	// Re-authenticating before expiry starts a new session on the same
	// connection.
	time.Sleep(reauth / 2)
	if resp := stays.loginPlain("alice", "alice-secret"); resp.ErrorCode != 0 {
		t.Fatalf("re-authentication: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	time.Sleep(reauth/2 + 300*time.Millisecond)
	stays.mustRequest(metadataRequest())
	leaves.requireClosed(metadataRequest(), "Metadata after the session expired")
}

func TestReauthenticationCannotChangeTheUser(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides()})
	raw := dialRaw(t, c)
	if resp := raw.loginPlain("alice", "alice-secret"); resp.ErrorCode != 0 {
		t.Fatalf("login: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	resp := raw.loginPlain("admin", "admin-secret")
	if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code {
		t.Fatalf("re-authentication as another user: %v, want SASL_AUTHENTICATION_FAILED", kerr.ErrorForCode(resp.ErrorCode))
	}
	raw.requireClosed(metadataRequest(), "after a refused re-authentication")
}

// disconnects counts the connections a kgo client lost.
type disconnects struct{ n atomic.Int32 }

func (d *disconnects) OnBrokerDisconnect(kgo.BrokerMetadata, net.Conn) { d.n.Add(1) }

func TestLongLivedKgoClientKeepsWorkingAcrossReauthentications(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides("connections.max.reauth.ms=1000")})
	lost := &disconnects{}
	cl := newClient(t, c, plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism(), kgo.WithHooks(lost))
	deadline := time.Now().Add(3500 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		roundTrip(t, cl, "reauth-topic", fmt.Sprint(i))
		time.Sleep(200 * time.Millisecond)
	}
	// Sessions of one second over three and a half: the client logged in
	// again on its connections rather than losing them.
	if n := lost.n.Load(); n != 0 {
		t.Fatalf("the client lost %d connections; re-authentication should keep them", n)
	}
}

func TestSASLRequestsOnAPlaintextListenerAnswerIllegalSASLState(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{})
	raw := dialRaw(t, c)
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "PLAIN"
	if resp := raw.mustRequest(hs).(*kmsg.SASLHandshakeResponse); resp.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("SaslHandshake on PLAINTEXT: %v, want ILLEGAL_SASL_STATE", kerr.ErrorForCode(resp.ErrorCode))
	}
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version = 1
	if resp := raw.mustRequest(auth).(*kmsg.SASLAuthenticateResponse); resp.ErrorCode != kerr.IllegalSaslState.Code {
		t.Fatalf("SaslAuthenticate on PLAINTEXT: %v, want ILLEGAL_SASL_STATE", kerr.ErrorForCode(resp.ErrorCode))
	}
	raw.mustRequest(metadataRequest()) // the connection stays open
}

func TestReauthenticationCannotChangeTheMechanism(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides("sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256")})
	raw := dialRaw(t, c)
	if resp := raw.loginPlain("alice", "alice-secret"); resp.ErrorCode != 0 {
		t.Fatalf("login: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "SCRAM-SHA-256"
	if resp := raw.mustRequest(hs).(*kmsg.SASLHandshakeResponse); resp.ErrorCode != 0 {
		t.Fatalf("re-authentication handshake: %v, want it answered as Kafka does", kerr.ErrorForCode(resp.ErrorCode))
	}
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version, auth.SASLAuthBytes = 1, []byte("n,,n=alice,r=nonce")
	resp := raw.mustRequest(auth).(*kmsg.SASLAuthenticateResponse)
	if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil || !strings.Contains(*resp.ErrorMessage, "re-authentication") {
		t.Fatalf("re-authentication with another mechanism: %v %v, want SASL_AUTHENTICATION_FAILED", kerr.ErrorForCode(resp.ErrorCode), resp.ErrorMessage)
	}
	raw.requireClosed(metadataRequest(), "after a refused re-authentication")
}
