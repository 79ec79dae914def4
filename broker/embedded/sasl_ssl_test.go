package embedded_test

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/broker/tlsconf/tlstest"
)

func TestClusterWithOnlyASASLSSLListenerReplicatesAndServesSCRAMClients(t *testing.T) {
	ca := tlstest.NewCA(t, "cluster CA")
	brokerCert := ca.Server(t, "broker")
	c, err := embedded.Start(context.Background(), embedded.Config{
		Brokers: 3,
		Overrides: map[string]string{
			// One listener for clients and brokers alike: brokers log in
			// to each other with PLAIN over TLS.
			"listeners":                                             "SASL_SSL://127.0.0.1:0",
			"sasl.enabled.mechanisms":                               "PLAIN,SCRAM-SHA-512",
			"sasl.mechanism.inter.broker.protocol":                  "PLAIN",
			"listener.name.sasl_ssl.plain.sasl.jaas.config":         `org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-pw" user_broker="broker-pw" user_admin="admin-pw";`,
			"listener.name.sasl_ssl.ssl.keystore.type":              "PEM",
			"listener.name.sasl_ssl.ssl.keystore.certificate.chain": brokerCert.CertPEM(),
			"listener.name.sasl_ssl.ssl.keystore.key":               brokerCert.KeyPEM(t),
			"listener.name.sasl_ssl.ssl.truststore.type":            "PEM",
			"listener.name.sasl_ssl.ssl.truststore.certificates":    ca.PEM(),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tlsCfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}

	admin, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DialTLSConfig(tlsCfg),
		kgo.SASL(plain.Auth{User: "admin", Pass: "admin-pw"}.AsMechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	if _, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "alice-pw"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 3, nil, "secured"); err != nil {
		t.Fatal(err)
	}

	alice, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DialTLSConfig(tlsCfg),
		kgo.SASL(scram.Auth{User: "alice", Pass: "alice-pw"}.AsSha512Mechanism()),
		kgo.DefaultProduceTopic("secured"), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	for i := range 20 {
		if err := alice.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatalf("produce with acks=all over SASL_SSL: %v", err)
		}
	}
	// The followers fetch over the one SASL_SSL listener. (WaitInSync
	// asks the brokers as they ask each other: TLS, then a PLAIN login.)
	if err := c.WaitInSync(ctx, "secured"); err != nil {
		t.Fatalf("followers never caught up over the SASL_SSL listener: %v", err)
	}
	if err := c.Kill(leaderOf(t, c, "secured")); err != nil {
		t.Fatal(err)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.DialTLSConfig(tlsCfg),
		kgo.SASL(scram.Auth{User: "alice", Pass: "alice-pw"}.AsSha512Mechanism()),
		kgo.ConsumeTopics("secured"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var got int
	for got < 20 {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %d of the 20 records from the new leader: %v", got, err)
		}
		got += len(fetches.Records())
	}
}

func leaderOf(t *testing.T, c *embedded.Cluster, topic string) int32 {
	t.Helper()
	p, ok := c.Partition(topic, 0)
	if !ok {
		t.Fatalf("no partition 0 of %s", topic)
	}
	return p.Leader
}
