package embedded_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/broker/tlsconf/tlstest"
)

// syncBuffer collects logs written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestReplicationRunsOverAnSSLInterBrokerListenerWhileClientsUsePlaintext(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	brokerCert := ca.Server(t, "broker") // every broker is on 127.0.0.1
	logs := &syncBuffer{}
	c, err := embedded.Start(context.Background(), embedded.Config{
		Brokers: 3,
		Logger:  zerolog.New(logs),
		Overrides: map[string]string{
			"listeners":                      "PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
			"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SSL",
			"inter.broker.listener.name":     "INTERNAL",
			// Brokers prove themselves to each other: client auth
			// required, the broker certificate doubling as client one.
			"listener.name.internal.ssl.client.auth":                "required",
			"listener.name.internal.ssl.keystore.type":              "PEM",
			"listener.name.internal.ssl.keystore.certificate.chain": brokerCert.CertPEM(),
			"listener.name.internal.ssl.keystore.key":               brokerCert.KeyPEM(t),
			"listener.name.internal.ssl.truststore.type":            "PEM",
			"listener.name.internal.ssl.truststore.certificates":    ca.PEM(),
			"ssl.principal.mapping.rules":                           "RULE:^CN=([^,]*)$/$1/,DEFAULT",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DefaultProduceTopic("replicated"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 3, nil, "replicated"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatalf("produce with acks=all: %v", err)
		}
	}
	if err := c.WaitInSync(ctx, "replicated"); err != nil {
		t.Fatalf("replicas never caught up over the SSL listener: %v", err)
	}
	p, _ := c.Partition("replicated", 0)
	if len(p.ISR) != 3 {
		t.Fatalf("ISR %v, want all three brokers", p.ISR)
	}
	// The followers fetched on INTERNAL, authenticated by certificate.
	var sawTLS bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"listener":"INTERNAL"`) && strings.Contains(line, "TLS handshake done") &&
			strings.Contains(line, `"principal":"User:broker"`) {
			sawTLS = true
			break
		}
	}
	if !sawTLS {
		t.Error("no broker connected to another's INTERNAL listener over TLS")
	}
}
