package broker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/tlsconf"
	"github.com/samsa-io/samsa/wire"
)

// tlsDialer wraps dial (nil: TCP) in TLS for an SSL or SASL_SSL
// inter-broker listener: the listener's trust store checks the peer, its
// key store answers a peer that asks for a client certificate, and
// ssl.endpoint.identification.algorithm decides whether the peer's host
// name is checked, as Kafka's inter-broker client does. settings are
// read at each dial, so a key or trust store changed by AlterConfigs (or
// rewritten in place) is used by the next connection to a peer.
func tlsDialer(dial wire.DialFunc, settings func() config.SSL) wire.DialFunc {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		cfg, err := tlsconf.ClientConfig(settings(), host)
		if err != nil {
			return nil, fmt.Errorf("inter-broker TLS: %w", err)
		}
		var nc net.Conn
		if dial != nil {
			nc, err = dial(ctx, addr)
		} else {
			var d net.Dialer
			nc, err = d.DialContext(ctx, "tcp", addr)
		}
		if err != nil {
			return nil, err
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
		}
		return tc, nil
	}
}
