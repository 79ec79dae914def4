package wire

import (
	"bufio"
	"context"
	"crypto/tls"
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

	"github.com/samsa-io/samsa/log/throttle"
	"github.com/samsa-io/samsa/wire/membudget"
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
	// in flight for this long is closed, and so is one whose client has
	// not taken a byte of a response for this long (it stopped reading).
	// Zero disables both.
	IdleTimeout time.Duration
	// RequestBudget bounds the bytes of requests being read, waiting and
	// being served (queued.max.request.bytes), shared by every listener
	// of the broker. Nil means unbounded.
	RequestBudget *membudget.Budget
	// Limits are the connection quotas (max.connections,
	// max.connections.per.ip), shared by every listener. Nil means none.
	Limits *ConnLimits
	// Listener names the listener in Conn.Listener ("PLAINTEXT").
	Listener string
	// TLS, when set, makes the listener speak TLS (SSL and SASL_SSL
	// listeners): each connection's handshake runs on the connection's
	// own goroutine before its first request is read, within
	// HandshakeTimeout. Certificates may change between handshakes
	// (tls.Config.GetConfigForClient).
	TLS *tls.Config
	// TLSPrincipal, when set, gives a TLS connection's Conn.Principal
	// from its handshake (SSL listeners: the client certificate's
	// mapped name). An error closes the connection.
	TLSPrincipal func(tls.ConnectionState) (string, error)
	Logger       zerolog.Logger
}

// HandshakeTimeout bounds a TLS handshake, so a client that connects and
// stays silent does not hold a connection slot.
const HandshakeTimeout = 10 * time.Second

// warnInterval is how often the same warning about the same client
// address is logged; the ones in between are counted.
const warnInterval = 10 * time.Second

// Server accepts connections and serves Kafka requests on them.
type Server struct {
	cfg     ServerConfig
	handler Handler

	ctx    context.Context
	cancel context.CancelFunc

	// draining is cancelled when Shutdown starts: handlers waiting for
	// something (a fetch for records) answer with what they have.
	draining context.Context
	drain    context.CancelFunc

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[*serverConn]struct{}
	shutdown  bool
	active    sync.WaitGroup // one per connection

	nextConnID atomic.Uint64
	warnings   *throttle.Throttle
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
	draining, drain := context.WithCancel(ctx)
	return &Server{cfg: cfg, handler: h, ctx: ctx, cancel: cancel, draining: draining, drain: drain,
		conns: make(map[*serverConn]struct{}), warnings: throttle.New(warnInterval)}
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
	var pause time.Duration // a connection creation rate's (creation_rate.go)
	for {
		if pause > 0 && !s.pauseAccepting(pause) {
			return nil // shut down
		}
		if lim := s.cfg.Limits; lim != nil {
			// max.connections: stop accepting until a connection closes.
			if err := lim.waitForSlot(s.draining); err != nil {
				return nil // shut down
			}
		}
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
		var releaseSlot func()
		if lim := s.cfg.Limits; lim != nil {
			// Connection creation rates (creation_rate.go).
			var closeAfter time.Duration
			if pause, closeAfter = lim.creationDelay(s.cfg.Listener, c.RemoteAddr()); closeAfter > 0 {
				go s.closeLater(c, closeAfter)
				continue
			}
			if releaseSlot, err = lim.admit(c.RemoteAddr()); err != nil {
				s.warnings.Warn(s.cfg.Logger, addrIP(c.RemoteAddr()).String(), "rejected connection",
					func(e *zerolog.Event) *zerolog.Event { return e.Str("remote", c.RemoteAddr().String()).Err(err) })
				c.Close()
				continue
			}
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		sc := s.newConn(c, releaseSlot)
		if sc == nil {
			c.Close()
			if releaseSlot != nil {
				releaseSlot()
			}
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

// Shutdown stops accepting connections and reading requests, tells the
// handlers still waiting for something (a fetch waiting for records, an
// acks=all produce) to answer now, and waits until the requests already
// read were answered or ctx ends; then it closes every connection. A
// client that does not read its responses therefore delays Shutdown by
// no more than ctx allows.
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
	s.drain()

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
	// Every connection is closed and every handler told to stop; one that
	// does not (stuck in a disk write, say) is not waited for past
	// abandonWait, so shutdown stays bounded whatever a handler does.
	select {
	case <-done:
	case <-time.After(abandonWait):
		return fmt.Errorf("%w: handlers still running after their connections were closed", ErrHandlersAbandoned)
	}
	return err
}

// abandonWait is how long Shutdown waits for handlers after closing their
// connections.
const abandonWait = 2 * time.Second

// ErrHandlersAbandoned is returned by Shutdown when handlers were still
// running after their connections were closed.
var ErrHandlersAbandoned = errors.New("wire: shutdown left handlers running")

func (s *Server) newConn(nc net.Conn, releaseSlot func()) *serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return nil
	}
	ctx, cancel := context.WithCancel(s.ctx)
	readCtx, stopRead := context.WithCancel(ctx)
	handlerCtx, stopHandlers := context.WithCancel(s.draining)
	context.AfterFunc(ctx, stopHandlers)
	c := &serverConn{
		srv:          s,
		nc:           nc,
		stream:       nc,
		ctx:          ctx,
		cancel:       cancel,
		readCtx:      readCtx,
		stopRead:     stopRead,
		handlerCtx:   handlerCtx,
		stopHandlers: stopHandlers,
		releaseSlot:  releaseSlot,
		conn: &Conn{
			ID:         s.nextConnID.Add(1),
			RemoteAddr: nc.RemoteAddr(),
			LocalAddr:  nc.LocalAddr(),
			Listener:   s.cfg.Listener,
			Principal:  "User:ANONYMOUS",
		},
		requests:   make(chan *Request, maxInFlight),
		responses:  make(chan pending, maxInFlight),
		rawDecided: make(chan bool, 1),
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
	if c.releaseSlot != nil {
		c.releaseSlot()
	}
	s.active.Done()
}

// serverConn is one client connection: a reader goroutine, a handler
// goroutine and a writer goroutine joined by two channels.
type serverConn struct {
	srv *Server
	nc  net.Conn // the TCP connection: deadlines, close, socket state
	// stream carries the Kafka bytes: nc, or the TLS connection over it.
	stream net.Conn
	conn   *Conn
	log    zerolog.Logger
	ctx    context.Context // the connection's life
	cancel context.CancelFunc
	// readCtx ends waits of the reader (for the request budget) when the
	// reader must stop.
	readCtx  context.Context
	stopRead context.CancelFunc
	// handlerCtx is what handlers get: it ends when the client leaves or
	// the server starts draining.
	handlerCtx   context.Context
	stopHandlers context.CancelFunc
	releaseSlot  func() // gives back the connection's quota; nil without limits

	requests  chan *Request // reader → handler
	responses chan pending  // handler → writer
	// rawDecided carries, after each SaslHandshake v0 request or raw SASL
	// token, whether the next frames are raw tokens (handler → reader).
	rawDecided chan bool

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
	// Wake a reader blocked in Read or waiting for the budget; it sees
	// stopping and exits.
	c.nc.SetReadDeadline(time.Now())
	c.stopRead()
}

// source names the client in rate-limited warnings: its address.
func (c *serverConn) source() string { return addrIP(c.conn.RemoteAddr).String() }

// warn logs a warning about this connection, at most once per
// warnInterval for the same message from the same address.
func (c *serverConn) warn(msg string, fill func(*zerolog.Event) *zerolog.Event) {
	c.srv.warnings.Warn(c.log, c.source(), msg, fill)
}

func (c *serverConn) serve() {
	defer c.srv.removeConn(c)
	if c.srv.cfg.TLS != nil {
		if err := c.handshake(); err != nil {
			c.warn("TLS handshake failed", func(e *zerolog.Event) *zerolog.Event { return e.Err(err) })
			c.cancel()
			c.nc.Close()
			return
		}
	}
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
	// The client is gone (or the server stops): handlers still working
	// for it stop waiting, and long ones (a CreateTopics of thousands)
	// stop early, as no one will read their answers.
	c.stopHandlers()
	close(c.requests)
	wg.Wait()
	c.cancel()
	c.nc.Close()
}

// handshake runs the TLS handshake and sets the connection's principal.
func (c *serverConn) handshake() error {
	tc := tls.Server(c.nc, c.srv.cfg.TLS)
	ctx, cancel := context.WithTimeout(c.readCtx, HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	if f := c.srv.cfg.TLSPrincipal; f != nil {
		p, err := f(tc.ConnectionState())
		if err != nil {
			return fmt.Errorf("principal: %w", err)
		}
		c.conn.Principal = p
	}
	c.stream = tc
	c.log.Debug().Str("tls_version", tls.VersionName(tc.ConnectionState().Version)).
		Str("principal", c.conn.Principal).Msg("TLS handshake done")
	return nil
}

// readLoop reads frames until the connection fails or the server stops.
func (c *serverConn) readLoop() {
	br := bufio.NewReaderSize(c.stream, 16*1024)
	fr := frameReader{
		r:        br,
		max:      c.srv.cfg.MaxRequestBytes,
		budget:   c.srv.cfg.RequestBudget,
		waitCtx:  c.readCtx,
		idle:     func() bool { return c.inFlight.Load() == 0 },
		peerGone: peerClosedFunc(c.nc),
	}
	defer fr.discard()
	rawSASL := false // the next frame is a raw SASL token
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
		frame, held, err := fr.next()
		if err != nil {
			var ne net.Error
			switch {
			case c.stopping.Load(), c.readCtx.Err() != nil:
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			case errors.As(err, &ne) && ne.Timeout():
				if c.inFlight.Load() > 0 {
					// A slow request (a long Fetch wait) is not
					// idleness: keep reading.
					continue
				}
				c.log.Debug().Dur("idle", c.srv.cfg.IdleTimeout).Msg("closing idle connection")
			default:
				c.warn("closing connection: bad frame", func(e *zerolog.Event) *zerolog.Event { return e.Err(err) })
			}
			return
		}
		var req *Request
		if rawSASL {
			req = &Request{RawSASL: true, Body: *frame}
		} else if req, err = ParseRequest(*frame); err != nil {
			releaseFrame(frame, held)
			c.warn("closing connection: bad request header", func(e *zerolog.Event) *zerolog.Event { return e.Err(err) })
			return
		}
		req.frame, req.held = frame, held
		c.inFlight.Add(1)
		select {
		case c.requests <- req:
		case <-c.ctx.Done():
			releaseFrame(req.frame, req.held)
			return
		}
		if decidesRawSASL(req) {
			select {
			case rawSASL = <-c.rawDecided:
				fr.rawSASL = rawSASL
			case <-c.readCtx.Done():
				return
			}
		}
	}
}

// handleLoop calls the handler for each request, in order. A request
// of the same API key as an earlier one whose response has a Finish not
// yet run is handled meanwhile; any other waits for those Finishes.
func (c *serverConn) handleLoop() {
	defer close(c.responses)
	// finishing is closed once the writer has run the Finish of the last
	// response that had one, the answer to a request of finishingKey;
	// the writer runs them in order, so every earlier one is done too.
	var finishing chan struct{}
	var finishingKey int16
	for req := range c.requests {
		if finishing != nil && (req.RawSASL || req.APIKey != finishingKey) {
			select {
			case <-finishing:
			case <-c.ctx.Done():
			}
			finishing = nil
		}
		c.conn.serving = req
		c.conn.rawSASL = false // requests follow unless the handler says otherwise
		resp, err := c.call(req)
		c.conn.serving = nil
		if decidesRawSASL(req) {
			c.rawDecided <- c.conn.rawSASL && err == nil
		}
		releaseFrame(req.frame, req.held)
		req.frame, req.held, req.Body = nil, nil, nil
		if err != nil {
			c.warn("closing connection: request failed", func(e *zerolog.Event) *zerolog.Event {
				return e.Err(err).Int16("api_key", req.APIKey).Int16("api_version", req.APIVersion).Str("client_id", req.ClientID)
			})
			c.abort()
			c.drain()
			return
		}
		if resp != nil && resp.Finish != nil {
			done, finish := make(chan struct{}), resp.Finish
			resp.Finish = func() {
				defer close(done)
				finish()
			}
			finishing, finishingKey = done, req.APIKey
		}
		select {
		case c.responses <- pending{correlationID: req.CorrelationID, resp: resp}:
		case <-c.ctx.Done():
			release(resp)
			c.drain()
			return
		}
		if resp != nil && resp.CloseAfter {
			c.abort()
			c.drain()
			return
		}
		c.conn.waitUnmuted(c.handlerCtx) // a quota throttle (throttle.go)
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
	return c.srv.handler.ServeKafka(c.handlerCtx, c.conn, req)
}

// abort stops the reader: after a failed request the connection is not
// trusted. Responses already queued are still written.
func (c *serverConn) abort() {
	c.stopReading()
}

// drain empties the request queue so the reader never blocks on it.
func (c *serverConn) drain() {
	go func() {
		for req := range c.requests {
			releaseFrame(req.frame, req.held)
		}
	}()
}

// writeLoop writes responses in request order. Each write must make
// progress within the idle timeout: a client that stops reading its
// responses is cut off then, as Kafka's idle check closes a connection
// whose pending send does not move.
func (c *serverConn) writeLoop() {
	var bw *bufio.Writer // made at the first response: idle connections hold none
	out := deadlineWriter{c: c}
	var failed bool
	fail := func(err error) {
		failed = true
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.warn("closing connection: client is not reading its responses", func(e *zerolog.Event) *zerolog.Event {
				return e.Dur("stalled_for", c.srv.cfg.IdleTimeout)
			})
		} else {
			c.log.Debug().Err(err).Msg("write response")
		}
		c.cancel()
		c.nc.Close()
	}
	for p := range c.responses {
		if p.resp != nil && p.resp.Finish != nil {
			// It may wait: what is written so far goes out first.
			if !failed && bw != nil && bw.Buffered() > 0 {
				if err := bw.Flush(); err != nil {
					fail(err)
				}
			}
			p.resp.Complete()
		}
		c.inFlight.Add(-1)
		if p.resp == nil {
			continue
		}
		if bw == nil {
			bw = bufio.NewWriterSize(out, 64*1024)
		}
		if !failed {
			if err := c.writeResponse(bw, p); err != nil {
				fail(err)
			}
		}
		release(p.resp)
		if !failed && len(c.responses) == 0 {
			if err := bw.Flush(); err != nil {
				fail(err)
			}
		}
	}
	if !failed && bw != nil {
		bw.Flush()
	}
}

// deadlineWriter writes to the connection with the idle timeout as a
// deadline on each write.
type deadlineWriter struct{ c *serverConn }

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.c.setWriteDeadline()
	return w.c.stream.Write(p)
}

func (c *serverConn) setWriteDeadline() {
	if idle := c.srv.cfg.IdleTimeout; idle > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(idle))
	}
}

func release(r *Response) {
	if r != nil && r.Done != nil {
		r.Done()
	}
}

// decidesRawSASL reports whether the frames after req may be raw SASL
// tokens, which the handler decides: after SaslHandshake v0 and after
// each raw token.
func decidesRawSASL(req *Request) bool {
	const saslHandshake = 17
	return req.RawSASL || (req.APIKey == saslHandshake && req.APIVersion == 0)
}

func (c *serverConn) writeResponse(bw *bufio.Writer, p pending) error {
	var hdr [9]byte
	size := int64(4)
	if p.resp.RawSASL {
		size = 0 // no response header
	}
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
	if p.resp.RawSASL {
		n = 4
	} else if p.resp.FlexibleHeader {
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
		if part.Length <= inlineFileRange {
			if err := inlineFile(bw, part); err != nil {
				return err
			}
			continue
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		rangesSentByFile.Add(1)
		// In steps, each with a fresh write deadline: a slow reader
		// is fine, a stopped one is not.
		for off, end := part.FileOffset, part.FileOffset+part.Length; off < end; {
			step := min(end-off, sendFileStep)
			c.setWriteDeadline()
			if err := sendFile(c.stream, part.File, off, step); err != nil {
				return fmt.Errorf("send %d bytes of %s: %w", part.Length, part.File.Name(), err)
			}
			off += step
		}
	}
	return nil
}

// sendFileStep is how much of a file range goes out under one write
// deadline.
const sendFileStep = 4 << 20

// inlineFileRange is the largest file range copied into the write buffer
// rather than sent with sendfile. Each send to a socket costs far more
// than copying a few KiB from the page cache, and a response sent as
// bytes, sendfile, bytes is three sends: so a follower or consumer at the
// log's end, fetching a batch or two, gets its response in one send;
// larger ranges (a consumer catching up) keep sendfile's zero copy.
const inlineFileRange = 16 << 10

// rangesSentByFile counts the file ranges that went out with sendfile
// rather than inlineFile, for tests.
var rangesSentByFile atomic.Int64

// inlineFile copies a file range into bw's buffer.
func inlineFile(bw *bufio.Writer, part Part) error {
	if bw.Available() < int(part.Length) {
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	buf := bw.AvailableBuffer()[:part.Length]
	n, err := part.File.ReadAt(buf, part.FileOffset)
	if n < len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = errShortFile
		}
		return fmt.Errorf("read %d bytes of %s: %w", part.Length, part.File.Name(), err)
	}
	_, err = bw.Write(buf)
	return err
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
