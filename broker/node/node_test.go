package node_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/node"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

const recoveryLine = "recovered log after an unclean shutdown"

// logBuffer collects a node's logs for tests that look for a line.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testConfig is a broker on a fresh log directory listening on a free
// port of the loopback interface.
func testConfig(t *testing.T, overrides ...string) *config.Broker {
	t.Helper()
	cfg, _, err := config.Load("", append([]string{"log.dirs=" + t.TempDir(), "listeners=PLAINTEXT://127.0.0.1:0"}, overrides...))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// startNode starts a node from opts (its Config and Logger filled in),
// logging to the returned buffer, and closes it when the test ends.
func startNode(t *testing.T, cfg *config.Broker, opts node.Options) (*node.Node, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Config = cfg
	opts.Logger = zerolog.New(logs)
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = node.DefaultShutdownTimeout
	}
	n, err := node.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return n, logs
}

func newClient(t *testing.T, n *node.Node, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(n.Addrs()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// createTopic creates topic with one partition.
func createTopic(t *testing.T, n *node.Node, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, n))
	if resp, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil || resp.Err != nil {
		t.Fatalf("create topic %s: %v %v", topic, err, resp.Err)
	}
}

// produceN produces values to topic-0, each acknowledged by the broker
// before the next is sent.
func produceN(t *testing.T, n *node.Node, topic string, values []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := newClient(t, n, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	defer c.Close()
	for _, v := range values {
		if err := c.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %q: %v", v, err)
		}
	}
}

// collectRecords reads topic-0 from its start until want values came.
func collectRecords(t *testing.T, n *node.Node, topic string, want int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := newClient(t, n, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer c.Close()
	var got []string
	for len(got) < want {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records of %s before the deadline: %v", len(got), want, topic, got)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

func values(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "record-" + strconv.Itoa(i)
	}
	return out
}

func TestStartsOnPortZeroAndServesAKafkaClient(t *testing.T) {
	cfg := testConfig(t)
	n, logs := startNode(t, cfg, node.Options{})
	addrs := n.Addrs()
	if len(addrs) != 1 {
		t.Fatalf("Addrs() = %v, want one per listener", addrs)
	}
	host, port, err := net.SplitHostPort(addrs[0])
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("Addrs() = %v, want 127.0.0.1 and the bound port", addrs)
	}
	if got := cfg.AdvertisedListeners[0].Port; strconv.Itoa(int(got)) != port {
		t.Errorf("advertised port %d, want the bound %s", got, port)
	}
	if !strings.Contains(logs.String(), `"message":"listening"`) {
		t.Errorf("no listening line in the log:\n%s", logs)
	}
	want := values(10)
	createTopic(t, n, "orders")
	produceN(t, n, "orders", want)
	if got := collectRecords(t, n, "orders", len(want)); !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
}

// A clean stop writes the clean-shutdown markers: the next start trusts
// the logs and recovers nothing.
func TestShutdownThenStartFindsTheDataWithoutRecovery(t *testing.T) {
	cfg := testConfig(t)
	n, _ := startNode(t, cfg, node.Options{})
	want := values(50)
	createTopic(t, n, "orders")
	produceN(t, n, "orders", want)
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	n, logs := startNode(t, cfg, node.Options{})
	if strings.Contains(logs.String(), recoveryLine) {
		t.Errorf("a start after a clean shutdown recovered a log:\n%s", logs)
	}
	if got := collectRecords(t, n, "orders", len(want)); !slices.Equal(got, want) {
		t.Fatalf("after a clean restart read %v, want %v", got, want)
	}
}

// Kill is kill -9: no clean-shutdown marker, so the next start recovers
// the logs, and no acknowledged record is lost.
func TestKillThenStartRecoversAndKeepsEveryAckedRecord(t *testing.T) {
	cfg := testConfig(t)
	n, _ := startNode(t, cfg, node.Options{})
	want := values(50)
	createTopic(t, n, "orders")
	produceN(t, n, "orders", want)
	n.Kill()

	n, logs := startNode(t, cfg, node.Options{})
	if !strings.Contains(logs.String(), recoveryLine) {
		t.Errorf("a start after Kill did not recover the logs:\n%s", logs)
	}
	if got := collectRecords(t, n, "orders", len(want)); !slices.Equal(got, want) {
		t.Fatalf("after Kill and restart read %v, want every acknowledged record %v", got, want)
	}
	more := []string{"after-restart"}
	produceN(t, n, "orders", more)
	if got := collectRecords(t, n, "orders", len(want)+1); got[len(want)] != more[0] {
		t.Fatalf("after recovery the log ends %v", got[len(want)-1:])
	}
}

// storeProbe wraps a LocalStore and counts how it was stopped. It lists
// a peer broker and names it the controller, so this broker counts as a
// cluster's and has another broker to connect to.
type storeProbe struct {
	controller.Store
	peer    controller.Broker
	mu      sync.Mutex
	closed  int
	crashed int
}

func (s *storeProbe) Brokers() []controller.Broker { return append(s.Store.Brokers(), s.peer) }
func (s *storeProbe) ControllerID() int32          { return s.peer.ID }

func (s *storeProbe) Close() error {
	s.mu.Lock()
	s.closed++
	s.mu.Unlock()
	return s.Store.Close()
}

func (s *storeProbe) Crash() {
	s.mu.Lock()
	s.crashed++
	s.mu.Unlock()
	s.Store.Close()
}

func (s *storeProbe) counts() (closed, crashed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed, s.crashed
}

func openProbe(probe **storeProbe) func(context.Context, controller.Broker, *config.Broker) (controller.Store, error) {
	return func(_ context.Context, self controller.Broker, cfg *config.Broker) (controller.Store, error) {
		local, err := controller.NewLocalStore(cfg.LogDirs[0], cfg.BrokerID, self, zerolog.Nop())
		if err != nil {
			return nil, err
		}
		*probe = &storeProbe{Store: local, peer: controller.Broker{ID: 99, Host: "peer-99.invalid", Port: 9092}}
		return *probe, nil
	}
}

// Options.Dial reaches the broker: a cluster broker's controlled shutdown
// asks the controller through it.
func TestOptionsDialMakesTheInterBrokerConnections(t *testing.T) {
	var probe *storeProbe
	cut := errors.New("cut off by the test")
	var mu sync.Mutex
	var dialed []string
	dial := func(_ context.Context, addr string) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		dialed = append(dialed, addr)
		return nil, cut
	}
	n, _ := startNode(t, testConfig(t, "controlled.shutdown.max.retries=0"), node.Options{OpenStore: openProbe(&probe), Dial: dial})
	if err := n.ControlledShutdown(context.Background()); !errors.Is(err, cut) {
		t.Fatalf("controlled shutdown with the dialer failing: %v, want the dialer's error", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(dialed, "peer-99.invalid:9092") {
		t.Fatalf("dials through Options.Dial: %v, want the controller peer-99.invalid:9092", dialed)
	}
}

// A single broker has no one to hand its leaderships to: its graceful
// shutdown skips the controlled shutdown.
func TestASingleBrokersShutdownSkipsTheControlledShutdown(t *testing.T) {
	n, _ := startNode(t, testConfig(t), node.Options{Dial: func(context.Context, string) (net.Conn, error) {
		t.Error("a single broker dialed another broker")
		return nil, errors.New("no")
	}})
	if err := n.ControlledShutdown(context.Background()); err != nil {
		t.Fatalf("controlled shutdown of a single broker: %v", err)
	}
}

// Kill crashes a store that can crash (a cluster store's session then
// expires instead of the broker deregistering); Shutdown and Close close
// it; whichever stop comes first is the only one.
func TestKillCrashesTheStoreAndCloseClosesIt(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		stop                 func(*node.Node)
		wantClose, wantCrash int
	}{
		{"kill", (*node.Node).Kill, 0, 1},
		{"close", func(n *node.Node) { n.Close() }, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var probe *storeProbe
			n, _ := startNode(t, testConfig(t, "controlled.shutdown.enable=false"), node.Options{OpenStore: openProbe(&probe)})
			tc.stop(n)
			n.Kill()
			if err := n.Shutdown(context.Background()); err != nil {
				t.Errorf("shutdown after the node stopped: %v", err)
			}
			if closed, crashed := probe.counts(); closed != tc.wantClose || crashed != tc.wantCrash {
				t.Fatalf("store closed %d and crashed %d times, want %d and %d", closed, crashed, tc.wantClose, tc.wantCrash)
			}
			if _, err := net.DialTimeout("tcp", n.Addrs()[0], time.Second); err == nil {
				t.Errorf("the listener still accepts after %s", tc.name)
			}
		})
	}
}

// A port in use fails Start before any data is opened, naming the
// listener.
func TestStartFailsOnAPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig(t, "listeners=PLAINTEXT://"+ln.Addr().String())
	_, err = node.Start(context.Background(), node.Options{Config: cfg})
	if err == nil || !strings.Contains(err.Error(), "listener PLAINTEXT") {
		t.Fatalf("start on a port in use: %v", err)
	}
}

// apiVersions asks addr for its API versions over a connection of its
// own, within d.
func apiVersions(addr string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, err := wire.Dial(ctx, addr, "node-test")
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Request(ctx, kmsg.NewPtrApiVersionsRequest())
	return err
}

// HoldRequests is a stopped process as its clients see it: connections
// are accepted, requests are not answered until ReleaseRequests, and a
// request held when the node is killed does not keep Kill waiting.
func TestHeldRequestsWaitUnansweredUntilReleased(t *testing.T) {
	n, _ := startNode(t, testConfig(t), node.Options{})
	addr := n.Addrs()[0]
	if err := apiVersions(addr, 10*time.Second); err != nil {
		t.Fatalf("before holding: %v", err)
	}

	n.HoldRequests()
	n.HoldRequests() // holding twice is holding
	if err := apiVersions(addr, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a request while held: %v, want no answer before the deadline", err)
	}
	answered := make(chan error, 1)
	go func() { answered <- apiVersions(addr, 30*time.Second) }()
	select {
	case err := <-answered:
		t.Fatalf("a held request was answered (%v) before ReleaseRequests", err)
	case <-time.After(100 * time.Millisecond):
	}
	n.ReleaseRequests()
	n.ReleaseRequests()
	if err := <-answered; err != nil {
		t.Fatalf("the held request after ReleaseRequests: %v", err)
	}

	n.HoldRequests()
	go func() { answered <- apiVersions(addr, 30*time.Second) }()
	killed := make(chan struct{})
	go func() {
		n.Kill()
		close(killed)
	}()
	select {
	case <-killed:
	case <-time.After(10 * time.Second):
		t.Fatal("Kill waited for a held request")
	}
	if err := <-answered; err == nil {
		t.Fatal("a request held until the node was killed was answered")
	}
}
