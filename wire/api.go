// Package wire serves the Kafka binary protocol over TCP: size-prefixed
// frames, request headers, in-order responses and zero-copy file ranges.
//
// The package knows nothing about what requests mean. It reads frames,
// decodes the request header (v1, or v2 with tagged fields for flexible
// versions, per kmsg's tables), hands each request to a Handler, and writes
// the responses back in request order. A Response may mix byte slices with
// ranges of files; file ranges go to the socket with sendfile(2), so record
// batches travel from the page cache to the client without a copy through
// user space.
//
// Ownership: each connection has one reader goroutine (frames and headers),
// one goroutine that calls the Handler for its requests one at a time, in
// order, as Kafka does, and one writer goroutine. A Handler may block (a
// Fetch waiting for data); later requests on that connection wait for it.
// A Handler may instead hand the wait to the writer (Response.Finish): the
// requests after it with the same API key are handled meanwhile, so
// pipelined acks=all produce requests append at once and wait for their
// replicas together, while any other request still waits as in Kafka.
package wire

import (
	"context"
	"net"
	"os"
	"time"

	"github.com/samsa-io/samsa/wire/membudget"
)

// Request is one request frame with its header decoded.
type Request struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      string
	// HasClientID is false when the header carried a null client id.
	HasClientID bool
	// Body holds the bytes after the request header. It is only valid
	// until the Handler returns.
	Body []byte
	// KnownKey is false when kmsg does not know APIKey or APIVersion; the
	// header was then decoded as header v1 and Body may start with tagged
	// fields.
	KnownKey bool
	// RawSASL is set for a raw SASL token: a frame a client sent after
	// SaslHandshake v0, without a request header (Kafka's pre-KIP-152
	// flow). Body is the whole token; the other fields are zero.
	RawSASL bool

	frame *[]byte           // the buffer Body aliases, recycled after the Handler
	held  *membudget.Holder // the request budget the frame holds until then
}

// Response is what goes back for one request. The wire layer prepends the
// size and the response header (correlation id, plus an empty tagged-field
// section when FlexibleHeader is set).
type Response struct {
	FlexibleHeader bool
	// Parts are written in order. A part is either Bytes or a file range.
	Parts []Part
	// Done, if set, is called once the response was written or dropped
	// (connection closed), to release resources the parts hold (segment
	// files).
	Done func()
	// CloseAfter closes the connection once this response is written,
	// reading no further request: Kafka answers a failed SASL login and
	// then closes.
	CloseAfter bool
	// RawSASL writes the parts as a size-prefixed raw SASL token, without
	// a response header: the answer to a RawSASL request.
	RawSASL bool
	// Finish, when set, completes the response and may block: it fills
	// in the fields above once what the request waits for happened (an
	// acks=all produce's records reached their in-sync replicas). The
	// server runs it on the connection's writer, in request order, just
	// before writing the response, and meanwhile goes on with the
	// connection's next requests of the same API key; a request of any
	// other key waits until every earlier Finish returned, so it sees
	// their effects as it would have after a Handler that blocked. Finish
	// must return soon once the context the Handler got ends. A caller
	// of a Handler other than the server calls Complete.
	Finish func()
}

// Complete runs the response's Finish, if any, and returns the response:
// for callers of a Handler that use the response at once.
func (r *Response) Complete() *Response {
	if r != nil && r.Finish != nil {
		finish := r.Finish
		r.Finish = nil
		finish()
	}
	return r
}

// Part is a run of response bytes: either Bytes, or Length bytes of File
// starting at FileOffset.
type Part struct {
	Bytes      []byte
	File       *os.File
	FileOffset int64
	Length     int64
}

// Size is the number of bytes the part puts on the wire.
func (p Part) Size() int64 {
	if p.File != nil {
		return p.Length
	}
	return int64(len(p.Bytes))
}

// BytesResponse is the common case: a response that is one byte slice.
func BytesResponse(flexibleHeader bool, body []byte) *Response {
	return &Response{FlexibleHeader: flexibleHeader, Parts: []Part{{Bytes: body}}}
}

// Conn is the per-connection state a Handler sees. It is where
// authentication state (SASL principal, TLS identity) will live.
type Conn struct {
	ID         uint64
	RemoteAddr net.Addr
	LocalAddr  net.Addr
	// Listener is the name of the listener that accepted the connection
	// ("PLAINTEXT").
	Listener string
	// Principal is the authenticated principal: "User:<name>" after a
	// SASL login, on an SSL listener the client certificate's mapped name
	// (ServerConfig.TLSPrincipal), otherwise "User:ANONYMOUS".
	Principal string
	// SASL is the Handler's SASL state of the connection (nil until the
	// Handler sets it); the wire layer does not look inside.
	SASL any

	serving *Request // the request the Handler is serving now
	// rawSASL is whether the frames after the request being served are
	// raw SASL tokens (ReadRawSASLTokens).
	rawSASL bool
	// mutedUntil is when the quota throttle set by Throttle ends
	// (throttle.go); only the handler goroutine touches it.
	mutedUntil time.Time
}

// ReadRawSASLTokens tells the wire layer, while a Handler serves a
// SaslHandshake v0 request or a raw SASL token, whether the client's next
// frames are raw SASL tokens (on) or requests again (off). The reader
// waits for this answer after each such request, as the frames that
// follow cannot be told apart by their bytes.
func (c *Conn) ReadRawSASLTokens(on bool) { c.rawSASL = on }

// ReleaseRequest gives back the frame of the request being served (its
// buffer and its share of the request budget) before the Handler
// returns. A Handler calls it once it is done with the request's bytes
// but will still wait a long time: an acks=all produce waiting for its
// followers must not hold the budget the followers' fetches need. The
// request's Body, and whatever was decoded from it without a copy, must
// not be used after.
func (c *Conn) ReleaseRequest() {
	if r := c.serving; r != nil {
		releaseFrame(r.frame, r.held)
		r.frame, r.held, r.Body = nil, nil, nil
	}
}

// Handler serves requests.
//
// ServeKafka returns the response to write, or nil for a request that gets
// no response (Produce with acks=0). A non-nil error means the connection
// can no longer be trusted (a body that does not parse): the connection is
// closed after the responses already queued were written, and the error is
// logged.
type Handler interface {
	ServeKafka(ctx context.Context, conn *Conn, req *Request) (*Response, error)
}
