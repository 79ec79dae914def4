// Package compattests checks Samsa against what a Kafka user observes: stock
// clients (franz-go's kgo and kadm, kcat) and raw bytes on a socket, talking
// to the real `samsa broker` binary started as a child process.
//
// The harness builds ./tools/samsa once per test run (TestMain) without
// -race, so a -race run of this package stays fast. Each test starts its own
// broker on a free loopback port with its own log directory and stops it by
// PID in t.Cleanup.
//
// Run: go test ./compat-tests/ (add -run, -v as usual).
//
// Environment:
//
//	SAMSA_BINARY=PATH     use this binary instead of building one.
//	SAMSA_COMPAT_KFAKE=1  run against an in-process kfake cluster instead of
//	                      the binary: a reference to check the tests
//	                      themselves. Tests that need a real process (kill -9,
//	                      the ready file, socket limits, raw-byte behaviour
//	                      kfake does not share) skip themselves there.
//	CI=true               a missing kcat fails instead of skipping.
//	SAMSA_TEST_LOG_LEVEL=debug  run the brokers at this log level.
//	SAMSA_TEST_KEEP_DIR=DIR     keep the whole logs of brokers of failed tests.
package compattests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded/queuecheck"
)

// samsaBinary is the broker binary every test starts; empty under kfake.
var samsaBinary string

// useKfake is set by SAMSA_COMPAT_KFAKE=1.
var useKfake = os.Getenv("SAMSA_COMPAT_KFAKE") == "1"

func TestMain(m *testing.M) {
	if spec := os.Getenv(copierProcessEnv); spec != "" {
		os.Exit(runCopierProcess(spec))
	}
	code := runTests(m)
	if err := skippedClients.report(); err != nil {
		fmt.Fprintln(os.Stderr, "compat-tests: list skipped client tests:", err)
	}
	os.Exit(code)
}

func runTests(m *testing.M) int {
	if useKfake {
		return m.Run()
	}
	if bin := os.Getenv("SAMSA_BINARY"); bin != "" {
		samsaBinary = bin
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "samsa-compat-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat-tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin, err := buildSamsa(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat-tests:", err)
		return 1
	}
	samsaBinary = bin
	return m.Run()
}

// buildSamsa builds ./tools/samsa from the module root into dir. It does not
// pass -race even when the tests run with -race: the broker is a black box
// here and a race build of it is several times slower.
func buildSamsa(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the samsa module")
	}
	bin := filepath.Join(dir, "samsa")
	cmd := exec.Command("go", "build", "-o", bin, "./tools/samsa")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./tools/samsa: %w\n%s", err, out)
	}
	return bin, nil
}

// skipOnKfake skips a test that needs the real binary.
func skipOnKfake(t *testing.T, why string) {
	t.Helper()
	if useKfake {
		t.Skipf("needs the real samsa binary (%s); SAMSA_COMPAT_KFAKE=1 is set", why)
	}
}

// kfakeLacks reports, under kfake, that kfake does not implement a Kafka
// behaviour the test checks, so the test can leave that check out there.
func kfakeLacks(t *testing.T, what string) bool {
	t.Helper()
	if useKfake {
		t.Logf("kfake lacks %s: not checked", what)
	}
	return useKfake
}

// brokerOpt configures startBroker.
type brokerOpt func(*testBroker)

// withOverride passes `--override key=value` to the broker, as a line of
// Kafka's server.properties would.
func withOverride(key, value string) brokerOpt {
	return func(b *testBroker) { b.overrides = append(b.overrides, [2]string{key, value}) }
}

// withArgs passes more flags to `samsa broker` (--dev-security).
func withArgs(args ...string) brokerOpt {
	return func(b *testBroker) { b.args = append(b.args, args...) }
}

// testBroker is one running broker: a samsa child process, or under kfake an
// in-process cluster of one broker.
type testBroker struct {
	t         *testing.T
	overrides [][2]string
	args      []string // more flags (withArgs)
	dataDir   string
	logPath   string
	readyPath string

	// stablePort restarts the broker on the port it had (withStablePort).
	stablePort bool

	mu     sync.Mutex
	addr   string
	paused bool // SIGSTOPped (cluster_harness_test.go)
	// expectFailure makes a start that does not become ready return its
	// error in startErr instead of failing the test (tryStart).
	expectFailure bool
	startErr      error
	cmd           *exec.Cmd
	exited        chan struct{} // closed when cmd has been waited for
	waitErr       error

	fake *kfake.Cluster
}

// startBroker starts a broker listening on 127.0.0.1 port 0 with a fresh log
// directory and waits until it is serving. It is stopped (SIGKILL by PID if
// still running) when the test ends; its output is logged if the test failed.
func startBroker(t *testing.T, opts ...brokerOpt) *testBroker {
	t.Helper()
	dir := t.TempDir()
	b := &testBroker{
		t:         t,
		dataDir:   filepath.Join(dir, "data"),
		logPath:   filepath.Join(dir, "broker.log"),
		readyPath: filepath.Join(dir, "ready"),
	}
	for _, o := range opts {
		o(b)
	}
	t.Cleanup(func() {
		b.kill()
		if t.Failed() && !useKfake {
			b.logOutput()
			b.keepLog()
		}
	})
	b.start()
	return b
}

// withStablePort makes Restart listen on the port the broker had, as a
// real broker's does, so clients that bootstrapped from the first
// addresses still reach the cluster after every broker restarted.
func withStablePort() brokerOpt { return func(b *testBroker) { b.stablePort = true } }

// Addr is the broker's current "host:port"; it changes on Restart unless
// the broker was started withStablePort.
func (b *testBroker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

func (b *testBroker) start() {
	t := b.t
	t.Helper()
	if useKfake {
		b.startFake()
		return
	}
	if err := os.Remove(b.readyPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	listener := "PLAINTEXT://127.0.0.1:0"
	if addr := b.Addr(); b.stablePort && addr != "" {
		listener = "PLAINTEXT://" + addr
	}
	args := []string{"broker",
		"--override", "listeners=" + listener,
		"--override", "log.dirs=" + b.dataDir,
		"--ready-file", b.readyPath,
	}
	for _, kv := range b.overrides {
		args = append(args, "--override", kv[0]+"="+kv[1])
	}
	args = append(args, b.args...)
	if level := os.Getenv("SAMSA_TEST_LOG_LEVEL"); level != "" {
		args = append(args, "--log-level", level) // debugging a failure
	}
	logFile, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child holds its own descriptor
	fmt.Fprintf(logFile, "=== %s samsa %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))

	cmd := exec.Command(samsaBinary, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	dieWithTests(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start samsa: %v", err)
	}
	exited := make(chan struct{})
	b.mu.Lock()
	b.cmd, b.exited, b.addr = cmd, exited, ""
	b.mu.Unlock()
	go func() {
		err := cmd.Wait()
		b.mu.Lock()
		b.waitErr = err
		b.mu.Unlock()
		close(exited)
	}()

	addr, err := b.waitReady(exited, 30*time.Second)
	if err != nil {
		b.kill()
		if b.expectFailure {
			b.startErr = err
			return
		}
		t.Fatalf("samsa broker did not become ready: %v", err) // cleanup logs its output
	}
	b.mu.Lock()
	b.addr = addr
	b.mu.Unlock()
}

// waitReady polls the ready file until it holds a "host:port" that stays
// the same across two reads, so a half-written file is never used.
func (b *testBroker) waitReady(exited <-chan struct{}, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return "", fmt.Errorf("broker exited before writing %s: %v", b.readyPath, b.exitErr())
		case <-time.After(20 * time.Millisecond):
		}
		raw, err := os.ReadFile(b.readyPath)
		if err != nil {
			continue
		}
		addr := strings.TrimSpace(string(raw))
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" || port == "0" {
			last = ""
			continue
		}
		if addr == last {
			return addr, nil
		}
		last = addr
	}
	return "", fmt.Errorf("no address in %s after %v", b.readyPath, timeout)
}

func (b *testBroker) exitErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.waitErr
}

func (b *testBroker) startFake() {
	t := b.t
	t.Helper()
	autoCreate, partitions := true, 1
	brokerConfigs := map[string]string{}
	for _, kv := range b.overrides {
		k, v := kv[0], kv[1]
		switch k {
		case "auto.create.topics.enable":
			autoCreate = v == "true"
		case "num.partitions":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			partitions = n
		case "log.retention.check.interval.ms":
			// kfake applies retention on its cleaner ticker.
			brokerConfigs["log.cleaner.backoff.ms"] = v
		case "log.retention.ms", "log.retention.bytes", "log.segment.bytes", "message.max.bytes", "compression.type":
			brokerConfigs[k] = v
		default:
			t.Logf("kfake: ignoring override %s=%s", k, v)
		}
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DataDir(b.dataDir),
		kfake.DefaultNumPartitions(partitions),
		kfake.BrokerConfigs(brokerConfigs),
	}
	if autoCreate {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	b.mu.Lock()
	b.fake, b.addr = c, c.ListenAddrs()[0]
	b.mu.Unlock()
}

// Stop sends SIGTERM and waits for a graceful exit with status 0.
func (b *testBroker) Stop() {
	t := b.t
	t.Helper()
	if useKfake {
		b.fake.Close()
		return
	}
	b.mu.Lock()
	cmd, exited := b.cmd, b.exited
	b.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM samsa (pid %d): %v", cmd.Process.Pid, err)
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		b.kill()
		t.Fatalf("samsa (pid %d) still running 20s after SIGTERM", cmd.Process.Pid)
	}
	if err := b.exitErr(); err != nil {
		t.Fatalf("samsa did not exit cleanly on SIGTERM: %v", err)
	}
}

// Kill sends SIGKILL and waits for the process to be gone: a crash, with no
// chance to flush or close anything.
func (b *testBroker) Kill() {
	b.t.Helper()
	if useKfake {
		b.t.Fatal("Kill needs the real binary; call skipOnKfake first")
	}
	b.kill()
}

// kill is Kill without assertions, also used by cleanup.
func (b *testBroker) kill() {
	b.mu.Lock()
	cmd, exited, fake := b.cmd, b.exited, b.fake
	b.mu.Unlock()
	if fake != nil {
		fake.Close()
		return
	}
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// tryStart starts the broker again and returns the error when it does not
// become ready (it exited, or never wrote its address).
func (b *testBroker) tryStart() error {
	b.t.Helper()
	b.expectFailure, b.startErr = true, nil
	defer func() { b.expectFailure = false }()
	b.start()
	return b.startErr
}

// Restart starts the broker again on the same log directory, after Stop or
// Kill. The port may change: clients made before must be replaced.
func (b *testBroker) Restart() {
	b.t.Helper()
	b.start()
}

// logOutput copies the broker's stdout and stderr (all runs) into the test
// log, at most the last 64 KiB.
func (b *testBroker) logOutput() {
	raw, err := os.ReadFile(b.logPath)
	if err != nil {
		b.t.Logf("broker output: %v", err)
		return
	}
	const max = 64 << 10
	if len(raw) > max {
		raw = append([]byte("...\n"), raw[len(raw)-max:]...)
	}
	b.t.Logf("broker output (%s):\n%s", b.logPath, raw)
}

// keepLog copies the broker's whole log into $SAMSA_TEST_KEEP_DIR, when
// set, for debugging a failure beyond the tail logOutput shows.
func (b *testBroker) keepLog() {
	dir := os.Getenv("SAMSA_TEST_KEEP_DIR")
	if dir == "" {
		return
	}
	raw, err := os.ReadFile(b.logPath)
	if err != nil {
		return
	}
	name := strings.ReplaceAll(b.t.Name(), "/", "_") + "-" + filepath.Base(filepath.Dir(b.logPath)) + ".log"
	if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err == nil {
		b.t.Logf("whole broker log kept in %s", filepath.Join(dir, name))
	}
}

// output returns everything the broker printed so far.
func (b *testBroker) output() string {
	raw, _ := os.ReadFile(b.logPath)
	return string(raw)
}

// client returns a kgo client seeded with the broker's current address,
// closed at the end of the test.
func (b *testBroker) client(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(b.Addr()),
		kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.RetryTimeout(20 * time.Second),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// admin returns a kadm client on a fresh kgo client.
func (b *testBroker) admin(t *testing.T) *kadm.Client {
	t.Helper()
	return kadm.NewClient(b.client(t))
}

// checkFor calls fn every poll until it returns nil, failing the test with
// fn's last error once timeout has passed.
func checkFor(t *testing.T, timeout, poll time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(poll)
	}
}

// testContext is a context ending before the test's own deadline.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// createTopic creates a topic with replication factor 1 and fails the test
// on any error.
func createTopic(t *testing.T, adm *kadm.Client, topic string, partitions int32, configs map[string]string) kadm.CreateTopicResponse {
	t.Helper()
	var cfgs map[string]*string
	if len(configs) > 0 {
		cfgs = make(map[string]*string, len(configs))
		for k, v := range configs {
			cfgs[k] = kadm.StringPtr(v)
		}
	}
	resp, err := adm.CreateTopic(testContext(t, 20*time.Second), partitions, 1, cfgs, topic)
	if err != nil {
		t.Fatalf("create topic %q: %v (%s)", topic, err, resp.ErrMessage)
	}
	return resp
}

// produceSync produces records and fails the test if any is not acknowledged.
func produceSync(t *testing.T, cl *kgo.Client, records ...*kgo.Record) {
	t.Helper()
	results := cl.ProduceSync(testContext(t, 30*time.Second), records...)
	if err := results.FirstErr(); err != nil {
		t.Fatalf("produce %d records: %v", len(records), err)
	}
}

// readAll reads every partition of topic from its start offset up to the
// end offset (high watermark) it had when readAll was called, with a fresh
// client, and returns the records per partition in offset order.
func readAll(t *testing.T, b *testBroker, topic string, clientOpts ...kgo.Opt) map[int32][]*kgo.Record {
	t.Helper()
	return readAllVia(t, func(opts ...kgo.Opt) *kgo.Client { return b.client(t, opts...) }, topic, clientOpts...)
}

// readAllVia is readAll with clients made by newClient (a single broker's
// or a cluster's).
func readAllVia(t *testing.T, newClient func(...kgo.Opt) *kgo.Client, topic string, clientOpts ...kgo.Opt) map[int32][]*kgo.Record {
	t.Helper()
	ctx := testContext(t, 60*time.Second)
	got, err := queuecheck.ReadAll(ctx, queuecheck.ReadConfig{
		NewClient: func(opts ...kgo.Opt) *kgo.Client {
			if len(opts) == 0 {
				return newClient() // the admin client
			}
			return newClient(append(opts, clientOpts...)...)
		},
		OnFetchError: func(topic string, p int32, err error) error {
			return fmt.Errorf("fetch %s/%d: %w", topic, p, err)
		},
	}, topic)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// requireContiguous fails unless recs have offsets from, from+1, ….
func requireContiguous(t *testing.T, what string, recs []*kgo.Record, from int64) {
	t.Helper()
	for i, r := range recs {
		if r.Offset != from+int64(i) {
			t.Fatalf("%s: record %d has offset %d, want %d (offsets must be contiguous)", what, i, r.Offset, from+int64(i))
		}
	}
}

// sameRecord reports how got differs from want in what a user sees: key,
// value (nil and empty are different), headers, timestamp to the millisecond.
func sameRecord(want, got *kgo.Record) error {
	if !bytes.Equal(want.Key, got.Key) || (want.Key == nil) != (got.Key == nil) {
		return fmt.Errorf("key %q (nil %v), want %q (nil %v)", got.Key, got.Key == nil, want.Key, want.Key == nil)
	}
	if !bytes.Equal(want.Value, got.Value) || (want.Value == nil) != (got.Value == nil) {
		return fmt.Errorf("value %q (nil %v), want %q (nil %v)", got.Value, got.Value == nil, want.Value, want.Value == nil)
	}
	if len(want.Headers) != len(got.Headers) {
		return fmt.Errorf("%d headers, want %d", len(got.Headers), len(want.Headers))
	}
	for i := range want.Headers {
		w, g := want.Headers[i], got.Headers[i]
		if w.Key != g.Key || !bytes.Equal(w.Value, g.Value) {
			return fmt.Errorf("header %d is %q=%q, want %q=%q", i, g.Key, g.Value, w.Key, w.Value)
		}
	}
	if want.Timestamp.UnixMilli() != got.Timestamp.UnixMilli() {
		return fmt.Errorf("timestamp %d, want %d", got.Timestamp.UnixMilli(), want.Timestamp.UnixMilli())
	}
	return nil
}

// closedByPeer reads from conn until it is closed or timeout passes, and says
// whether the peer closed it.
func closedByPeer(conn net.Conn, timeout time.Duration) (bool, error) {
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 4096)
	for {
		_, err := conn.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return true, nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return false, nil
		}
		return false, err
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func itoa[T ~int | ~int32 | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }
