package wire

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/samsa-io/samsa/broker/tlsconf/tlstest"
)

// tlsServer starts a server whose TLS setup trusts ca for client
// certificates, with principal deciding each connection's principal.
func tlsServer(t *testing.T, ca *tlstest.CA, principal func(tls.ConnectionState) (string, error), h Handler) string {
	t.Helper()
	cfg := &tls.Config{
		Certificates: []tls.Certificate{ca.Server(t, "broker").TLS()},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
	_, addr := startServer(t, ServerConfig{TLS: cfg, TLSPrincipal: principal, Listener: "SSL"}, h)
	return addr
}

func dialTLS(t *testing.T, addr string, ca *tlstest.CA, cert *tlstest.Cert) net.Conn {
	t.Helper()
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{cert.TLS()}
	}
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// subjectCN is a principal function: User:<CN>, ANONYMOUS without a
// certificate, and an error for CN "refused".
func subjectCN(cs tls.ConnectionState) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return "User:ANONYMOUS", nil
	}
	cn := cs.PeerCertificates[0].Subject.CommonName
	if cn == "refused" {
		return "", errors.New("no rule applies")
	}
	return "User:" + cn, nil
}

func TestTLSConnectionsCarryTheirCertificatesPrincipal(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	whoami := handlerFunc(func(_ context.Context, c *Conn, _ *Request) (*Response, error) {
		return BytesResponse(false, []byte(c.Listener+" "+c.Principal)), nil
	})
	addr := tlsServer(t, ca, subjectCN, whoami)
	for _, tc := range []struct {
		cert *tlstest.Cert
		want string
	}{
		{ca.Client(t, pkix.Name{CommonName: "alice"}), "SSL User:alice"},
		{nil, "SSL User:ANONYMOUS"},
	} {
		c := dialTLS(t, addr, ca, tc.cert)
		c.Write(frame(18, 0, 7, "cli", nil))
		if corr, body := readResponse(t, c); corr != 7 || string(body) != tc.want {
			t.Errorf("got %d %q, want 7 %q", corr, body, tc.want)
		}
	}
}

func TestTLSConnectionWhosePrincipalFailsIsClosed(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	addr := tlsServer(t, ca, subjectCN, echo)
	c := dialTLS(t, addr, ca, ca.Client(t, pkix.Name{CommonName: "refused"}))
	c.Write(frame(18, 0, 1, "cli", nil))
	expectClosed(t, c)
}

func TestPlaintextClientOnATLSListenerIsClosed(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	addr := tlsServer(t, ca, subjectCN, echo)
	c := dial(t, addr)
	c.Write(frame(18, 0, 1, "cli", nil))
	expectClosed(t, c)
}

func TestFileRangesAreSentByteExactOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	data := bytes.Repeat([]byte("0123456789abcdef"), 64*1024) // 1 MiB
	path := filepath.Join(t.TempDir(), "segment")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := handlerFunc(func(context.Context, *Conn, *Request) (*Response, error) {
		return &Response{Parts: []Part{{Bytes: []byte("head")}, {File: f, FileOffset: 3, Length: int64(len(data) - 5)}}}, nil
	})
	c := dialTLS(t, tlsServer(t, ca, nil, h), ca, nil)
	c.Write(frame(1, 0, 9, "cli", nil))
	corr, body := readResponse(t, c)
	if corr != 9 || !bytes.Equal(body, append([]byte("head"), data[3:len(data)-2]...)) {
		t.Fatalf("corr %d, %d bytes; want the file range intact", corr, len(body))
	}
}
