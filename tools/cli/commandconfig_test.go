package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/broker/embedded"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pingWith runs a command that connects with the given --command-config.
func pingWith(t *testing.T, seeds []string, commandConfig string) (int, string) {
	t.Helper()
	code, _, stderr := run(t, func(env *Env, cmd *cobra.Command, _ []string) error {
		cl, err := env.NewClient(cmd.Context())
		if err == nil {
			cl.Close()
		}
		return err
	}, "do", "--bootstrap-server", strings.Join(seeds, ","), "--timeout", "5s", "--command-config", commandConfig)
	return code, stderr
}

func TestCommandConfigLogsInWithSASLPlainAndSCRAM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := embedded.Start(ctx, embedded.Config{Overrides: map[string]string{
		"listeners":               "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	plainProps := func(password string) string {
		return "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n" +
			`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="` + password + `";` + "\n"
	}
	if code, stderr := pingWith(t, c.Seeds(), writeFile(t, "admin.properties", plainProps("admin-secret"))); code != 0 {
		t.Fatalf("PLAIN login: exit %d, %s", code, stderr)
	}
	code, stderr := pingWith(t, c.Seeds(), writeFile(t, "wrong.properties", plainProps("wrong")))
	if code != 1 || !strings.Contains(stderr, kerr.SaslAuthenticationFailed.Message) {
		t.Fatalf("a wrong password: exit %d, %q", code, stderr)
	}

	// A SCRAM user the admin creates, then logs in as.
	admin, err := (&Env{BootstrapServer: c.Seeds(), CommandConfig: writeFile(t, "admin2.properties", plainProps("admin-secret"))}).NewAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "alice-pw"}}); err != nil {
		t.Fatal(err)
	}
	scramProps := "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n" +
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-pw";` + "\n"
	if code, stderr := pingWith(t, c.Seeds(), writeFile(t, "alice.properties", scramProps)); code != 0 {
		t.Fatalf("SCRAM login: exit %d, %s", code, stderr)
	}
}

func TestCommandConfigRefusesWhatItCannotUse(t *testing.T) {
	addr := []string{"127.0.0.1:1"} // never dialled: the file is refused first
	for _, tc := range []struct{ content, want string }{
		{"security.protocol=SASL_WHATEVER\n", `security.protocol "SASL_WHATEVER"`},
		{"security.protocol=SASL_PLAINTEXT\n", "sasl.mechanism GSSAPI needs sasl.jaas.config"},
		{"security.protocol=SASL_PLAINTEXT\nsasl.mechanism=GSSAPI\nsasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required;\n", "GSSAPI is not supported"},
		{"security.protocol=SSL\nssl.truststore.type=JKS\nssl.truststore.location=/etc/hosts\n", "read PEM truststores"},
		{"security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=broken\n", "sasl.jaas.config"},
	} {
		code, stderr := pingWith(t, addr, writeFile(t, "c.properties", tc.content))
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.content, code, stderr, tc.want)
		}
	}
	code, stderr := pingWith(t, addr, filepath.Join(t.TempDir(), "missing.properties"))
	if code != 2 || !strings.Contains(stderr, "no such file") {
		t.Errorf("a missing file: exit %d, %q", code, stderr)
	}
}

// testCA is a CA and a server certificate it signed for host.
func testCA(t *testing.T, host string) (caPEM []byte, server tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake dials a TLS server whose certificate names another host
// than 127.0.0.1, with the client TLS the properties make.
func handshake(t *testing.T, props map[string]string, server tls.Certificate) error {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{server}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	tc, err := clientTLS(props)
	if err != nil {
		return err
	}
	tc = tc.Clone()
	tc.ServerName = "127.0.0.1"
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(), tc)
	if err != nil {
		return err
	}
	return c.Close()
}

func TestCommandConfigTrustsItsTruststoreAndChecksHostNamesUnlessTheAlgorithmIsEmpty(t *testing.T) {
	caPEM, server := testCA(t, "broker.example")
	trust := writeFile(t, "ca.pem", string(caPEM))
	props := map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": trust}
	var hostErr x509.HostnameError
	if err := handshake(t, props, server); !errors.As(err, &hostErr) {
		t.Fatalf("a certificate for another host: %v, want a host name error", err)
	}
	props["ssl.endpoint.identification.algorithm"] = ""
	if err := handshake(t, props, server); err != nil {
		t.Fatalf("with host name checks off, the trusted chain: %v", err)
	}
	otherCA, _ := testCA(t, "broker.example")
	props["ssl.truststore.location"] = writeFile(t, "other.pem", string(otherCA))
	var unknown x509.UnknownAuthorityError
	if err := handshake(t, props, server); !errors.As(err, &unknown) {
		t.Fatalf("an untrusted chain with host name checks off: %v, want unknown authority", err)
	}
}
