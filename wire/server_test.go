package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handlerFunc adapts a function to Handler.
type handlerFunc func(ctx context.Context, c *Conn, r *Request) (*Response, error)

func (f handlerFunc) ServeKafka(ctx context.Context, c *Conn, r *Request) (*Response, error) {
	return f(ctx, c, r)
}

// echo answers every request with its body, prefixed by the api key.
var echo = handlerFunc(func(_ context.Context, _ *Conn, r *Request) (*Response, error) {
	out := binary.BigEndian.AppendUint16(nil, uint16(r.APIKey))
	return BytesResponse(false, append(out, r.Body...)), nil
})

func startServer(t *testing.T, cfg ServerConfig, h Handler) (*Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = zerolog.Nop()
	s := NewServer(cfg, h)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after Shutdown", err)
		}
	})
	return s, l.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

// frame builds a request frame with a v1 header (non-flexible).
func frame(key, version int16, corr int32, clientID string, body []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(clientID)))
	b = append(b, clientID...)
	b = append(b, body...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func readResponse(t *testing.T, c net.Conn) (corr int32, body []byte) {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("read response size: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read response: %v", err)
	}
	return int32(binary.BigEndian.Uint32(b)), b[4:]
}

// expectClosed waits for the server to close c.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.Read(make([]byte, 1))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open (read err %v)", err)
	}
}

func TestPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	// The first request is the slowest; its response must still come first.
	slow := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		if r.CorrelationID == 1 {
			time.Sleep(100 * time.Millisecond)
		}
		return echo(ctx, c, r)
	})
	_, addr := startServer(t, ServerConfig{}, slow)
	c := dial(t, addr)
	var all []byte
	for i := int32(1); i <= 20; i++ {
		all = append(all, frame(int16(kmsg.Metadata), 1, i, "cl", []byte{byte(i)})...)
	}
	if _, err := c.Write(all); err != nil {
		t.Fatal(err)
	}
	for i := int32(1); i <= 20; i++ {
		corr, body := readResponse(t, c)
		if corr != i || !bytes.Equal(body, []byte{0, 3, byte(i)}) {
			t.Fatalf("response %d: correlation %d body %v", i, corr, body)
		}
	}
}

// A response that finishes later (an acks=all produce waiting for its
// replicas) lets the connection's next requests of the same API key be
// handled meanwhile; a request of another key waits for it, as after a
// handler that blocked; and the answers still go out in request order.
func TestFinishingResponsesOverlapOnlyRequestsOfTheirKey(t *testing.T) {
	release := make(chan struct{})
	handled := make(chan int32, 10)
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		handled <- r.CorrelationID
		resp, _ := echo(ctx, c, r)
		if r.CorrelationID == 1 {
			parts := resp.Parts
			resp.Parts = nil
			resp.Finish = func() {
				select {
				case <-release:
				case <-ctx.Done():
				}
				resp.Parts = parts
			}
		}
		return resp, nil
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	var all []byte
	all = append(all, frame(int16(kmsg.Produce), 3, 1, "", []byte{1})...)
	all = append(all, frame(int16(kmsg.Produce), 3, 2, "", []byte{2})...)
	all = append(all, frame(int16(kmsg.Metadata), 1, 3, "", []byte{3})...)
	if _, err := c.Write(all); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int32{1, 2} {
		select {
		case got := <-handled:
			if got != want {
				t.Fatalf("handled request %d, want %d", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d (same key as the unfinished request 1) was not handled", want)
		}
	}
	select {
	case got := <-handled:
		t.Fatalf("request %d (another key) was handled before request 1 finished", got)
	case <-time.After(100 * time.Millisecond):
	}
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a response went out before request 1 finished (read %d bytes, %v)", n, err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	close(release)
	if got := <-handled; got != 3 {
		t.Fatalf("handled request %d, want 3", got)
	}
	for i := int32(1); i <= 3; i++ {
		corr, body := readResponse(t, c)
		if corr != i || len(body) != 3 || body[2] != byte(i) {
			t.Fatalf("response %d: correlation %d body %v", i, corr, body)
		}
	}
}

// A finishing response's Finish ends when the client goes away: the
// context it waits on is the handler's.
func TestFinishEndsWhenTheClientLeaves(t *testing.T) {
	finished := make(chan struct{})
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		resp, _ := echo(ctx, c, r)
		resp.Finish = func() {
			<-ctx.Done()
			close(finished)
		}
		return resp, nil
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	if _, err := c.Write(frame(int16(kmsg.Produce), 3, 1, "", nil)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("Finish still waiting after the client closed its connection")
	}
}

func TestRequestHeaderVersions(t *testing.T) {
	var got atomic.Pointer[Request]
	h := handlerFunc(func(_ context.Context, _ *Conn, r *Request) (*Response, error) {
		cp := *r
		cp.Body = append([]byte(nil), r.Body...)
		got.Store(&cp)
		return BytesResponse(r.APIKey != 18 && r.APIVersion >= 9, []byte{1}), nil
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)

	// Metadata v9 is flexible: header v2 carries a tag section after the
	// client id, which must not end up in the body.
	hdr := frame(int16(kmsg.Metadata), 9, 7, "flex", nil)
	payload := append(hdr[4:], 0x01, 0x05, 0x02, 0xAA, 0xBB) // 1 tag: id 5, 2 bytes
	payload = append(payload, 0x42)                          // body
	msg := append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
	c.Write(msg)
	corr, body := readResponse(t, c)
	if corr != 7 || !bytes.Equal(body, []byte{0, 1}) {
		t.Fatalf("flexible response: corr %d body %v, want the tag buffer then 1", corr, body)
	}
	r := got.Load()
	if !r.KnownKey || r.ClientID != "flex" || !r.HasClientID || !bytes.Equal(r.Body, []byte{0x42}) {
		t.Fatalf("flexible request decoded as %+v", r)
	}

	// A null client id and a non-flexible version.
	var raw []byte
	raw = binary.BigEndian.AppendUint16(raw, 3)
	raw = binary.BigEndian.AppendUint16(raw, 1)
	raw = binary.BigEndian.AppendUint32(raw, 8)
	raw = binary.BigEndian.AppendUint16(raw, 0xFFFF)
	raw = append(raw, 9)
	c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(raw))), raw...))
	if corr, body := readResponse(t, c); corr != 8 || !bytes.Equal(body, []byte{1}) {
		t.Fatalf("non-flexible response: corr %d body %v", corr, body)
	}
	if r := got.Load(); r.HasClientID || !bytes.Equal(r.Body, []byte{9}) {
		t.Fatalf("null client id decoded as %+v", r)
	}

	// An API key kmsg does not know reaches the handler, marked unknown.
	c.Write(frame(9999, 0, 9, "x", []byte{1, 2}))
	readResponse(t, c)
	if r := got.Load(); r.KnownKey || r.APIKey != 9999 || !bytes.Equal(r.Body, []byte{1, 2}) {
		t.Fatalf("unknown key decoded as %+v", r)
	}
}

func TestOversizeFrameClosesOnlyThatConnection(t *testing.T) {
	_, addr := startServer(t, ServerConfig{MaxRequestBytes: 1024}, echo)
	good := dial(t, addr)
	bad := dial(t, addr)

	// Claims 1025 bytes: over the limit, closed before reading a body.
	bad.Write(binary.BigEndian.AppendUint32(nil, 1025))
	expectClosed(t, bad)

	good.Write(frame(3, 1, 1, "ok", []byte("still here")))
	if corr, body := readResponse(t, good); corr != 1 || string(body[2:]) != "still here" {
		t.Fatalf("other connection got corr %d body %q", corr, body)
	}
}

func TestHugeClaimedSizeCostsNothingUntilBytesArrive(t *testing.T) {
	_, addr := startServer(t, ServerConfig{}, echo) // 100 MiB limit
	c := dial(t, addr)
	var before, after runtimeMem
	before.read()
	// Ten connections each claiming 100 MiB and sending a few bytes.
	for i := 0; i < 10; i++ {
		cc := dial(t, addr)
		cc.Write(append(binary.BigEndian.AppendUint32(nil, DefaultMaxRequestBytes), 0, 3, 0, 1))
	}
	time.Sleep(200 * time.Millisecond)
	after.read()
	if grew := int64(after.heap) - int64(before.heap); grew > 50<<20 {
		t.Fatalf("heap grew by %d MiB for frames that sent 4 bytes each", grew>>20)
	}
	c.Write(frame(3, 1, 5, "ok", nil))
	if corr, _ := readResponse(t, c); corr != 5 {
		t.Fatalf("corr %d", corr)
	}
}

func TestGarbageClosesTheConnection(t *testing.T) {
	_, addr := startServer(t, ServerConfig{}, echo)
	for name, garbage := range map[string][]byte{
		"negative size":      {0xFF, 0xFF, 0xFF, 0xF0, 1, 2, 3},
		"size below header":  {0, 0, 0, 3, 1, 2, 3},
		"bad client id size": append(binary.BigEndian.AppendUint32(nil, 10), 0, 3, 0, 1, 0, 0, 0, 1, 0x7F, 0xFF),
		"http":               []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, addr)
			c.Write(garbage)
			expectClosed(t, c)
		})
	}
}

func TestNilResponseWritesNothing(t *testing.T) {
	// acks=0 produce: the handler returns nil and the next response is
	// the first thing on the wire.
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		if r.CorrelationID == 1 {
			return nil, nil
		}
		return echo(ctx, c, r)
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	c.Write(append(frame(0, 3, 1, "", nil), frame(3, 1, 2, "", nil)...))
	if corr, _ := readResponse(t, c); corr != 2 {
		t.Fatalf("first response has correlation %d, want 2", corr)
	}
}

// File ranges reach the client byte for byte: large ones by sendfile,
// small ones copied into the response's one send.
func TestFileRangesAreSentByteExact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "segment")
	content := make([]byte, 3<<20)
	for i := range content {
		content[i] = byte(i * 7)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var released atomic.Int32
	h := handlerFunc(func(_ context.Context, _ *Conn, r *Request) (*Response, error) {
		return &Response{
			FlexibleHeader: true,
			Parts: []Part{
				{Bytes: []byte("head")},
				{File: f, FileOffset: 100, Length: 2 << 20},
				{Bytes: []byte("mid")},
				{File: f, FileOffset: 5, Length: 10},
			},
			Done: func() { released.Add(1) },
		}, nil
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	sentByFile := rangesSentByFile.Load()
	for i := int32(1); i <= 3; i++ {
		c.Write(frame(1, 4, i, "", nil))
	}
	for i := int32(1); i <= 3; i++ {
		corr, body := readResponse(t, c)
		want := append([]byte{0}, "head"...)
		want = append(want, content[100:100+2<<20]...)
		want = append(want, "mid"...)
		want = append(want, content[5:15]...)
		if corr != i || !bytes.Equal(body, want) {
			t.Fatalf("response %d: corr %d, %d bytes, equal=%v", i, corr, len(body), bytes.Equal(body, want))
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := released.Load(); n != 3 {
		t.Fatalf("Done called %d times, want 3", n)
	}
	// The 2 MiB ranges went out by sendfile; the 10-byte ones were
	// copied into the response's single send.
	if n := rangesSentByFile.Load() - sentByFile; n != 3 {
		t.Errorf("%d file ranges sent by sendfile, want the 3 large ones", n)
	}
	// The file's own position is untouched by sendfile.
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != 0 {
		t.Fatalf("file position moved to %d", pos)
	}
}

// A file range that runs past the file's end (a segment truncated under
// a response) cannot complete its frame: the connection closes rather
// than send a response shorter than its size says, whether the range is
// small enough to be copied or large enough for sendfile.
func TestFileRangePastTheFileEndClosesTheConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "segment")
	if err := os.WriteFile(path, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, length := range []int64{2000, inlineFileRange + 1} {
		h := handlerFunc(func(_ context.Context, _ *Conn, r *Request) (*Response, error) {
			return &Response{Parts: []Part{{Bytes: []byte("head")}, {File: f, FileOffset: 500, Length: length}}}, nil
		})
		_, addr := startServer(t, ServerConfig{}, h)
		c := dial(t, addr)
		c.Write(frame(1, 4, 1, "", nil))
		got, _ := io.ReadAll(c)
		if want := 4 + 4 + 4 + length; int64(len(got)) >= want {
			t.Fatalf("range of %d bytes: read %d bytes, a whole frame", length, len(got))
		}
	}
}

func TestCopyFallbackForNonTCP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, []byte("0123456789"), 0o644)
	f, _ := os.Open(path)
	defer f.Close()
	var buf bytes.Buffer
	if err := copyFileRange(&buf, f, 2, 5); err != nil || buf.String() != "23456" {
		t.Fatalf("copy: %q %v", buf.String(), err)
	}
	if err := copyFileRange(&buf, f, 8, 5); !errors.Is(err, errShortFile) {
		t.Fatalf("range past the end: %v, want errShortFile", err)
	}
}

func TestHandlerPanicClosesOnlyThatConnection(t *testing.T) {
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		if r.APIKey == 99 {
			panic("boom")
		}
		return echo(ctx, c, r)
	})
	_, addr := startServer(t, ServerConfig{}, h)
	a, b := dial(t, addr), dial(t, addr)
	a.Write(frame(99, 0, 1, "", nil))
	expectClosed(t, a)
	b.Write(frame(3, 1, 2, "", nil))
	if corr, _ := readResponse(t, b); corr != 2 {
		t.Fatalf("corr %d", corr)
	}
}

func TestHandlerErrorWritesQueuedResponsesThenCloses(t *testing.T) {
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		if r.CorrelationID == 2 {
			return nil, errors.New("body does not parse")
		}
		return echo(ctx, c, r)
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	c.Write(append(frame(3, 1, 1, "", nil), append(frame(3, 1, 2, "", nil), frame(3, 1, 3, "", nil)...)...))
	if corr, _ := readResponse(t, c); corr != 1 {
		t.Fatalf("corr %d", corr)
	}
	expectClosed(t, c)
}

func TestShutdownWaitsForRequestsInFlight(t *testing.T) {
	started := make(chan struct{})
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		return echo(ctx, c, r)
	})
	s, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	c.Write(frame(3, 1, 1, "", nil))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	if corr, _ := readResponse(t, c); corr != 1 {
		t.Fatalf("corr %d", corr)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

func TestIdleConnectionsAreClosed(t *testing.T) {
	_, addr := startServer(t, ServerConfig{IdleTimeout: 100 * time.Millisecond}, echo)
	c := dial(t, addr)
	c.Write(frame(3, 1, 1, "", nil))
	readResponse(t, c)
	expectClosed(t, c)
}

func TestSlowRequestIsNotIdleness(t *testing.T) {
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		time.Sleep(300 * time.Millisecond) // a long fetch wait
		return echo(ctx, c, r)
	})
	_, addr := startServer(t, ServerConfig{IdleTimeout: 100 * time.Millisecond}, h)
	c := dial(t, addr)
	c.Write(frame(3, 1, 1, "", nil))
	if corr, _ := readResponse(t, c); corr != 1 {
		t.Fatalf("corr %d", corr)
	}
}

func TestFrameSentInPiecesAcrossIdleChecks(t *testing.T) {
	_, addr := startServer(t, ServerConfig{IdleTimeout: time.Second}, echo)
	c := dial(t, addr)
	f := frame(3, 1, 4, "slow", []byte("body"))
	for _, b := range f {
		c.Write([]byte{b})
		time.Sleep(2 * time.Millisecond)
	}
	if corr, body := readResponse(t, c); corr != 4 || string(body[2:]) != "body" {
		t.Fatalf("corr %d body %q", corr, body)
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add(frame(3, 9, 1, "client", []byte{0}))
	f.Add(frame(18, 3, 1, "", []byte{0, 1, 2}))
	f.Add([]byte{0, 0, 0, 10, 0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0x05})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := frameReader{r: bytes.NewReader(data), max: 1 << 16}
		for {
			b, held, err := fr.next()
			if err != nil {
				return
			}
			req, err := ParseRequest(*b)
			if err == nil && len(req.Body) > len(*b) {
				t.Fatalf("body longer than the frame")
			}
			releaseFrame(b, held)
		}
	})
}

type runtimeMem struct{ heap uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&s)
	m.heap = s.HeapAlloc
}

func TestClientRoundTripsRequestsInBothHeaderVersions(t *testing.T) {
	h := handlerFunc(func(_ context.Context, _ *Conn, r *Request) (*Response, error) {
		req := kmsg.RequestForKey(r.APIKey)
		req.SetVersion(r.APIVersion)
		if err := req.ReadFrom(r.Body); err != nil {
			return nil, err
		}
		resp := req.ResponseKind()
		if mr, ok := resp.(*kmsg.MetadataResponse); ok {
			mr.ClusterID = kmsg.StringPtr(r.ClientID)
		}
		return BytesResponse(resp.IsFlexible(), resp.AppendTo(nil)), nil
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c, err := Dial(context.Background(), addr, "broker-7")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, v := range []int16{1, 9, 12} {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		resp, err := c.Request(context.Background(), req)
		if err != nil {
			t.Fatalf("metadata v%d: %v", v, err)
		}
		if mr := resp.(*kmsg.MetadataResponse); v >= 2 && (mr.ClusterID == nil || *mr.ClusterID != "broker-7") {
			t.Fatalf("metadata v%d: the server saw client id %v", v, mr.ClusterID)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	slow := handlerFunc(func(ctx context.Context, _ *Conn, _ *Request) (*Response, error) {
		select {
		case <-ctx.Done():
		case <-time.After(300 * time.Millisecond):
		}
		return nil, nil
	})
	_, slowAddr := startServer(t, ServerConfig{}, slow)
	sc, err := Dial(context.Background(), slowAddr, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Request(ctx, kmsg.NewPtrMetadataRequest()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request past its context deadline: %v", err)
	}
	if _, err := sc.Request(context.Background(), kmsg.NewPtrMetadataRequest()); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("request on a broken client: %v", err)
	}
}

// Inter-broker connections go through the dialer a broker is given, so a
// test can cut one off: its dials fail, and the connections it handed out
// can be closed under the client.
func TestDialWithGoesThroughTheGivenDialer(t *testing.T) {
	empty := handlerFunc(func(_ context.Context, _ *Conn, r *Request) (*Response, error) {
		resp := kmsg.ResponseForKey(r.APIKey)
		resp.SetVersion(r.APIVersion)
		return BytesResponse(false, resp.AppendTo(nil)), nil
	})
	_, addr := startServer(t, ServerConfig{}, empty)
	var dialed []string
	var conns []net.Conn
	dial := func(ctx context.Context, a string) (net.Conn, error) {
		dialed = append(dialed, a)
		nc, err := dialTCP(ctx, a)
		if err == nil {
			conns = append(conns, nc)
		}
		return nc, err
	}
	c, err := DialWith(context.Background(), dial, addr, "broker-7")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(dialed) != 1 || dialed[0] != addr {
		t.Fatalf("the dialer saw %v, want one dial of %s", dialed, addr)
	}
	if _, err := c.Request(context.Background(), kmsg.NewPtrMetadataRequest()); err != nil {
		t.Fatalf("request over the dialer's connection: %v", err)
	}
	conns[0].Close() // the harness cuts the link
	if _, err := c.Request(context.Background(), kmsg.NewPtrMetadataRequest()); err == nil {
		t.Fatal("request over a connection the dialer closed succeeded")
	}

	cut := errors.New("cut off")
	if _, err := DialWith(context.Background(), func(context.Context, string) (net.Conn, error) { return nil, cut }, addr, "broker-7"); !errors.Is(err, cut) {
		t.Fatalf("dial through a failing dialer: %v, want its error", err)
	}
}
