package wire

import (
	"context"
	"encoding/binary"
	"io"
	"testing"
)

func TestCloseAfterWritesTheResponseThenCloses(t *testing.T) {
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		resp, err := echo(ctx, c, r)
		resp.CloseAfter = r.CorrelationID == 1
		return resp, err
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	c.Write(append(frame(36, 1, 1, "", nil), frame(3, 1, 2, "", nil)...))
	if corr, _ := readResponse(t, c); corr != 1 {
		t.Fatalf("first response has correlation ID %d", corr)
	}
	expectClosed(t, c)
}

// TestRawSASLTokensFollowAHandshakeV0WhenTheHandlerSaysSo drives the
// pre-KIP-152 flow: after SaslHandshake v0 the handler turns raw tokens
// on; two short raw frames (shorter than any request header) come to it
// as tokens and are answered without a response header; then requests
// again.
func TestRawSASLTokensFollowAHandshakeV0WhenTheHandlerSaysSo(t *testing.T) {
	tokens := 0
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		switch {
		case r.RawSASL:
			tokens++
			c.ReadRawSASLTokens(tokens < 2)
			return &Response{RawSASL: true, Parts: []Part{{Bytes: append([]byte("re:"), r.Body...)}}}, nil
		case r.APIKey == 17 && r.APIVersion == 0:
			c.ReadRawSASLTokens(true)
		}
		return echo(ctx, c, r)
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	rawToken := func(b string) []byte { return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...) }
	readRaw := func() string {
		var size [4]byte
		if _, err := io.ReadFull(c, size[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	c.Write(frame(17, 0, 1, "", []byte("mech")))
	if corr, _ := readResponse(t, c); corr != 1 {
		t.Fatalf("handshake answered with correlation ID %d", corr)
	}
	c.Write(rawToken("a"))
	if got := readRaw(); got != "re:a" {
		t.Fatalf("first raw reply %q", got)
	}
	c.Write(append(rawToken("bc"), frame(3, 1, 2, "", nil)...))
	if got := readRaw(); got != "re:bc" {
		t.Fatalf("second raw reply %q", got)
	}
	if corr, body := readResponse(t, c); corr != 2 || binary.BigEndian.Uint16(body) != 3 {
		t.Fatalf("request after the raw tokens: correlation ID %d, body %x", corr, body)
	}
}
