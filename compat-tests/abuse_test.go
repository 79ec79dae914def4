package compattests

// Hostile and careless clients at the connection level: frames that never
// finish, clients that never read, floods of connections. Each test does
// what such a client does, checks what Kafka would do, and ends by checking
// that every record acknowledged before the abuse is still there, in place
// and in order (writeVictim / stillServes).

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// pid is the broker process's ID.
func (b *testBroker) pid() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cmd.Process.Pid
}

// memKiB reads a memory figure of the broker process from
// /proc/<pid>/status: "VmRSS" (resident now) or "VmHWM" (the peak). The
// test is skipped where there is no /proc.
func (b *testBroker) memKiB(t *testing.T, field string) int64 {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads the broker's memory from /proc")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", b.pid()))
	if err != nil {
		t.Fatalf("read the broker's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", sc.Text(), err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, b.pid())
	return 0
}

// openFDs counts the broker process's open file descriptors.
func (b *testBroker) openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", b.pid()))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// waitForDescriptors waits until the broker holds at most n open file
// descriptors (connections it has let go of no longer count).
func (b *testBroker) waitForDescriptors(t *testing.T, n int) {
	t.Helper()
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if now := b.openFDs(t); now > n {
			return fmt.Errorf("the broker holds %d descriptors, want at most %d", now, n)
		}
		return nil
	})
}

// halfSentFrames opens n connections, each claiming a frame of claim bytes
// and sending send of them as fast as the broker takes them. It returns
// once no connection has sent a byte for a second (the broker stopped
// reading them), with a function that closes them all.
func halfSentFrames(t *testing.T, addr string, n, claim, send int) (stop func()) {
	t.Helper()
	var sent atomic.Int64
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			hdr := binary.BigEndian.AppendUint32(nil, uint32(claim))
			if _, err := c.Write(hdr); err != nil {
				return
			}
			chunk := make([]byte, 256<<10)
			for left := send; left > 0; {
				k, err := c.Write(chunk[:min(len(chunk), left)])
				sent.Add(int64(k))
				left -= k
				if err != nil {
					return
				}
			}
		}()
	}
	stop = func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}
	last, still := int64(-1), 0
	for deadline := time.Now().Add(60 * time.Second); still < 5; {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("the clients kept sending for a minute (%d MiB so far)", sent.Load()>>20)
		}
		time.Sleep(200 * time.Millisecond)
		if now := sent.Load(); now == last {
			still++
		} else {
			last, still = now, 0
		}
	}
	t.Logf("%d connections sent %d MiB in all before the broker stopped reading", n, sent.Load()>>20)
	return stop
}

func TestHalfSentHugeFramesKeepBrokerMemoryBounded(t *testing.T) {
	// 100 connections each claim a 100 MiB request (socket.request.max.bytes)
	// and send half of it: 5 GB that Kafka, without queued.max.request.bytes,
	// would read into memory. Samsa's request budget (32 MiB by default)
	// stops reading them, so the broker stays under 128 MiB, and small
	// requests from other clients are still served meanwhile.
	skipOnKfake(t, "the memory of the broker process")
	b := startBroker(t)
	before := writeVictim(t, b)
	const claim, conns = 100 << 20, 100
	const limitKiB = 128 << 10

	fds := b.openFDs(t)
	stop := halfSentFrames(t, b.Addr(), conns, claim, claim/2)
	rss := b.memKiB(t, "VmRSS")
	t.Logf("broker RSS with %d half-sent 100 MiB frames: %d MiB (peak %d MiB)", conns, rss>>10, b.memKiB(t, "VmHWM")>>10)
	if rss > limitKiB {
		stop()
		t.Fatalf("broker RSS %d MiB with %d half-sent 100 MiB frames, want under 128 MiB", rss>>10, conns)
	}
	// Meanwhile a stock client still produces and reads.
	cl := b.client(t)
	produceSync(t, cl, &kgo.Record{Topic: victim, Value: []byte("during the flood")})
	before = append(before, "during the flood")
	stop()
	peak1 := b.memKiB(t, "VmHWM")
	b.waitForDescriptors(t, fds+5) // the stock client's connections may stay

	// A second round reuses what the first freed.
	stop = halfSentFrames(t, b.Addr(), conns, claim, claim/2)
	rss = b.memKiB(t, "VmRSS")
	stop()
	peak2 := b.memKiB(t, "VmHWM")
	t.Logf("second round: RSS %d MiB, peak %d MiB (first round's peak %d MiB)", rss>>10, peak2>>10, peak1>>10)
	if rss > limitKiB {
		t.Fatalf("broker RSS %d MiB in the second round, want under 128 MiB", rss>>10)
	}
	// A round that did not reuse the first one's buffers would add its
	// whole 80 MiB. The new connections' own state (a read buffer,
	// goroutines: under 100 KiB each) lands in fresh memory until the
	// next collection, so allow that much.
	if peak2 > peak1+16<<10 {
		t.Fatalf("the second round raised the broker's peak RSS from %d to %d MiB: the first round's memory was not reused", peak1>>10, peak2>>10)
	}
	stillServes(t, b, before)
}

// fetchFrame is a raw Fetch v11 for partition 0 of topic from offset 0.
func fetchFrame(topic string, corr int32) []byte {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes, req.MaxWaitMillis, req.SessionEpoch = 11, -1, 50<<20, 500, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 10 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return frame(req.Key(), req.Version, corr, false, req.AppendTo(nil))
}

// writeBulk fills topic with about 4 MiB of records, so that each fetch
// of it is answered with megabytes.
func writeBulk(t *testing.T, b *testBroker, topic string) {
	t.Helper()
	createTopic(t, b.admin(t), topic, 1, nil)
	value := []byte(strings.Repeat("x", 100<<10))
	var recs []*kgo.Record
	for i := 0; i < 40; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Value: value})
	}
	produceSync(t, b.client(t, kgo.ProducerBatchMaxBytes(1<<20)), recs...)
}

func TestClientThatNeverReadsIsDisconnectedAfterTheIdleTimeout(t *testing.T) {
	// A client pipelines 100 fetches of megabytes and reads nothing. Kafka
	// closes a connection whose pending send has not moved for
	// connections.max.idle.ms; so does Samsa, instead of holding the
	// connection (and the responses) for ever.
	skipOnKfake(t, "connection handling of the real broker")
	t.Parallel()
	b := startBroker(t, withOverride("connections.max.idle.ms", "2000"))
	before := writeVictim(t, b)
	writeBulk(t, b, "bulk")

	c := dialRaw(t, b.Addr())
	for i := int32(0); i < 100; i++ {
		c.write(fetchFrame("bulk", i))
	}
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		if !strings.Contains(b.output(), "client is not reading its responses") {
			return fmt.Errorf("the broker has not given up on the client yet")
		}
		return nil
	})
	// What the kernel had buffered still arrives, then the end.
	got := 0
	for {
		_, _, err := c.readFrame()
		if err != nil {
			break
		}
		got++
	}
	if got >= 100 {
		t.Fatalf("all %d responses arrived: the connection was not closed", got)
	}
	t.Logf("%d of 100 responses were on their way when the connection closed", got)
	stillServes(t, b, before)
}

func TestSigtermStopsWithinTenSecondsWhateverClientsDo(t *testing.T) {
	// With Kafka's 10-minute idle timeout, a client that never reads, a
	// consumer waiting for records and a half-sent frame must not keep a
	// single broker from stopping: SIGTERM ends it in under 10 s, and the
	// logs are closed cleanly (the next start recovers nothing).
	skipOnKfake(t, "signals to the broker process")
	b := startBroker(t)
	before := writeVictim(t, b)
	writeBulk(t, b, "bulk")

	stuck := dialRaw(t, b.Addr())
	for i := int32(0); i < 100; i++ {
		stuck.write(fetchFrame("bulk", i))
	}
	poller := dialRaw(t, b.Addr())
	wait := kmsg.NewPtrFetchRequest()
	wait.Version, wait.ReplicaID, wait.MaxBytes, wait.MaxWaitMillis, wait.MinBytes, wait.SessionEpoch = 11, -1, 1<<20, 60_000, 1<<30, -1
	wt := kmsg.NewFetchRequestTopic()
	wt.Topic = victim
	wp := kmsg.NewFetchRequestTopicPartition()
	wp.FetchOffset, wp.PartitionMaxBytes = int64(len(before)), 1<<20
	wt.Partitions = append(wt.Partitions, wp)
	wait.Topics = append(wait.Topics, wt)
	poller.write(frame(wait.Key(), wait.Version, 1, false, wait.AppendTo(nil)))
	partial := dialRaw(t, b.Addr())
	partial.write(append(binary.BigEndian.AppendUint32(nil, 50<<20), make([]byte, 1<<20)...))
	time.Sleep(500 * time.Millisecond) // let the broker take them all in

	start := time.Now()
	b.Stop()
	took := time.Since(start)
	t.Logf("SIGTERM took %v", took)
	if took > 10*time.Second {
		t.Fatalf("SIGTERM took %v with clients that do not cooperate, want under 10 s", took)
	}
	if _, _, err := poller.readFrame(); err != nil {
		t.Errorf("the waiting fetch got no answer before the broker stopped: %v", err)
	}
	mark := len(b.output())
	b.Restart()
	if strings.Contains(b.output()[mark:], "recovered log after an unclean shutdown") {
		t.Fatalf("the restart recovered logs: SIGTERM did not close them cleanly\n%s", b.output()[mark:])
	}
	stillServes(t, b, before)
}

// dialRawFrom connects from a given local address (any of 127.0.0.0/8
// works on loopback), so one test can be a client of its own address.
func dialRawFrom(t *testing.T, addr, local string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn}
}

func TestConnectionsOverTheirAddressLimitAreClosedAndLoggedOnce(t *testing.T) {
	// max.connections.per.ip(.overrides): Kafka accepts the connection
	// over the limit and closes it at once. Rejections are logged, but a
	// client that retries in a loop cannot flood the log: repeated
	// warnings from one address are counted, not printed. The client here
	// is 127.0.0.2, limited to 2; the test's other clients (127.0.0.1) are
	// not limited.
	skipOnKfake(t, "connection quotas")
	t.Parallel()
	const client = "127.0.0.2"
	b := startBroker(t, withOverride("max.connections.per.ip.overrides", client+":2"))
	before := writeVictim(t, b)
	var open []*rawConn
	for i := 0; i < 2; i++ {
		c := dialRawFrom(t, b.Addr(), client)
		c.write(frame(18, 0, 1, false, nil))
		if _, _, err := c.readFrame(); err != nil {
			t.Fatalf("connection %d of 2 allowed: %v", i+1, err)
		}
		open = append(open, c)
	}
	for i := 0; i < 200; i++ {
		c := dialRawFrom(t, b.Addr(), client)
		if !c.closed(5 * time.Second) {
			t.Fatalf("connection %d over the limit of 2 stayed open", i+3)
		}
		c.conn.Close()
	}
	if n := strings.Count(b.output(), "rejected connection"); n < 1 || n > 2 {
		t.Fatalf("%d warnings logged for 200 rejected connections from one address, want 1 (or 2 across an interval)", n)
	}

	// The overrides are a dynamic config, as in Kafka: raising the
	// address's limit takes effect for the next connection.
	alter := []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.connections.per.ip.overrides", Value: kmsg.StringPtr(client + ":10")}}
	resp, err := b.admin(t).AlterBrokerConfigsState(testContext(t, 10*time.Second), alter)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range resp {
		if r.Err != nil {
			t.Fatalf("alter max.connections.per.ip.overrides: %v", r.Err)
		}
	}
	checkFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		c := dialRawFrom(t, b.Addr(), client)
		defer c.conn.Close()
		c.write(frame(18, 0, 1, false, nil))
		if _, _, err := c.readFrame(); err != nil {
			return fmt.Errorf("a third connection after raising the override: %v", err)
		}
		return nil
	})
	for _, c := range open {
		c.conn.Close()
	}
	stillServes(t, b, before)
}

func TestMaxConnectionsMakesNewConnectionsWaitForAFreeSlot(t *testing.T) {
	// max.connections: Kafka's acceptor stops accepting at the limit and
	// resumes when a connection closes; the new client waits, it is not
	// refused.
	skipOnKfake(t, "connection quotas")
	t.Parallel()
	b := startBroker(t, withOverride("max.connections", "2"))
	first, second := dialRaw(t, b.Addr()), dialRaw(t, b.Addr())
	for _, c := range []*rawConn{first, second} {
		c.write(frame(18, 0, 1, false, nil))
		if _, _, err := c.readFrame(); err != nil {
			t.Fatalf("a connection under max.connections: %v", err)
		}
	}
	third := dialRaw(t, b.Addr())
	third.write(frame(18, 0, 3, false, nil))
	third.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := third.conn.Read(make([]byte, 1)); err == nil {
		t.Fatal("a third connection was served with max.connections=2")
	}
	first.conn.Close()
	if corr, _, err := third.readFrame(); err != nil || corr != 3 {
		t.Fatalf("the waiting connection after a slot freed: corr %d, %v", corr, err)
	}
}

func TestFailedAcksZeroProduceClosesTheConnection(t *testing.T) {
	// An acks=0 producer gets no response, so Kafka closes the connection
	// when the write fails: the producer notices, reconnects and refreshes
	// its metadata. A good acks=0 write keeps the connection.
	skipOnKfake(t, "kfake keeps the connection")
	t.Parallel()
	b := startBroker(t)
	before := writeVictim(t, b)
	c := dialRaw(t, b.Addr())
	version := c.maxVersion(0, 9)
	good := produceRequest(version, victim, recordBatch("acks=0"))
	good.Acks = 0
	c.write(frame(good.Key(), version, 2, good.IsFlexible(), good.AppendTo(nil)))
	before = append(before, "acks=0")

	bad := recordBatch("lost")
	bad[len(bad)-2] ^= 1 // the CRC no longer matches
	req := produceRequest(version, victim, bad)
	req.Acks = 0
	c.write(frame(req.Key(), version, 3, req.IsFlexible(), req.AppendTo(nil)))
	if !c.closed(10 * time.Second) {
		t.Fatal("an acks=0 produce with a bad CRC left the connection open")
	}
	stillServes(t, b, before)
}

// hugeCreateTopics sends, on a connection of its own, a CreateTopics of n
// one-partition topics named prefix-0 ... and returns once the broker has
// created some of them (it works through them one by one).
func hugeCreateTopics(t *testing.T, b *testBroker, prefix string, n int) *rawConn {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version, req.TimeoutMillis = 4, 600_000
	for i := 0; i < n; i++ {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = prefix+"-"+itoa(i), 1, 1
		req.Topics = append(req.Topics, rt)
	}
	c := dialRaw(t, b.Addr())
	c.write(frame(req.Key(), req.Version, 1, false, req.AppendTo(nil)))
	adm := b.admin(t)
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if got := countTopics(t, adm, prefix); got < 5 {
			return fmt.Errorf("%d of the %d topics created so far", got, n)
		}
		return nil
	})
	return c
}

func countTopics(t *testing.T, adm *kadm.Client, prefix string) int {
	t.Helper()
	topics, err := adm.ListTopics(testContext(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for name := range topics {
		if strings.HasPrefix(name, prefix+"-") {
			n++
		}
	}
	return n
}

func TestACreateTopicsWhoseClientLeftStopsCreating(t *testing.T) {
	// A client asks for 20,000 topics and goes away. Kafka's controller
	// would go on; Samsa stops with the topic at hand, so one request
	// does not hold the admin side for minutes after its client left.
	skipOnKfake(t, "request cancellation of the real broker")
	t.Parallel()
	b := startBroker(t)
	before := writeVictim(t, b)
	c := hugeCreateTopics(t, b, "flood", 20_000)
	c.conn.Close()
	adm := b.admin(t)
	last, still := -1, 0
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		n := countTopics(t, adm, "flood")
		if n == last {
			still++
		} else {
			last, still = n, 0
		}
		if still < 10 {
			return fmt.Errorf("still creating: %d topics", n)
		}
		return nil
	})
	if last >= 20_000 {
		t.Fatalf("all %d topics were created for a client that had left", last)
	}
	t.Logf("%d of 20000 topics created before the client left and the broker stopped", last)
	// Other admin requests go through at once.
	start := time.Now()
	createTopic(t, adm, "after-flood", 1, nil)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a one-topic CreateTopics after the flood took %v", took)
	}
	stillServes(t, b, before)
}

func TestSigtermDuringAHugeCreateTopicsStopsWithinTenSeconds(t *testing.T) {
	// The broker is creating thousands of topics for one request when
	// SIGTERM comes: it stops within 10 s, cleanly, and starts again with
	// the topics it created.
	skipOnKfake(t, "signals to the broker process")
	b := startBroker(t)
	before := writeVictim(t, b)
	hugeCreateTopics(t, b, "flood", 20_000)
	start := time.Now()
	b.Stop()
	took := time.Since(start)
	t.Logf("SIGTERM took %v", took)
	if took > 10*time.Second {
		t.Fatalf("SIGTERM during a 20,000-topic CreateTopics took %v, want under 10 s", took)
	}
	mark := len(b.output())
	b.Restart()
	if strings.Contains(b.output()[mark:], "recovered log after an unclean shutdown") {
		t.Fatalf("the restart recovered logs: SIGTERM did not close them cleanly")
	}
	t.Logf("%d topics created before SIGTERM", countTopics(t, b.admin(t), "flood"))
	stillServes(t, b, before)
}
