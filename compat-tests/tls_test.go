package compattests

import (
	"bytes"
	"context"
	"crypto/x509/pkix"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/broker/tlsconf/tlstest"
)

// tlsFiles are a CA, a broker key store and a client certificate written
// where librdkafka can read them.
type tlsFiles struct {
	ca, clientCert, clientKey string
	brokerPEM, brokerP12      string
}

func writeTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "compat CA")
	broker := ca.Server(t, "broker")
	client := ca.Client(t, pkix.Name{CommonName: "librdkafka", Organization: []string{"Samsa tests"}})
	return tlsFiles{
		ca:         tlstest.WriteFile(t, dir, "ca.pem", []byte(ca.PEM())),
		clientCert: tlstest.WriteFile(t, dir, "client.pem", []byte(client.CertPEM())),
		clientKey:  tlstest.WriteFile(t, dir, "client.key", []byte(client.KeyPEM(t))),
		brokerPEM:  tlstest.WriteFile(t, dir, "broker.pem", []byte(broker.KeyPEM(t)+broker.CertPEM())),
		brokerP12:  tlstest.WriteFile(t, dir, "broker.p12", broker.PKCS12(t, "changeit")),
	}
}

// sslBroker starts a broker whose only listener is SSL, requiring client
// certificates signed by the test CA.
func sslBroker(t *testing.T, f tlsFiles, keystore ...brokerOpt) *testBroker {
	t.Helper()
	opts := append([]brokerOpt{
		withOverride("listeners", "SSL://127.0.0.1:0"),
		withOverride("listener.security.protocol.map", "SSL:SSL"),
		withOverride("ssl.truststore.type", "PEM"),
		withOverride("ssl.truststore.location", f.ca),
		withOverride("ssl.client.auth", "required"),
	}, keystore...)
	return startBroker(t, opts...)
}

func TestKcatProducesAndConsumesOverMutualTLS(t *testing.T) {
	skipOnKfake(t, "kfake has no TLS listener")
	requireKcat(t)
	t.Parallel()
	f := writeTLSFiles(t)
	b := sslBroker(t, f, withOverride("ssl.keystore.type", "PEM"), withOverride("ssl.keystore.location", f.brokerPEM))
	ssl := []string{"-b", b.Addr(), "-X", "security.protocol=ssl", "-X", "ssl.ca.location=" + f.ca,
		"-X", "ssl.certificate.location=" + f.clientCert, "-X", "ssl.key.location=" + f.clientKey}

	kcat(t, "one\ntwo\n", append([]string{"-P", "-t", "tls-lines"}, ssl...)...)
	got := kcat(t, "", append([]string{"-C", "-t", "tls-lines", "-o", "beginning", "-e", "-f", "%s\n"}, ssl...)...)
	if got != "one\ntwo\n" {
		t.Fatalf("kcat over TLS read %q, want %q", got, "one\ntwo\n")
	}

	// Without a client certificate the broker refuses the handshake.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", "-L", "-b", b.Addr(), "-X", "security.protocol=ssl", "-X", "ssl.ca.location="+f.ca, "-m", "5")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("kcat without a client certificate listed metadata; stderr:\n%s", stderr.String())
	}
}

func TestConfluentKafkaPythonProducesAndConsumesOverTLSWithAPKCS12Keystore(t *testing.T) {
	skipOnKfake(t, "kfake has no TLS listener")
	requirePythonModule(t, "confluent_kafka", "python3-confluent-kafka")
	t.Parallel()
	f := writeTLSFiles(t)
	b := sslBroker(t, f, withOverride("ssl.keystore.type", "PKCS12"), withOverride("ssl.keystore.location", f.brokerP12),
		withOverride("ssl.keystore.password", "changeit"))
	script := `
import sys
from confluent_kafka import Consumer, Producer, TopicPartition
bootstrap, ca, cert, key = sys.argv[1:5]
conf = {"bootstrap.servers": bootstrap, "security.protocol": "SSL", "ssl.ca.location": ca,
        "ssl.certificate.location": cert, "ssl.key.location": key}
p = Producer(dict(conf, **{"enable.idempotence": True}))
errors = []
p.produce("tls-python", value=b"over TLS from python", callback=lambda err, msg: err and errors.append(err))
p.flush(30)
if errors or len(p) != 0:
    sys.exit("produce failed: %s" % errors)
c = Consumer(dict(conf, **{"group.id": "unused", "enable.auto.commit": False}))
c.assign([TopicPartition("tls-python", 0, 0)])
m = c.poll(30)
if m is None or m.error():
    sys.exit("consume failed: %s" % (m and m.error()))
print(m.value().decode())
c.close()
`
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "-c", script, b.Addr(), f.ca, f.clientCert, f.clientKey)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("confluent_kafka over TLS: %v\nstderr:\n%s", err, stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != "over TLS from python" {
		t.Fatalf("python read %q", got)
	}
}
