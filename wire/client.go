package wire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client is one connection from this broker to another: followers fetch
// from leaders through it, and a stopping broker asks the controller for a
// controlled shutdown. It sends one request at a time and waits for its
// response, which is all inter-broker traffic needs.
type Client struct {
	nc       net.Conn
	r        *bufio.Reader
	clientID string
	maxSize  int32

	mu     sync.Mutex
	corr   int32
	broken error
}

// ErrClientClosed is returned by a Client whose connection failed or was
// closed; dial again.
var ErrClientClosed = errors.New("wire: client connection closed")

// DialFunc opens a connection to addr ("host:port"). A broker makes every
// connection to another broker through one (broker.Options.Dial), so a
// test harness can cut a broker off from the others by failing its dials
// and closing the connections it handed out. The default is TCP.
type DialFunc func(ctx context.Context, addr string) (net.Conn, error)

// Dial connects to addr over TCP. clientID names this broker in the
// peer's logs.
func Dial(ctx context.Context, addr, clientID string) (*Client, error) {
	return DialWith(ctx, nil, addr, clientID)
}

// DialWith is Dial through dial; nil means TCP.
func DialWith(ctx context.Context, dial DialFunc, addr, clientID string) (*Client, error) {
	if dial == nil {
		dial = dialTCP
	}
	nc, err := dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return &Client{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), clientID: clientID, maxSize: DefaultMaxRequestBytes}, nil
}

func dialTCP(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// Close closes the connection.
func (c *Client) Close() error { return c.nc.Close() }

// Request sends req (its version set by the caller) and decodes the
// response. A failure leaves the client broken: later calls return
// ErrClientClosed.
func (c *Client) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, fmt.Errorf("%w: %v", ErrClientClosed, c.broken)
	}
	resp, err := c.roundTrip(ctx, req)
	if err != nil {
		c.broken = err
		c.nc.Close()
	}
	return resp, err
}

func (c *Client) roundTrip(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c.corr++
	corr := c.corr
	flexible := req.IsFlexible()
	buf := make([]byte, 4, 256)
	buf = kbin.AppendInt16(buf, req.Key())
	buf = kbin.AppendInt16(buf, req.GetVersion())
	buf = kbin.AppendInt32(buf, corr)
	buf = kbin.AppendNullableString(buf, &c.clientID)
	if flexible {
		buf = append(buf, 0) // no header tags
	}
	buf = req.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))

	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Time{}
	}
	c.nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Now()) })
	defer stop()
	if _, err := c.nc.Write(buf); err != nil {
		return nil, ctxErr(ctx, err)
	}
	var sizeBuf [4]byte
	if _, err := io.ReadFull(c.r, sizeBuf[:]); err != nil {
		return nil, ctxErr(ctx, err)
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 4 || size > c.maxSize {
		return nil, fmt.Errorf("response frame of %d bytes", size)
	}
	frame := make([]byte, size)
	if _, err := io.ReadFull(c.r, frame); err != nil {
		return nil, ctxErr(ctx, err)
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != corr {
		return nil, fmt.Errorf("response correlation id %d, want %d", got, corr)
	}
	body := frame[4:]
	// Flexible responses have a tagged-field header, except ApiVersions
	// (KIP-511).
	if flexible && req.Key() != int16(kmsg.ApiVersions) {
		var err error
		if body, err = skipTags(body); err != nil {
			return nil, fmt.Errorf("response header: %w", err)
		}
	}
	resp := req.ResponseKind()
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode %s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

// ctxErr reports a failure caused by the context as the context's error:
// the socket deadline is the context's, and may fire a moment before the
// context itself says it is done.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne net.Error
	if deadline, ok := ctx.Deadline(); ok && errors.As(err, &ne) && ne.Timeout() && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return err
}
