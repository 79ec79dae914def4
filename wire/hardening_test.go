package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/wire/membudget"
)

// pieceReader returns data in pieces of random sizes, as a socket does.
type pieceReader struct {
	data []byte
	rng  *rand.Rand
}

func (r *pieceReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.data), 1+r.rng.IntN(300_000))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func TestFramesOfEverySizeArriveByteExact(t *testing.T) {
	// Around the head and chunk boundaries, and one past several chunks.
	sizes := []int{minRequestHeader, 1000, 1 << minFrameClass, 1<<minFrameClass + 1, smallFrame, smallFrame + 1, chunkSize - 1, chunkSize, chunkSize + 1, 1<<20 + 3,
		2*chunkSize + 17, 3*chunkSize + chunkSize/2}
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var want [][]byte
	for _, size := range sizes {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		want = append(want, body)
		stream = binary.BigEndian.AppendUint32(stream, uint32(size))
		stream = append(stream, body...)
	}
	budget := membudget.New(8 << 20)
	fr := frameReader{r: &pieceReader{data: stream, rng: rng}, max: DefaultMaxRequestBytes,
		budget: budget, waitCtx: context.Background()}
	for i, w := range want {
		b, held, err := fr.next()
		if err != nil {
			t.Fatalf("frame %d (%d bytes): %v", i, len(w), err)
		}
		if !bytes.Equal(*b, w) {
			t.Fatalf("frame %d of %d bytes arrived as %d bytes, crc %x want %x", i, len(w), len(*b),
				crc32.ChecksumIEEE(*b), crc32.ChecksumIEEE(w))
		}
		if held.Held() < int64(len(w)) {
			t.Fatalf("frame %d of %d bytes holds only %d bytes of the budget", i, len(w), held.Held())
		}
		releaseFrame(b, held)
	}
	if budget.Used() != 0 {
		t.Fatalf("budget holds %d bytes after every frame was released", budget.Used())
	}
}

// sendPartialFrame opens a connection that claims size bytes and sends
// sent of them.
func sendPartialFrame(t *testing.T, addr string, size, sent int) net.Conn {
	t.Helper()
	c := dial(t, addr)
	go func() {
		f := frame(3, 1, 1, "partial", make([]byte, size-minRequestHeader-len("partial")))
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		c.Write(f[:4+sent])
	}()
	return c
}

func TestPartialFramesTakeNoMoreThanTheRequestBudget(t *testing.T) {
	// Eight clients each claim 8 MiB and send 4 MiB: without a budget the
	// broker would hold 32 MiB. It holds its 2 MiB budget, and the one
	// client let past the budget to break the deadlock only what it sent.
	budget := membudget.New(2 << 20)
	_, addr := startServer(t, ServerConfig{RequestBudget: budget}, echo)
	for i := 0; i < 8; i++ {
		sendPartialFrame(t, addr, 8<<20, 4<<20)
	}
	waitUntil(t, "the budget fills", func() bool { return budget.Used() >= 2<<20 })
	time.Sleep(200 * time.Millisecond) // let any over-reading show
	if used := budget.Used(); used > 2<<20+4<<20+readStep {
		t.Fatalf("partial frames hold %d bytes of a %d-byte budget", used, 2<<20)
	}
	// Small requests from a connection with nothing in flight still pass.
	c := dial(t, addr)
	c.Write(frame(3, 1, 9, "small", []byte("still served")))
	if corr, body := readResponse(t, c); corr != 9 || string(body[2:]) != "still served" {
		t.Fatalf("small request during the flood: corr %d body %q", corr, body)
	}
}

func TestPartialFrameOfAClientThatLeftIsGivenBack(t *testing.T) {
	// A connection waiting for the budget reads nothing, yet it notices
	// that its client closed the connection and gives back its bytes.
	budget := membudget.New(1 << 20)
	s, addr := startServer(t, ServerConfig{RequestBudget: budget}, echo)
	var conns []net.Conn
	for i := 0; i < 4; i++ {
		conns = append(conns, sendPartialFrame(t, addr, 8<<20, 2<<20))
	}
	waitUntil(t, "every connection waits for the budget", func() bool { return budget.Waiting() >= 3 })
	for _, c := range conns {
		c.Close()
	}
	waitUntil(t, "the budget is given back", func() bool { return budget.Used() == 0 })
	waitUntil(t, "the connections are gone", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.conns) == 0
	})
}

func TestLargeFramesLargerThanTheWholeBudgetAreStillServed(t *testing.T) {
	// Three clients each send a whole 3 MiB request against a 1 MiB
	// budget: every one is served, one at a time.
	budget := membudget.New(1 << 20)
	_, addr := startServer(t, ServerConfig{RequestBudget: budget}, echo)
	conns := make([]net.Conn, 3)
	for i := range conns {
		conns[i] = dial(t, addr)
		body := bytes.Repeat([]byte{byte('a' + i)}, 3<<20)
		go conns[i].Write(frame(3, 1, int32(i), "big", body))
	}
	for i, c := range conns {
		corr, body := readResponse(t, c)
		if corr != int32(i) || len(body) != 2+3<<20 || body[2] != byte('a'+i) || body[len(body)-1] != byte('a'+i) {
			t.Fatalf("big request %d: corr %d, %d bytes", i, corr, len(body))
		}
	}
	waitUntil(t, "the budget is free again", func() bool { return budget.Used() == 0 })
}

func TestClientThatStopsReadingIsDisconnected(t *testing.T) {
	// Responses of 1 MiB to a client that reads none: the socket buffers
	// fill, the write stalls, and the connection is closed after the idle
	// timeout instead of staying open for ever.
	big := handlerFunc(func(_ context.Context, _ *Conn, r *Request) (*Response, error) {
		return BytesResponse(false, make([]byte, 1<<20)), nil
	})
	s, addr := startServer(t, ServerConfig{IdleTimeout: 300 * time.Millisecond}, big)
	c := dial(t, addr)
	var all []byte
	for i := int32(0); i < 100; i++ {
		all = append(all, frame(1, 4, i, "", nil)...)
	}
	c.Write(all)
	waitUntil(t, "the server drops the connection", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.conns) == 0
	})
}

func TestShutdownIsBoundedWhateverClientsDo(t *testing.T) {
	// One client never reads its responses; another has a request that
	// waits for something (a fetch for records) until it is told to stop.
	big := handlerFunc(func(ctx context.Context, _ *Conn, r *Request) (*Response, error) {
		if r.APIKey == 1 {
			<-ctx.Done() // a long poll: answers when the server drains
			return BytesResponse(false, []byte("drained")), nil
		}
		return BytesResponse(false, make([]byte, 1<<20)), nil
	})
	s, addr := startServer(t, ServerConfig{}, big)
	stuck := dial(t, addr)
	var all []byte
	for i := int32(0); i < 100; i++ {
		all = append(all, frame(3, 1, i, "", nil)...)
	}
	stuck.Write(all)
	poller := dial(t, addr)
	poller.Write(frame(1, 4, 7, "", nil))
	time.Sleep(100 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Shutdown took %v with a client that does not read", took)
	}
	if err == nil {
		t.Fatal("Shutdown reported every request answered, but one client never read its responses")
	}
	if corr, body := readResponse(t, poller); corr != 7 || string(body) != "drained" {
		t.Fatalf("the waiting request was answered corr %d %q, want 7 \"drained\"", corr, body)
	}
}

// noLimit is the value of an unlimited quota (Kafka's Integer.MAX_VALUE).
const noLimit = 1<<31 - 1

func TestMaxConnectionsBlocksNewConnectionsUntilOneCloses(t *testing.T) {
	limits := NewConnLimits(2, noLimit, nil)
	_, addr := startServer(t, ServerConfig{Limits: limits}, echo)
	a, b := dial(t, addr), dial(t, addr)
	for i, c := range []net.Conn{a, b} {
		c.Write(frame(3, 1, int32(i), "", nil))
		readResponse(t, c)
	}
	third := dial(t, addr) // the kernel completes the handshake; the broker does not serve it
	third.Write(frame(3, 1, 3, "", []byte("waiting")))
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := third.Read(make([]byte, 1)); err == nil {
		t.Fatal("a third connection was served with max.connections=2")
	}
	a.Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if corr, body := readResponse(t, third); corr != 3 || string(body[2:]) != "waiting" {
		t.Fatalf("third connection after a slot freed: corr %d body %q", corr, body)
	}
}

func TestMaxConnectionsPerIPClosesTheConnectionOverTheLimit(t *testing.T) {
	limits := NewConnLimits(noLimit, 1, nil)
	_, addr := startServer(t, ServerConfig{Limits: limits}, echo)
	first := dial(t, addr)
	first.Write(frame(3, 1, 1, "", nil))
	readResponse(t, first)
	second := dial(t, addr)
	expectClosed(t, second)

	// An override for the address raises its limit, at once.
	limits.Set(noLimit, 1, map[netip.Addr]int{netip.MustParseAddr("127.0.0.1"): 2})
	third := dial(t, addr)
	third.Write(frame(3, 1, 3, "", nil))
	if corr, _ := readResponse(t, third); corr != 3 {
		t.Fatalf("corr %d", corr)
	}
}

func TestConnectionOverridesParseAsKafkaWritesThem(t *testing.T) {
	got, err := ParseConnectionOverrides("localhost:100, 127.0.0.2:200,[::1]:5", func(host string) ([]netip.Addr, error) {
		if host != "localhost" {
			t.Fatalf("resolved %q", host)
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]int{
		netip.MustParseAddr("127.0.0.1"): 100,
		netip.MustParseAddr("127.0.0.2"): 200,
		netip.MustParseAddr("::1"):       5,
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"127.0.0.1", "127.0.0.1:x", "127.0.0.1:-1", ":5"} {
		if _, err := ParseConnectionOverrides(bad, nil); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAHandlerMayGiveBackItsRequestBytesBeforeItAnswers(t *testing.T) {
	// An acks=all produce waits for followers after its records are in
	// the log; its bytes go back to the budget so the fetches it waits
	// for can be read.
	budget := membudget.New(1 << 20)
	released := make(chan int64, 1)
	proceed := make(chan struct{})
	h := handlerFunc(func(ctx context.Context, c *Conn, r *Request) (*Response, error) {
		c.ReleaseRequest()
		released <- budget.Used()
		<-proceed
		return BytesResponse(false, []byte("done")), nil
	})
	_, addr := startServer(t, ServerConfig{RequestBudget: budget}, h)
	c := dial(t, addr)
	c.Write(frame(0, 9, 1, "", make([]byte, 512<<10)))
	if used := <-released; used != 0 {
		t.Fatalf("the budget holds %d bytes after the handler released its request", used)
	}
	close(proceed)
	if corr, body := readResponse(t, c); corr != 1 || string(body) != "done" {
		t.Fatalf("corr %d body %q", corr, body)
	}
	waitUntil(t, "the budget is free", func() bool { return budget.Used() == 0 })
}

func TestAHandlerIsToldWhenItsClientLeaves(t *testing.T) {
	// A long request (a CreateTopics of thousands) stops early when no
	// one will read its answer.
	stopped := make(chan struct{})
	h := handlerFunc(func(ctx context.Context, _ *Conn, r *Request) (*Response, error) {
		<-ctx.Done()
		close(stopped)
		return BytesResponse(false, nil), nil
	})
	_, addr := startServer(t, ServerConfig{}, h)
	c := dial(t, addr)
	c.Write(frame(19, 4, 1, "", nil))
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was not told that its client left")
	}
}

func TestShutdownDoesNotWaitForAHandlerThatIgnoresIt(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	h := handlerFunc(func(context.Context, *Conn, *Request) (*Response, error) {
		close(started)
		<-release // stuck, deaf to its context
		return nil, nil
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(ServerConfig{Logger: zerolog.Nop()}, h)
	go s.Serve(l)
	c := dial(t, l.Addr().String())
	c.Write(frame(19, 4, 1, "", nil))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Shutdown(ctx)
	if took := time.Since(start); took > 500*time.Millisecond+abandonWait+time.Second {
		t.Fatalf("Shutdown took %v with a stuck handler", took)
	}
	if !errors.Is(err, ErrHandlersAbandoned) {
		t.Fatalf("Shutdown returned %v, want ErrHandlersAbandoned", err)
	}
}
