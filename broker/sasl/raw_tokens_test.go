package sasl_test

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
	xscram "github.com/xdg-go/scram"

	"github.com/samsa-io/samsa/broker/embedded"
)

// v0Conn speaks Kafka's pre-KIP-152 SASL flow, as kafka-python 2.0 does:
// SaslHandshake v0, then size-prefixed raw tokens both ways.
type v0Conn struct {
	t    *testing.T
	nc   net.Conn
	corr int32
}

func dialV0(t *testing.T, addr string) *v0Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &v0Conn{t: t, nc: nc}
}

// request sends req and reads its response (response header v0).
func (c *v0Conn) request(req kmsg.Request) (kmsg.Response, error) {
	c.corr++
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("v0")).AppendRequest(nil, req, c.corr)
	if _, err := c.nc.Write(frame); err != nil {
		return nil, err
	}
	body, err := c.readToken()
	if err != nil {
		return nil, err
	}
	resp := req.ResponseKind()
	return resp, resp.ReadFrom(body[4:]) // after the correlation ID
}

func (c *v0Conn) writeToken(token []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(binary.BigEndian.AppendUint32(nil, uint32(len(token)))); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.nc.Write(token); err != nil {
		c.t.Fatal(err)
	}
}

func (c *v0Conn) readToken() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.nc, size[:]); err != nil {
		return nil, err
	}
	token := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.nc, token)
	return token, err
}

func (c *v0Conn) handshakeV0(mechanism string) {
	c.t.Helper()
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 0, mechanism
	resp, err := c.request(hs)
	if err != nil || resp.(*kmsg.SASLHandshakeResponse).ErrorCode != 0 {
		c.t.Fatalf("SaslHandshake v0 %s: %v %+v", mechanism, err, resp)
	}
}

func (c *v0Conn) requireMetadataServed() {
	c.t.Helper()
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 1
	if _, err := c.request(md); err != nil {
		c.t.Fatalf("Metadata after a raw login: %v", err)
	}
}

func TestRawPlainTokenAfterHandshakeV0LogsIn(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides()})
	conn := dialV0(t, c.Seeds()[0])
	conn.handshakeV0("PLAIN")
	conn.writeToken([]byte("alice\x00alice\x00alice-secret"))
	if reply, err := conn.readToken(); err != nil || len(reply) != 0 {
		t.Fatalf("reply to a good PLAIN token: %q %v, want an empty token", reply, err)
	}
	conn.requireMetadataServed()
}

func TestWrongRawPlainTokenClosesTheConnection(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: saslOverrides()})
	conn := dialV0(t, c.Seeds()[0])
	conn.handshakeV0("PLAIN")
	conn.writeToken([]byte("\x00alice\x00wrong"))
	if reply, err := conn.readToken(); !errors.Is(err, io.EOF) {
		t.Fatalf("reply to a wrong PLAIN token: %q %v, want the connection closed", reply, err)
	}
}

func TestRawSCRAMTokensAfterHandshakeV0LogIn(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: scramOverrides()})
	upsertSCRAM(t, adminClient(t, c), kadm.UpsertSCRAM{User: "frank", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "pw"})
	conn := dialV0(t, c.Seeds()[0])
	conn.handshakeV0("SCRAM-SHA-512")
	client, err := xscram.SHA512.NewClient("frank", "pw", "")
	if err != nil {
		t.Fatal(err)
	}
	conv := client.NewConversation()
	msg, err := conv.Step("")
	for err == nil && !conv.Done() {
		conn.writeToken([]byte(msg))
		reply, rerr := conn.readToken()
		if rerr != nil {
			t.Fatalf("raw SCRAM exchange: %v", rerr)
		}
		msg, err = conv.Step(string(reply))
	}
	if err != nil || !conv.Valid() {
		t.Fatalf("raw SCRAM login: %v (server signature valid: %v)", err, conv.Valid())
	}
	conn.requireMetadataServed()
}
