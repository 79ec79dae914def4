package broker

import (
	"context"
	"crypto/tls"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/tlsconf/tlstest"
)

// The inter-broker TLS client reads its listener's settings at each
// dial: a trust store changed while the broker runs is used by the next
// connection to a peer.
func TestInterBrokerTLSDialReadsTheListenerSettingsAtEachDial(t *testing.T) {
	oldCA, newCA := tlstest.NewCA(t, "old CA"), tlstest.NewCA(t, "new CA")
	peer := newCA.Server(t, "peer")
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{peer.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	var trusted atomic.Pointer[tlstest.CA]
	trusted.Store(oldCA)
	dial := tlsDialer(nil, func() config.SSL {
		return config.SSL{TruststoreType: "PEM", TruststoreCertificates: trusted.Load().PEM(),
			EnabledProtocols: []string{"TLSv1.2", "TLSv1.3"}, EndpointIdentificationAlgorithm: "https"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if c, err := dial(ctx, l.Addr().String()); err == nil {
		c.Close()
		t.Fatal("a peer signed by a CA the trust store does not hold was accepted")
	}
	trusted.Store(newCA)
	c, err := dial(ctx, l.Addr().String())
	if err != nil {
		t.Fatalf("after the trust store changed: %v", err)
	}
	c.Close()
}
