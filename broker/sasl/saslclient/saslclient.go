// Package saslclient is the client side of the broker's SASL mechanisms:
// it logs a broker in to another broker's SASL listener (the
// inter-broker listener, with sasl.mechanism.inter.broker.protocol and
// the username and password of the listener's JAAS line, as Kafka's
// brokers do) before the connection carries any other request.
package saslclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	xscram "github.com/xdg-go/scram"

	"github.com/samsa-io/samsa/wire"
)

// Credentials are what a broker logs in with.
type Credentials struct {
	Mechanism string // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	User      string
	Password  string
}

// Dialer returns a DialFunc that dials through dial (nil: TCP) and logs
// in with creds before handing the connection out.
func Dialer(dial wire.DialFunc, creds Credentials) wire.DialFunc {
	if dial == nil {
		dial = func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	return func(ctx context.Context, addr string) (net.Conn, error) {
		nc, err := dial(ctx, addr)
		if err != nil {
			return nil, err
		}
		if err := Authenticate(ctx, nc, creds); err != nil {
			nc.Close()
			return nil, fmt.Errorf("SASL login to %s: %w", addr, err)
		}
		nc.SetDeadline(time.Time{})
		return nc, nil
	}
}

// Authenticate runs SaslHandshake v1 and SaslAuthenticate v1 on nc. The
// broker answers each request before the next is sent, so nothing is
// left buffered on nc when it returns.
func Authenticate(ctx context.Context, nc net.Conn, creds Credentials) error {
	cl, err := wire.DialWith(ctx, func(context.Context, string) (net.Conn, error) { return nc, nil }, nc.RemoteAddr().String(), "samsa-sasl")
	if err != nil {
		return err
	}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, creds.Mechanism
	resp, err := cl.Request(ctx, hs)
	if err != nil {
		return fmt.Errorf("SaslHandshake: %w", err)
	}
	if hr := resp.(*kmsg.SASLHandshakeResponse); hr.ErrorCode != 0 {
		return fmt.Errorf("SaslHandshake %s: %w (the listener enables %v)", creds.Mechanism, kerr.ErrorForCode(hr.ErrorCode), hr.SupportedMechanisms)
	}
	step, err := conversation(creds)
	if err != nil {
		return err
	}
	var server []byte
	for {
		msg, done, err := step(server)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		auth := kmsg.NewPtrSASLAuthenticateRequest()
		auth.Version, auth.SASLAuthBytes = 1, msg
		resp, err := cl.Request(ctx, auth)
		if err != nil {
			return fmt.Errorf("SaslAuthenticate: %w", err)
		}
		ar := resp.(*kmsg.SASLAuthenticateResponse)
		if ar.ErrorCode != 0 {
			text := ""
			if ar.ErrorMessage != nil {
				text = ": " + *ar.ErrorMessage
			}
			return fmt.Errorf("SaslAuthenticate: %w%s", kerr.ErrorForCode(ar.ErrorCode), text)
		}
		server = ar.SASLAuthBytes
	}
}

// conversation returns the client's steps: each takes the server's last
// message (nil at first) and returns the next message to send, or done.
func conversation(creds Credentials) (func(server []byte) ([]byte, bool, error), error) {
	switch creds.Mechanism {
	case "PLAIN":
		sent := false
		return func([]byte) ([]byte, bool, error) {
			if sent {
				return nil, true, nil
			}
			sent = true
			return []byte("\x00" + creds.User + "\x00" + creds.Password), false, nil
		}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		hash := xscram.SHA256
		if creds.Mechanism == "SCRAM-SHA-512" {
			hash = xscram.SHA512
		}
		client, err := hash.NewClient(creds.User, creds.Password, "")
		if err != nil {
			return nil, fmt.Errorf("SCRAM client: %w", err)
		}
		conv := client.NewConversation()
		first := true
		return func(server []byte) ([]byte, bool, error) {
			if !first && conv.Done() {
				if !conv.Valid() {
					return nil, false, errors.New("the broker's SCRAM signature is invalid")
				}
				return nil, true, nil
			}
			first = false
			msg, err := conv.Step(string(server))
			if err != nil {
				return nil, false, fmt.Errorf("SCRAM: %w", err)
			}
			if conv.Done() && msg == "" {
				return nil, true, nil
			}
			return []byte(msg), false, nil
		}, nil
	}
	return nil, fmt.Errorf("no SASL client for mechanism %s", creds.Mechanism)
}
