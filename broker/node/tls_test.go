package node_test

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/node"
	"github.com/samsa-io/samsa/broker/tlsconf/tlstest"
)

// sslConfig is a broker whose first listener is SSL, with a PEM key
// store in the config and a second, PLAINTEXT listener.
func sslConfig(t *testing.T, ca *tlstest.CA, extra ...string) []string {
	brokerCert := ca.Server(t, "broker")
	return append([]string{
		"listeners=SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0",
		"listener.security.protocol.map=SSL:SSL,PLAINTEXT:PLAINTEXT",
		"ssl.keystore.type=PEM",
		"ssl.keystore.certificate.chain=" + brokerCert.CertPEM(),
		"ssl.keystore.key=" + brokerCert.KeyPEM(t),
		"ssl.truststore.type=PEM",
		"ssl.truststore.certificates=" + ca.PEM(),
	}, extra...)
}

func tlsClient(t *testing.T, n *node.Node, cfg *tls.Config, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newClient(t, n, append([]kgo.Opt{kgo.SeedBrokers(n.Addrs()[0]), kgo.DialTLSConfig(cfg)}, opts...)...)
}

func TestKafkaClientProducesAndConsumesOverAnSSLListener(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	n, _ := startNode(t, testConfig(t, sslConfig(t, ca)...), node.Options{})
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(tlsClient(t, n, cfg)).CreateTopic(ctx, 1, 1, nil, "secure"); err != nil {
		t.Fatal(err)
	}
	p := tlsClient(t, n, cfg, kgo.DefaultProduceTopic("secure"))
	if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte("over TLS")}).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	c := tlsClient(t, n, cfg, kgo.ConsumeTopics("secure"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fs := c.PollFetches(ctx)
	if err := fs.Err(); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if got := fs.Records(); len(got) != 1 || string(got[0].Value) != "over TLS" {
		t.Fatalf("records %v", got)
	}
	// The PLAINTEXT listener still serves plain TCP.
	conn, err := net.DialTimeout("tcp", n.Addrs()[1], 5*time.Second)
	if err != nil {
		t.Fatalf("PLAINTEXT listener: %v", err)
	}
	conn.Close()
}

func TestMutualTLSMapsTheClientCertificateToItsPrincipal(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	n, logs := startNode(t, testConfig(t, sslConfig(t, ca,
		"listener.name.ssl.ssl.client.auth=required",
		"ssl.principal.mapping.rules=RULE:^CN=([^,]*),O=.*$/$1/U,DEFAULT")...), node.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	anonymous := tlsClient(t, n, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err := anonymous.Ping(ctx); err == nil {
		t.Error("a client without a certificate was served")
	}
	other := tlstest.NewCA(t, "other CA")
	untrusted := tlsClient(t, n, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost",
		Certificates: []tls.Certificate{other.Client(t, pkix.Name{CommonName: "mallory"}).TLS()}})
	if err := untrusted.Ping(ctx); err == nil {
		t.Error("a client with an untrusted certificate was served")
	}
	alice := ca.Client(t, pkix.Name{CommonName: "alice", Organization: []string{"Acme"}})
	trusted := tlsClient(t, n, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{alice.TLS()}})
	if err := trusted.Ping(context.Background()); err != nil {
		t.Fatalf("a client with a trusted certificate: %v", err)
	}
	if !strings.Contains(logs.String(), `"principal":"User:ALICE"`) {
		t.Errorf("no connection authenticated as User:ALICE; logs:\n%s", logs)
	}
}

func TestStartFailsOnAKeystoreThatDoesNotLoad(t *testing.T) {
	cfg := testConfig(t, "listeners=SSL://127.0.0.1:0", "listener.security.protocol.map=SSL:SSL",
		"ssl.keystore.location=/nonexistent/broker.jks")
	_, err := node.Start(context.Background(), node.Options{Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "JKS is not supported") {
		t.Fatalf("start: %v, want the JKS key store refused", err)
	}
}

func TestAlterConfigsOfTheListenerKeystoreServesTheNewCertificateToNewClients(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	n, _ := startNode(t, testConfig(t, sslConfig(t, ca)...), node.Options{})
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	renewed := ca.Server(t, "renewed broker")
	adm := kadm.NewClient(tlsClient(t, n, cfg))
	chain, key := renewed.CertPEM(), renewed.KeyPEM(t)
	resps, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "listener.name.ssl.ssl.keystore.certificate.chain", Value: &chain},
		{Op: kadm.SetConfig, Name: "listener.name.ssl.ssl.keystore.key", Value: &key},
	}, 0)
	if err == nil {
		err = resps[0].Err
	}
	if err != nil {
		t.Fatalf("alter configs: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := tls.Dial("tcp", n.Addrs()[0], cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := conn.ConnectionState().PeerCertificates[0]
		conn.Close()
		if got.Equal(renewed.Cert) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("new connections still get %s", got.Subject)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEachListenerAdvertisesItsOwnAddressInMetadata(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	brokerCert := ca.Server(t, "broker")
	n, _ := startNode(t, testConfig(t,
		"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
		"listener.security.protocol.map=SSL:SSL,PLAINTEXT:PLAINTEXT",
		"ssl.keystore.type=PEM",
		"ssl.keystore.certificate.chain="+brokerCert.CertPEM(),
		"ssl.keystore.key="+brokerCert.KeyPEM(t)), node.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plain := newClient(t, n, kgo.SeedBrokers(n.Addrs()[0]), kgo.ConsumeTopics("both"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if _, err := kadm.NewClient(plain).CreateTopic(ctx, 1, 1, nil, "both"); err != nil {
		t.Fatal(err)
	}

	tlsCfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	secure := newClient(t, n, kgo.SeedBrokers(n.Addrs()[1]), kgo.DialTLSConfig(tlsCfg), kgo.DefaultProduceTopic("both"))
	meta, err := kadm.NewClient(secure).BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := net.JoinHostPort(meta.Brokers[0].Host, strconv.Itoa(int(meta.Brokers[0].Port))); got != n.Addrs()[1] {
		t.Errorf("a client of the SSL listener was told the broker is at %s, want the SSL listener %s", got, n.Addrs()[1])
	}
	if err := secure.ProduceSync(ctx, &kgo.Record{Value: []byte("via SSL")}).FirstErr(); err != nil {
		t.Fatalf("produce over the second listener: %v", err)
	}
	fs := plain.PollFetches(ctx)
	if got := fs.Records(); fs.Err() != nil || len(got) != 1 || string(got[0].Value) != "via SSL" {
		t.Fatalf("a PLAINTEXT consumer read %v (%v)", got, fs.Err())
	}
}

func TestAlterConfigsRefusesAKeystoreThatDoesNotLoadAndKeepsServingTheOldOne(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	n, _ := startNode(t, testConfig(t, sslConfig(t, ca)...), node.Options{})
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(tlsClient(t, n, cfg))

	// A key that is not the certificate's.
	renewed, other := ca.Server(t, "renewed broker"), ca.Server(t, "another broker")
	chain, key := renewed.CertPEM(), other.KeyPEM(t)
	resps, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "listener.name.ssl.ssl.keystore.certificate.chain", Value: &chain},
		{Op: kadm.SetConfig, Name: "listener.name.ssl.ssl.keystore.key", Value: &key},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(resps[0].Err, kerr.InvalidConfig) {
		t.Fatalf("a mismatched key: %v, want INVALID_CONFIG", resps[0].Err)
	}
	described, err := adm.DescribeBrokerConfigs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range described {
		for _, c := range rc.Configs {
			if strings.Contains(c.Key, "keystore") && c.Source == kmsg.ConfigSourceDynamicBrokerConfig {
				t.Fatalf("the refused key store was stored: %+v", c)
			}
		}
	}
	conn, err := tls.Dial("tcp", n.Addrs()[0], cfg)
	if err != nil {
		t.Fatalf("a new client after the refused change: %v", err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates[0]; got.Equal(renewed.Cert) {
		t.Fatal("the refused certificate is served")
	}
}
