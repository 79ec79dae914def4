package tlsconf

import (
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/youmark/pkcs8"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/tlsconf/tlstest"
)

// settings are the defaults of a broker with overrides applied.
func settings(t *testing.T, overrides ...string) config.SSL {
	t.Helper()
	b, _, err := config.Load("", append([]string{"listeners=SSL://127.0.0.1:0", "listener.security.protocol.map=SSL:SSL"}, overrides...))
	if err != nil {
		t.Fatal(err)
	}
	return b.ListenerSSL("SSL")
}

// pemSettings is a listener with an inline PEM key store for cert.
func pemSettings(t *testing.T, cert *tlstest.Cert, overrides ...string) config.SSL {
	s := settings(t, append([]string{"ssl.keystore.type=PEM"}, overrides...)...)
	s.KeystoreCertificateChain = cert.CertPEM()
	s.KeystoreKey = cert.KeyPEM(t)
	return s
}

// result is what both ends of a handshake saw.
type result struct {
	server    tls.ConnectionState
	client    tls.ConnectionState
	serverErr error
	clientErr error
}

// tcpPair is a connected pair of loopback TCP connections (not
// net.Pipe, whose unbuffered writes deadlock when both ends send an alert
// or a flight at once).
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if server, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	return server, client
}

// handshake runs a TLS handshake between l and a client with cfg over
// loopback TCP.
func handshake(t *testing.T, l *Listener, cfg *tls.Config) result {
	t.Helper()
	sc, cc := tcpPair(t)
	defer sc.Close()
	defer cc.Close()
	srv := tls.Server(sc, l.ServerConfig())
	cli := tls.Client(cc, cfg)
	var r result
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.serverErr = srv.Handshake()
		if r.serverErr != nil {
			sc.Close()
		}
		r.server = srv.ConnectionState()
	}()
	r.clientErr = cli.Handshake()
	if r.clientErr == nil {
		// TLS 1.3 servers check client certificates after the client's
		// handshake ends: read to learn the server's verdict.
		cc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := cli.Read(make([]byte, 1))
		var ne net.Error
		if err != nil && !(errorsAs(err, &ne) && ne.Timeout()) {
			r.clientErr = err
		}
	} else {
		cc.Close()
	}
	r.client = cli.ConnectionState()
	<-done
	return r
}

func errorsAs(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

func newListener(t *testing.T, s config.SSL) *Listener {
	t.Helper()
	l, err := NewListener("SSL", s, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestClientTrustingTheCASeesTheBrokerCertificateFromInlinePEM(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	brokerCert := ca.Server(t, "broker")
	l := newListener(t, pemSettings(t, brokerCert))
	r := handshake(t, l, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if r.clientErr != nil || r.serverErr != nil {
		t.Fatalf("handshake: client %v, server %v", r.clientErr, r.serverErr)
	}
	if !r.client.PeerCertificates[0].Equal(brokerCert.Cert) {
		t.Errorf("client saw %s, want the broker's certificate", r.client.PeerCertificates[0].Subject)
	}
	if p, _ := l.Principal(r.server); p != Anonymous {
		t.Errorf("principal without a client certificate: %q, want %q", p, Anonymous)
	}
}

func TestPEMAndPKCS12KeystoreFilesLoad(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	brokerCert := ca.Server(t, "broker")
	dir := t.TempDir()
	pemPath := tlstest.WriteFile(t, dir, "broker.pem", []byte(brokerCert.KeyPEM(t)+brokerCert.CertPEM()))
	p12Path := tlstest.WriteFile(t, dir, "broker.p12", brokerCert.PKCS12(t, "s3cret"))
	trustPath := tlstest.WriteFile(t, dir, "trust.p12", ca.TrustStorePKCS12(t, "trust"))
	for name, s := range map[string]config.SSL{
		"PEM file":    settings(t, "ssl.keystore.type=PEM", "ssl.keystore.location="+pemPath),
		"PKCS12 file": settings(t, "ssl.keystore.type=PKCS12", "ssl.keystore.location="+p12Path, "ssl.keystore.password=s3cret"),
	} {
		t.Run(name, func(t *testing.T) {
			r := handshake(t, newListener(t, s), &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
			if r.clientErr != nil {
				t.Fatalf("handshake: %v", r.clientErr)
			}
			if !r.client.PeerCertificates[0].Equal(brokerCert.Cert) {
				t.Errorf("client saw %s", r.client.PeerCertificates[0].Subject)
			}
		})
	}
	t.Run("PKCS12 trust store checks client certificates", func(t *testing.T) {
		s := pemSettings(t, brokerCert, "ssl.client.auth=required", "ssl.truststore.type=PKCS12",
			"ssl.truststore.location="+trustPath, "ssl.truststore.password=trust")
		alice := ca.Client(t, pkix.Name{CommonName: "alice"})
		r := handshake(t, newListener(t, s), &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{alice.TLS()}})
		if r.clientErr != nil || r.serverErr != nil {
			t.Fatalf("handshake: client %v, server %v", r.clientErr, r.serverErr)
		}
	})
	t.Run("wrong PKCS12 password", func(t *testing.T) {
		s := settings(t, "ssl.keystore.type=PKCS12", "ssl.keystore.location="+p12Path, "ssl.keystore.password=wrong")
		if _, err := NewListener("SSL", s, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "ssl.keystore.password") {
			t.Errorf("error %v, want one naming ssl.keystore.password", err)
		}
	})
}

func TestJKSKeystoresAreRefusedWithHowToConvert(t *testing.T) {
	s := settings(t, "ssl.keystore.location=/etc/kafka/broker.jks", "ssl.keystore.password=x")
	_, err := NewListener("SSL", s, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "JKS is not supported") || !strings.Contains(err.Error(), "keytool -importkeystore") {
		t.Fatalf("error %v, want JKS refused with a conversion hint", err)
	}
}

func TestMismatchedKeyAndCertificateAreRefusedAtStart(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	a, b := ca.Server(t, "a"), ca.Server(t, "b")
	s := pemSettings(t, a)
	s.KeystoreKey = b.KeyPEM(t)
	if _, err := NewListener("SSL", s, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("error %v, want the mismatch named", err)
	}
}

func TestRequiredClientAuth(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	other := tlstest.NewCA(t, "other CA")
	s := pemSettings(t, ca.Server(t, "broker"), "ssl.client.auth=required", "ssl.truststore.type=PEM",
		`ssl.principal.mapping.rules=RULE:^CN=([^,]*),OU=([^,]*),.*$/$1.$2/L,DEFAULT`)
	s.TruststoreCertificates = ca.PEM()
	l := newListener(t, s)
	client := func(c *tlstest.Cert) *tls.Config {
		cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
		if c != nil {
			cfg.Certificates = []tls.Certificate{c.TLS()}
		}
		return cfg
	}

	t.Run("a client without a certificate is refused", func(t *testing.T) {
		if r := handshake(t, l, client(nil)); r.serverErr == nil || r.clientErr == nil {
			t.Fatalf("handshake succeeded: client %v, server %v", r.clientErr, r.serverErr)
		}
	})
	t.Run("a certificate from an untrusted CA is refused", func(t *testing.T) {
		r := handshake(t, l, client(other.Client(t, pkix.Name{CommonName: "mallory"})))
		if r.serverErr == nil || r.clientErr == nil {
			t.Fatalf("handshake succeeded: client %v, server %v", r.clientErr, r.serverErr)
		}
	})
	t.Run("a trusted certificate's DN is mapped by the first matching rule", func(t *testing.T) {
		alice := ca.Client(t, pkix.Name{CommonName: "Alice", OrganizationalUnit: []string{"Eng"}, Organization: []string{"Acme"}, Country: []string{"US"}})
		r := handshake(t, l, client(alice))
		if r.clientErr != nil || r.serverErr != nil {
			t.Fatalf("handshake: client %v, server %v", r.clientErr, r.serverErr)
		}
		if p, err := l.Principal(r.server); err != nil || p != "User:alice.eng" {
			t.Errorf("principal %q (%v), want User:alice.eng", p, err)
		}
	})
	t.Run("DEFAULT keeps the DN when no rule matches", func(t *testing.T) {
		bob := ca.Client(t, pkix.Name{CommonName: "bob", Organization: []string{"Acme"}})
		r := handshake(t, l, client(bob))
		if p, err := l.Principal(r.server); err != nil || p != "User:CN=bob,O=Acme" {
			t.Errorf("principal %q (%v), want User:CN=bob,O=Acme", p, err)
		}
	})
}

func TestRequestedClientAuthLetsAClientWithoutCertificateInAsAnonymous(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	s := pemSettings(t, ca.Server(t, "broker"), "ssl.client.auth=requested", "ssl.truststore.type=PEM")
	s.TruststoreCertificates = ca.PEM()
	l := newListener(t, s)
	r := handshake(t, l, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if r.clientErr != nil || r.serverErr != nil {
		t.Fatalf("handshake: client %v, server %v", r.clientErr, r.serverErr)
	}
	if p, _ := l.Principal(r.server); p != Anonymous {
		t.Errorf("principal %q, want %q", p, Anonymous)
	}
	alice := ca.Client(t, pkix.Name{CommonName: "alice"})
	r = handshake(t, l, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{alice.TLS()}})
	if p, _ := l.Principal(r.server); p != "User:CN=alice" {
		t.Errorf("principal %q, want User:CN=alice", p)
	}
}

func TestTLS13OnlyListenerRefusesATLS12Client(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	l := newListener(t, pemSettings(t, ca.Server(t, "broker"), "ssl.enabled.protocols=TLSv1.3"))
	r := handshake(t, l, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	if r.clientErr == nil {
		t.Fatalf("a TLS 1.2 client got in (version %x)", r.client.Version)
	}
	r = handshake(t, l, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if r.clientErr != nil || r.client.Version != tls.VersionTLS13 {
		t.Fatalf("TLS 1.3 client: %v, version %x", r.clientErr, r.client.Version)
	}
}

func TestCipherSuitesTakeJavaNames(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	l := newListener(t, pemSettings(t, ca.Server(t, "broker"), "ssl.enabled.protocols=TLSv1.2",
		"ssl.cipher.suites=TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256"))
	r := handshake(t, l, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if r.clientErr != nil || r.client.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("handshake %v, suite %s", r.clientErr, tls.CipherSuiteName(r.client.CipherSuite))
	}
	_, err := NewListener("SSL", pemSettings(t, ca.Server(t, "b"), "ssl.cipher.suites=TLS_RSA_WITH_RC4_128_SHA"), zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "insecure") {
		t.Errorf("RC4: error %v, want refused as insecure", err)
	}
	_, err = NewListener("SSL", pemSettings(t, ca.Server(t, "b"), "ssl.cipher.suites=TLS_MADE_UP"), zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "TLS_MADE_UP") {
		t.Errorf("unknown suite: error %v, want it named", err)
	}
}

func TestNewConnectionsGetARewrittenKeystoreFile(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	first, second := ca.Server(t, "first"), ca.Server(t, "second")
	dir := t.TempDir()
	path := tlstest.WriteFile(t, dir, "broker.p12", first.PKCS12(t, "pw"))
	l := newListener(t, settings(t, "ssl.keystore.type=PKCS12", "ssl.keystore.location="+path, "ssl.keystore.password=pw"))
	client := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	if r := handshake(t, l, client); r.clientErr != nil || !r.client.PeerCertificates[0].Equal(first.Cert) {
		t.Fatalf("before the rewrite: %v", r.clientErr)
	}
	tlstest.WriteFile(t, dir, "broker.p12", second.PKCS12(t, "pw"))
	deadline := time.Now().Add(5 * FileCheckInterval)
	for {
		r := handshake(t, l, client)
		if r.clientErr == nil && r.client.PeerCertificates[0].Equal(second.Cert) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("new connections still get %s after the file was rewritten", r.client.PeerCertificates[0].Subject)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestUpdateSwapsTheCertificateAndRefusesABrokenOne(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	first, second := ca.Server(t, "first"), ca.Server(t, "second")
	l := newListener(t, pemSettings(t, first))
	broken := pemSettings(t, second)
	broken.KeystoreKey = "not a key"
	if err := l.Update(broken); err == nil {
		t.Fatal("a broken key store was accepted")
	}
	client := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	if r := handshake(t, l, client); !r.client.PeerCertificates[0].Equal(first.Cert) {
		t.Fatal("the refused update replaced the certificate")
	}
	if err := l.Update(pemSettings(t, second)); err != nil {
		t.Fatal(err)
	}
	if r := handshake(t, l, client); !r.client.PeerCertificates[0].Equal(second.Cert) {
		t.Fatalf("after Update clients see %s", r.client.PeerCertificates[0].Subject)
	}
}

func TestDistinguishedNameIsWrittenAsJavaWritesIt(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	c := ca.Client(t, pkix.Name{
		CommonName: "Smith, John", OrganizationalUnit: []string{"Eng"}, Organization: []string{"Acme"},
		Locality: []string{"Paris"}, Country: []string{"FR"},
	})
	dn, err := DistinguishedName(c.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if want := `CN=Smith\, John,OU=Eng,O=Acme,L=Paris,C=FR`; dn != want {
		t.Errorf("DN %q, want %q", dn, want)
	}
}

func TestInterBrokerClientChecksTheHostNameUnlessDisabled(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	l := newListener(t, pemSettings(t, ca.Server(t, "broker")))
	trust := []string{"ssl.truststore.type=PEM"}
	withCA := func(s config.SSL) config.SSL { s.TruststoreCertificates = ca.PEM(); return s }

	strict, err := ClientConfig(withCA(settings(t, trust...)), "broker.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if r := handshake(t, l, strict); r.clientErr == nil {
		t.Error("the certificate does not name broker.example.com, yet https identification accepted it")
	}
	lax, err := ClientConfig(withCA(settings(t, append(trust, "ssl.endpoint.identification.algorithm=")...)), "broker.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if r := handshake(t, l, lax); r.clientErr != nil {
		t.Errorf("with identification off, a trusted certificate should do: %v", r.clientErr)
	}
	untrusted, err := ClientConfig(settings(t, "ssl.endpoint.identification.algorithm=", "ssl.truststore.type=PEM",
		"ssl.truststore.certificates="+strings.ReplaceAll(tlstest.NewCA(t, "other").PEM(), "\n", "\n")), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if r := handshake(t, l, untrusted); r.clientErr == nil {
		t.Error("identification off must still check the chain")
	}
}

func TestEncryptedPEMKeyIsDecryptedWithSSLKeyPassword(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	brokerCert := ca.Server(t, "broker")
	// PKCS#8 encrypted with PBES2 (PBKDF2, AES-256-CBC), as openssl
	// pkcs8 -topk8 -v2 aes-256-cbc writes it.
	der, err := pkcs8.MarshalPrivateKey(brokerCert.Key, []byte("key-secret"), nil)
	if err != nil {
		t.Fatal(err)
	}
	encrypted := string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der}))
	withKey := func(password string) config.SSL {
		s := pemSettings(t, brokerCert)
		s.KeystoreKey, s.KeyPassword = encrypted, password
		return s
	}

	l := newListener(t, withKey("key-secret"))
	r := handshake(t, l, &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if r.clientErr != nil || !r.client.PeerCertificates[0].Equal(brokerCert.Cert) {
		t.Fatalf("handshake with the decrypted key: %v", r.clientErr)
	}
	for password, want := range map[string]string{"wrong": "is ssl.key.password right?", "": "set ssl.key.password"} {
		if _, err := NewListener("SSL", withKey(password), zerolog.Nop()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ssl.key.password %q: %v, want an error saying %q", password, err, want)
		}
	}
}
