package wire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// DefaultMaxRequestBytes is Kafka's socket.request.max.bytes default.
const DefaultMaxRequestBytes = 100 * 1024 * 1024

// maxInFlight bounds the requests a connection may have read but not yet
// answered. The reader stops reading when it is reached, which pushes back
// on a client that pipelines faster than the broker serves.
const maxInFlight = 64

// ServerConfig configures a Server.
type ServerConfig struct {
	// MaxRequestBytes is socket.request.max.bytes: a frame claiming more
	// closes the connection. Zero means DefaultMaxRequestBytes.
	MaxRequestBytes int32
	// IdleTimeout is connections.max.idle.ms: a connection with no request
	// in flight for this long is closed. Zero disables it.
	IdleTimeout time.Duration
	// Listener names the listener in Conn.Listener ("PLAINTEXT").
	Listener string
	Logger   zerolog.Logger
}

// Server accepts connections and serves Kafka requests on them.
type Server struct {
	cfg     ServerConfig
	handler Handler

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*serverConn]struct{}
	shutdown  bool
	active    sync.WaitGroup // one per connection

	nextConnID atomic.Uint64
}

// NewServer returns a server that hands requests to h.
func NewServer(cfg ServerConfig, h Handler) *Server {
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.Listener == "" {
		cfg.Listener = "PLAINTEXT"
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, handler: h, ctx: ctx, cancel: cancel, conns: make(map[*serverConn]struct{})}
}

// ErrServerClosed is returned by Serve on a server that was shut down
// before Serve was called.
var ErrServerClosed = errors.New("wire: server closed")

// Serve accepts connections on l until Shutdown. It returns nil after
// Shutdown and the accept error otherwise.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()

	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			down := s.shutdown
			s.mu.Unlock()
			if down {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				// Out of file descriptors or a transient error: wait
				// and retry rather than stop serving.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.cfg.Logger.Warn().Err(err).Dur("retry_in", backoff).Msg("accept")
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept on %s: %w", l.Addr(), err)
		}
		backoff = 0
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		sc := s.newConn(c)
		if sc == nil {
			c.Close()
			continue
		}
		go sc.serve()
	}
}

// Addr returns the address of the first listener, or nil.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.listeners) == 0 {
		return nil
	}
	return s.listeners[0].Addr()
}

// Shutdown stops accepting connections, stops reading new requests, and
// waits until the requests already read were answered or ctx ends; then it
// closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	for _, l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.stopReading()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.active.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.cancel()
	s.mu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.mu.Unlock()
	<-done
	return err
}

func (s *Server) newConn(nc net.Conn) *serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return nil
	}
	ctx, cancel := context.WithCancel(s.ctx)
	c := &serverConn{
		srv:    s,
		nc:     nc,
		ctx:    ctx,
		cancel: cancel,
		conn: &Conn{
			ID:         s.nextConnID.Add(1),
			RemoteAddr: nc.RemoteAddr(),
			LocalAddr:  nc.LocalAddr(),
			Listener:   s.cfg.Listener,
			Principal:  "User:ANONYMOUS",
		},
		requests:  make(chan *Request, maxInFlight),
		responses: make(chan pending, maxInFlight),
	}
	c.log = s.cfg.Logger.With().Uint64("conn", c.conn.ID).Str("remote", nc.RemoteAddr().String()).Logger()
	s.conns[c] = struct{}{}
	s.active.Add(1)
	return c
}

func (s *Server) removeConn(c *serverConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.active.Done()
}

// serverConn is one client connection: a reader goroutine, a handler
// goroutine and a writer goroutine joined by two channels.
type serverConn struct {
	srv    *Server
	nc     net.Conn
	conn   *Conn
	log    zerolog.Logger
	ctx    context.Context
	cancel context.CancelFunc

	requests  chan *Request // reader → handler
	responses chan pending  // handler → writer

	// inFlight counts requests read and not yet answered, for the idle
	// timeout.
	inFlight atomic.Int32
	// stopping is set by Shutdown: the reader stops taking requests.
	stopping atomic.Bool
}

// pending is one answer on its way to the writer: a response, or nil for
// a request that gets none.
type pending struct {
	correlationID int32
	resp          *Response
}

func (c *serverConn) stopReading() {
	c.stopping.Store(true)
	// Wake a reader blocked in Read; it sees stopping and exits.
	c.nc.SetReadDeadline(time.Now())
}

func (c *serverConn) serve() {
	defer c.srv.removeConn(c)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.handleLoop()
	}()
	go func() {
		defer wg.Done()
		c.writeLoop()
	}()
	c.readLoop()
	close(c.requests)
	wg.Wait()
	c.cancel()
	c.nc.Close()
}

// readLoop reads frames until the connection fails or the server stops.
func (c *serverConn) readLoop() {
	br := bufio.NewReaderSize(c.nc, 64*1024)
	fr := frameReader{r: br, max: c.srv.cfg.MaxRequestBytes}
	for {
		if c.stopping.Load() {
			return
		}
		if idle := c.srv.cfg.IdleTimeout; idle > 0 {
			c.nc.SetReadDeadline(time.Now().Add(idle))
			if c.stopping.Load() { // Shutdown may have set its deadline first
				return
			}
		}
		frame, err := fr.next()
		if err != nil {
			var ne net.Error
			switch {
			case c.stopping.Load():
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			case errors.As(err, &ne) && ne.Timeout():
				if c.inFlight.Load() > 0 {
					// A slow request (a long Fetch wait) is not
					// idleness: keep reading.
					continue
				}
				c.log.Debug().Dur("idle", c.srv.cfg.IdleTimeout).Msg("closing idle connection")
			default:
				c.log.Warn().Err(err).Msg("closing connection")
			}
			return
		}
		req, err := ParseRequest(*frame)
		if err != nil {
			putFrame(frame)
			c.log.Warn().Err(err).Msg("closing connection: bad request header")
			return
		}
		req.frame = frame
		c.inFlight.Add(1)
		select {
		case c.requests <- req:
		case <-c.ctx.Done():
			return
		}
	}
}

// handleLoop calls the handler for each request, in order.
func (c *serverConn) handleLoop() {
	defer close(c.responses)
	for req := range c.requests {
		resp, err := c.call(req)
		putFrame(req.frame)
		req.frame, req.Body = nil, nil
		if err != nil {
			c.log.Warn().Err(err).Int16("api_key", req.APIKey).Int16("api_version", req.APIVersion).
				Str("client_id", req.ClientID).Msg("closing connection: request failed")
			c.abort()
			c.drain()
			return
		}
		select {
		case c.responses <- pending{correlationID: req.CorrelationID, resp: resp}:
		case <-c.ctx.Done():
			release(resp)
			c.drain()
			return
		}
	}
}

// call runs the handler, turning a panic into an error that closes only
// this connection.
func (c *serverConn) call(req *Request) (resp *Response, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error().Str("stack", string(debug.Stack())).Msgf("handler panic: %v", r)
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return c.srv.handler.ServeKafka(c.ctx, c.conn, req)
}

// abort stops the reader: after a failed request the connection is not
// trusted. Responses already queued are still written.
func (c *serverConn) abort() {
	c.stopping.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

// drain empties the request queue so the reader never blocks on it.
func (c *serverConn) drain() {
	go func() {
		for range c.requests {
		}
	}()
}

// writeLoop writes responses in request order.
func (c *serverConn) writeLoop() {
	bw := bufio.NewWriterSize(c.nc, 64*1024)
	var failed bool
	for p := range c.responses {
		c.inFlight.Add(-1)
		if p.resp == nil {
			continue
		}
		if !failed {
			if err := c.writeResponse(bw, p); err != nil {
				failed = true
				c.log.Debug().Err(err).Msg("write response")
				c.cancel()
				c.nc.Close()
			}
		}
		release(p.resp)
		if !failed && len(c.responses) == 0 {
			if err := bw.Flush(); err != nil {
				failed = true
				c.cancel()
				c.nc.Close()
			}
		}
	}
	if !failed {
		bw.Flush()
	}
}

func release(r *Response) {
	if r != nil && r.Done != nil {
		r.Done()
	}
}

func (c *serverConn) writeResponse(bw *bufio.Writer, p pending) error {
	var hdr [9]byte
	size := int64(4)
	if p.resp.FlexibleHeader {
		size++
	}
	for _, part := range p.resp.Parts {
		size += part.Size()
	}
	if size > int64(^uint32(0)>>1) {
		return fmt.Errorf("response of %d bytes does not fit a frame", size)
	}
	binary.BigEndian.PutUint32(hdr[0:], uint32(size))
	binary.BigEndian.PutUint32(hdr[4:], uint32(p.correlationID))
	n := 8
	if p.resp.FlexibleHeader {
		hdr[8] = 0 // no tagged fields
		n = 9
	}
	if _, err := bw.Write(hdr[:n]); err != nil {
		return err
	}
	for _, part := range p.resp.Parts {
		if part.File == nil {
			if _, err := bw.Write(part.Bytes); err != nil {
				return err
			}
			continue
		}
		if part.Length == 0 {
			continue
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if err := sendFile(c.nc, part.File, part.FileOffset, part.Length); err != nil {
			return fmt.Errorf("send %d bytes of %s: %w", part.Length, part.File.Name(), err)
		}
	}
	return nil
}

// errShortFile means a file range ended early (the file was truncated):
// the frame cannot be completed, so the connection must close.
var errShortFile = errors.New("file shorter than the range to send")

// sendFile writes length bytes of f from offset to the connection. On TCP
// it uses sendfile(2) with an explicit offset, so the bytes go from the
// page cache to the socket without passing through user space and the
// file's own position (shared with other readers) is untouched.
func sendFile(nc net.Conn, f *os.File, offset, length int64) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return copyFileRange(nc, f, offset, length)
	}
	src, err := f.SyscallConn()
	if err != nil {
		return copyFileRange(nc, f, offset, length)
	}
	dst, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var fileErr error
	cerr := src.Control(func(ffd uintptr) {
		var sendErr error
		werr := dst.Write(func(sfd uintptr) bool {
			for length > 0 {
				chunk := min(length, 1<<30)
				n, err := unix.Sendfile(int(sfd), int(ffd), &offset, int(chunk))
				if n > 0 {
					length -= int64(n)
				}
				switch {
				case err == unix.EAGAIN:
					return false // wait until writable
				case err == unix.EINTR:
					continue
				case err != nil:
					sendErr = err
					return true
				case n == 0:
					sendErr = errShortFile
					return true
				}
			}
			return true
		})
		if sendErr == nil {
			sendErr = werr
		}
		fileErr = sendErr
	})
	if cerr != nil {
		return cerr
	}
	return fileErr
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64*1024); return &b }}

// copyFileRange is the portable path: pread into a pooled buffer, write.
func copyFileRange(w io.Writer, f *os.File, offset, length int64) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for length > 0 {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), length)], offset)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			offset += int64(n)
			length -= int64(n)
		}
		if err != nil && length > 0 {
			if errors.Is(err, io.EOF) {
				return errShortFile
			}
			return err
		}
	}
	return nil
}
