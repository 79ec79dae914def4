package main

// `bench scale` is `make bench-scale`: issue 14's scale targets measured
// against the real bin/samsa broker, one broker without ZooKeeper, each
// phase on a broker and data directory of its own so that one phase's
// figure is not another's cost:
//
//   - partitions: a topic of --partitions partitions created (CreateTopics
//     answered, then a write acknowledged by every partition), then the
//     broker stopped cleanly and started again (exec to Metadata naming a
//     leader for every partition), its idle CPU and RSS afterwards;
//   - kill: --data written to a few partitions, the broker killed with
//     SIGKILL while the producer still writes, started again (exec to
//     serving), and the last acknowledged records of every partition read
//     back;
//   - sustain: --sustain-rate produced for --sustain while the broker's RSS
//     is sampled, and whether it grew with the data stored.
//
// With --cluster, the partitions phase runs again on three brokers and a
// ZooKeeper (scale_cluster.go).
//
// Speed figures are reported beside their targets (PASS/FAIL) and do not
// fail the run; an acknowledged record missing or corrupt does.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller/zktest"
)

// The scale targets.
const (
	createTarget      = 2 * time.Second
	restartTarget     = 2 * time.Second
	idleCPUTarget     = 2.0 // percent of one core
	rssTarget         = 500 << 20
	killRestartTarget = 5 * time.Second
)

// scaleOptions are the flags of `bench scale`.
type scaleOptions struct {
	samsa              string
	phases             []string
	partitions         int
	idle               time.Duration
	data               int64
	dataPartitions     int
	dataRecordSize     int64
	checkLast          int
	sustain            time.Duration
	sustainRate        int64
	sustainPartitions  int
	sustainRecordSize  int64
	sustainSegment     int64
	sample             time.Duration
	serveTimeout       time.Duration
	output             string
	dir                string
	allowUnmetDiskRoom bool
	cluster            bool
	overrides          listFlag // broker configs set on every broker
}

var scalePhases = []string{"partitions", "kill", "sustain"}

func parseScaleOptions(args []string, stderr io.Writer) (scaleOptions, error) {
	o := scaleOptions{data: 10 << 30, dataRecordSize: 16 << 10, sustainRate: 20 << 20, sustainRecordSize: 1 << 10, sustainSegment: 64 << 20}
	fs := flag.NewFlagSet("bench scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var phases string
	fs.StringVar(&o.samsa, "samsa", "bin/samsa", "the samsa binary to run brokers from")
	fs.StringVar(&phases, "phases", strings.Join(scalePhases, ","), "which phases to run: partitions, kill, sustain")
	fs.IntVar(&o.partitions, "partitions", 10_000, "partitions of the topic created and restarted with")
	fs.DurationVar(&o.idle, "idle", 10*time.Second, "window over which the restarted broker's idle CPU is read")
	fs.Var(sizeFlag{&o.data}, "data", "bytes written before the kill -9 (e.g. 10GiB, 512MiB)")
	fs.IntVar(&o.dataPartitions, "data-partitions", 4, "partitions --data is written to")
	fs.Var(sizeFlag{&o.dataRecordSize}, "data-record-size", "bytes per record of --data")
	fs.IntVar(&o.checkLast, "check-last", 256, "acknowledged records read back per partition after the kill -9 (the last ones)")
	fs.DurationVar(&o.sustain, "sustain", 5*time.Minute, "length of the sustained load (the issue asks for hour-scale: e.g. --sustain 1h)")
	fs.Var(sizeFlag{&o.sustainRate}, "sustain-rate", "bytes per second of the sustained load")
	fs.IntVar(&o.sustainPartitions, "sustain-partitions", 6, "partitions of the sustained load's topic")
	fs.Var(sizeFlag{&o.sustainRecordSize}, "sustain-record-size", "bytes per record of the sustained load")
	fs.Var(sizeFlag{&o.sustainSegment}, "sustain-segment-bytes", "segment.bytes of the sustained load's topic (small, so that segments and their indexes pile up)")
	fs.DurationVar(&o.sample, "sample", 5*time.Second, "RSS sampling interval of the sustained load")
	fs.DurationVar(&o.serveTimeout, "serve-timeout", 5*time.Minute, "how long a starting broker may take to serve before the run fails")
	fs.StringVar(&o.output, "o", "markdown", "output: markdown or json")
	fs.StringVar(&o.dir, "dir", "", "where the brokers' temporary directories go (default: $TMPDIR)")
	fs.Var(&o.overrides, "override", "a broker config, `key=value`, set on every broker (repeatable), e.g. metrics.listener=http://127.0.0.1:9644 to profile one through /debug/pprof/")
	fs.BoolVar(&o.cluster, "cluster", false, "also run the partitions phase on three brokers and a ZooKeeper started here, RF 3")
	fs.BoolVar(&o.allowUnmetDiskRoom, "ignore-disk-room", false, "run even when the file system seems to lack room for --data and the sustained load")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for p := range strings.SplitSeq(phases, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(scalePhases, p) {
			return o, fmt.Errorf("--phases: unknown phase %q (want some of %s)", p, strings.Join(scalePhases, ", "))
		}
		if !slices.Contains(o.phases, p) {
			o.phases = append(o.phases, p)
		}
	}
	switch {
	case o.partitions < 1 || o.dataPartitions < 1 || o.sustainPartitions < 1 || o.checkLast < 1:
		return o, errors.New("--partitions, --data-partitions, --sustain-partitions and --check-last must be positive")
	case o.dataRecordSize < recordHeader || o.sustainRecordSize < recordHeader:
		return o, fmt.Errorf("record sizes must be at least %d bytes", recordHeader)
	case o.dataRecordSize > 900<<10:
		return o, errors.New("--data-record-size must fit a batch (at most 900 KiB)")
	case o.data < o.dataRecordSize || o.sustainRate < 1 || o.sustain <= 0 || o.sample <= 0 || o.idle <= 0:
		return o, errors.New("--data (at least a record), --sustain-rate, --sustain, --sample and --idle must be positive")
	case o.output != "markdown" && o.output != "json":
		return o, fmt.Errorf("-o %q: want markdown or json", o.output)
	}
	return o, nil
}

func (o scaleOptions) runs(phase string) bool { return slices.Contains(o.phases, phase) }

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// scaleReport is what -o json prints.
type scaleReport struct {
	Environment environment `json:"environment"`
	Rows        []scaleRow  `json:"rows"`
	RSS         []rssSample `json:"sustained_rss_samples,omitempty"`
	Notes       []string    `json:"notes,omitempty"`
}

// errRecordsLost marks a run in which an acknowledged record was missing
// or corrupt after a restart: the table is printed, then the run fails.
var errRecordsLost = errors.New("acknowledged records lost or corrupt")

func scaleMain(args []string) int {
	o, err := parseScaleOptions(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "bench scale:", err)
		return 2
	}
	if err := runScale(context.Background(), o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench scale:", err)
		return 1
	}
	return 0
}

func runScale(ctx context.Context, o scaleOptions, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp(o.dir, "samsa-bench-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "bench scale: "+format+"\n", args...) }
	if err := checkDiskRoom(dir, o); err != nil && !o.allowUnmetDiskRoom {
		return err
	}
	rep := scaleReport{Environment: describeEnvironment()}
	// A phase that fails keeps the figures taken before it in the table,
	// and the phases after it do not run.
	var runErr error
	phase := func(selector, name string, run func() ([]scaleRow, error)) {
		if runErr != nil && !errors.Is(runErr, errRecordsLost) || !o.runs(selector) {
			return
		}
		rows, err := run()
		rep.Rows = append(rep.Rows, rows...)
		if err != nil && !errors.Is(err, errRecordsLost) {
			err = fmt.Errorf("%s: %w", name, err)
		}
		runErr = cmpOr(runErr, err)
	}
	phase("partitions", "partitions", func() ([]scaleRow, error) {
		return scalePartitions(ctx, o, filepath.Join(dir, "partitions"), logf)
	})
	if o.cluster {
		phase("partitions", "cluster partitions", func() ([]scaleRow, error) {
			rows, err := scaleClusterPartitions(ctx, o, filepath.Join(dir, "cluster"), logf)
			if errors.Is(err, zktest.ErrUnavailable) {
				note := fmt.Sprintf("three-broker cluster skipped: %v (on Debian: apt-get install zookeeper)", err)
				logf("%s", note)
				rep.Notes = append(rep.Notes, note)
				return rows, nil
			}
			return rows, err
		})
	}
	phase("kill", "kill", func() ([]scaleRow, error) {
		return scaleKill(ctx, o, filepath.Join(dir, "kill"), logf)
	})
	phase("sustain", "sustain", func() ([]scaleRow, error) {
		rows, samples, err := scaleSustain(ctx, o, filepath.Join(dir, "sustain"), logf)
		rep.RSS = samples
		return rows, err
	})
	rep.Notes = append(rep.Notes, "One broker, no ZooKeeper; each phase on a fresh broker and data directory. "+
		"Wall-clock figures include the machine's other load; the producer and the broker share its cores.")
	switch {
	case errors.Is(runErr, errRecordsLost):
		rep.Notes = append(rep.Notes, "FAILED: "+runErr.Error())
	case runErr != nil:
		rep.Notes = append(rep.Notes, "The run stopped: "+runErr.Error())
	}
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		writeScaleMarkdown(stdout, rep.Environment, rep.Rows, rep.Notes)
	}
	return runErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// checkDiskRoom refuses a run whose data would not fit the file system
// with a margin: the kill phase's --data and the sustained load's
// rate × duration, one after the other (each phase removes its data).
func checkDiskRoom(dir string, o scaleOptions) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil // unknown: let the run find out
	}
	free := int64(st.Bavail) * st.Bsize
	var need int64
	if o.runs("kill") {
		need = o.data + o.data/10
	}
	if o.runs("sustain") {
		need = max(need, int64(o.sustain.Seconds()*float64(o.sustainRate))*11/10)
	}
	if need+1<<30 > free {
		return fmt.Errorf("%s has %s free, the run needs about %s (lower --data, --sustain or --sustain-rate, or --ignore-disk-room)",
			dir, fmtBytes(free), fmtBytes(need))
	}
	return nil
}

// scaleBroker is one broker of a phase: a data directory and a loopback
// port kept across restarts, so that clients reconnect to the same
// address.
type scaleBroker struct {
	bin, dir  string
	addr      string
	overrides []string
	// stopTimeout is how long a SIGTERM may take before the broker is
	// killed.
	stopTimeout time.Duration
	p           *samsaProcess
}

func newScaleBroker(bin, dir string, stopTimeout time.Duration, overrides ...string) (*scaleBroker, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	return &scaleBroker{bin: bin, dir: dir, addr: addr, overrides: overrides, stopTimeout: stopTimeout}, nil
}

// start execs the broker and returns once it serves: it accepts
// connections and answers Metadata naming a leader for every partition
// of topics (topic → partitions). It returns the time from exec to then.
func (b *scaleBroker) start(ctx context.Context, topics map[string]int, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	p, err := launchSamsa(b.bin, b.dir, append([]string{"listeners=PLAINTEXT://" + b.addr}, b.overrides...)...)
	if err != nil {
		return 0, err
	}
	b.p = p
	if err := waitServing(ctx, p, b.addr, topics, t0.Add(timeout)); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

func (b *scaleBroker) pid() int { return b.p.cmd.Process.Pid }

// stop stops the broker (SIGTERM), waiting as long as a start may take
// before it kills it, and returns how long it took and whether it exited
// by itself.
func (b *scaleBroker) stop() (time.Duration, bool) {
	if b.p == nil {
		return 0, true
	}
	t0 := time.Now()
	clean := b.p.stopWithin(b.stopTimeout)
	b.p = nil
	return time.Since(t0), clean
}

func (b *scaleBroker) kill() {
	b.p.kill()
	b.p = nil
}

// waitServing polls addr until it accepts a connection, then Metadata
// until it names a leader for every partition of topics, both every few
// milliseconds (kgo's own retry backoff would add hundreds).
func waitServing(ctx context.Context, p *samsaProcess, addr string, topics map[string]int, deadline time.Time) error {
	brokerGone := func() error {
		select {
		case <-p.exited:
			log, _ := os.ReadFile(filepath.Join(p.dir, "broker.log"))
			return fmt.Errorf("samsa broker exited while starting:\n%s", log)
		default:
			return nil
		}
	}
	for {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
			break
		}
		if err := brokerGone(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s accepted no connection in time: %w", addr, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RetryBackoffFn(func(int) time.Duration { return 5 * time.Millisecond }))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := metadataRequest(topics)
	var last error
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := req.RequestWith(rctx, cl)
		cancel()
		if err == nil {
			if err = leadersMissing(resp, topics); err == nil {
				return nil
			}
		}
		last = err
		if err := brokerGone(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not serving in time: %w", addr, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metadataRequest asks for topics' metadata (none: the brokers only).
func metadataRequest(topics map[string]int) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Topics = []kmsg.MetadataRequestTopic{}
	for t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// leadersMissing says why resp does not name a leader for every partition
// of topics (topic → partitions), or nil when it does.
func leadersMissing(resp *kmsg.MetadataResponse, topics map[string]int) error {
	seen := map[string]bool{}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		want, ok := topics[*t.Topic]
		if !ok {
			continue
		}
		if t.ErrorCode != 0 {
			return fmt.Errorf("topic %s: error code %d", *t.Topic, t.ErrorCode)
		}
		led := 0
		for _, p := range t.Partitions {
			if p.ErrorCode == 0 && p.Leader >= 0 {
				led++
			}
		}
		if led < want {
			return fmt.Errorf("topic %s: %d of %d partitions have a leader", *t.Topic, led, want)
		}
		seen[*t.Topic] = true
	}
	for t := range topics {
		if !seen[t] {
			return fmt.Errorf("topic %s: not in the metadata", t)
		}
	}
	return nil
}

// scaleClient is a kgo client for the phases: acks=all and idempotent,
// records placed on the partition set in them, metadata refreshed as soon
// as a partition's leader is unknown (kgo waits 5 s by default, which a
// figure would include).
func scaleClient(addrs []string, opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MetadataMinAge(10 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }),
		kgo.UnknownTopicRetries(-1),
		kgo.RecordDeliveryTimeout(5 * time.Minute),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	}, opts...)...)
}

// scalePartitions is the partitions phase.
func scalePartitions(ctx context.Context, o scaleOptions, dir string, logf func(string, ...any)) ([]scaleRow, error) {
	b, err := newScaleBroker(o.samsa, dir, o.serveTimeout, o.overrides...)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	var rows []scaleRow
	started, err := b.start(ctx, nil, o.serveTimeout)
	if err != nil {
		return nil, err
	}
	rss, err := processRSSParts(b.pid())
	if err != nil {
		return nil, err
	}
	logf("empty broker serving %v after exec, RSS %s", started, fmtBytes(rss.Total))
	rows = append(rows, durationRow("start, one broker, empty: exec → Metadata answered", started, 0),
		rssRow("start, one broker, empty: RSS", rss, 0))

	const topic = "scale-partitions"
	n := o.partitions
	answered, led, writable, err := createAndWriteEach(ctx, []string{b.addr}, topic, n, 1)
	if err != nil {
		return rows, err
	}
	logf("%d partitions: CreateTopics answered after %v, leaders for all after %v, every partition acknowledged a write after %v", n, answered, led, writable)
	rows = append(rows,
		durationRow(fmt.Sprintf("create %s partitions: CreateTopics sent → answered", fmtInt(n)), answered, createTarget),
		durationRow(fmt.Sprintf("create %s partitions: sent → Metadata names every leader", fmtInt(n)), led, 0),
		durationRow(fmt.Sprintf("create %s partitions: sent → every partition acknowledged a write", fmtInt(n)), writable, createTarget))

	stopped, clean := b.stop()
	served, err := b.start(ctx, map[string]int{topic: n}, o.serveTimeout)
	if err != nil {
		return rows, err
	}
	rssServing, err := processRSSParts(b.pid())
	if err != nil {
		return rows, err
	}
	logf("%d partitions: stop took %v (by itself: %v), restart served every leader %v after exec, RSS %s", n, stopped, clean, served, fmtBytes(rssServing.Total))
	// Idle: no client connected, nothing written; the broker's own timers.
	idle, wall, err := idleCPU(b.pid(), o.idle)
	if err != nil {
		return rows, err
	}
	rssIdle, err := processRSSParts(b.pid())
	if err != nil {
		return rows, err
	}
	logf("%d partitions: idle %v CPU in %v, RSS %s", n, idle, wall.Round(time.Millisecond), fmtBytes(rssIdle.Total))
	label := fmt.Sprintf("restart holding %s partitions", fmtInt(n))
	rows = append(rows, stopRow(label, stopped, clean),
		durationRow(label+": exec → Metadata names every leader", served, restartTarget),
		coreShareRow(label+": idle CPU afterwards", idle, wall, idleCPUTarget),
		rssRow(label+": RSS serving", rssServing, rssTarget),
		rssRow(label+fmt.Sprintf(": RSS after %v idle", o.idle), rssIdle, rssTarget))

	// The write each partition acknowledged survived the clean restart.
	cl, err := scaleClient([]string{b.addr})
	if err != nil {
		return rows, err
	}
	defer cl.Close()
	ends, err := endOffsets(ctx, cl, topic)
	if err != nil {
		return rows, err
	}
	if err := checkEndsAtLeast(ends, uniformEnds(n, 0)); err != nil {
		rows = append(rows, scaleRow{Figure: label + ": the write acknowledged by each partition", Measured: err.Error(), Target: "kept", Verdict: fail})
		return rows, fmt.Errorf("%w: %v", errRecordsLost, err)
	}
	return rows, nil
}

// stopRow is how long a SIGTERM took to end the broker; a broker that did
// not exit by itself was killed, and the start after it recovered its logs.
func stopRow(label string, d time.Duration, clean bool) scaleRow {
	r := durationRow(label+": clean stop (SIGTERM → exit)", d, 0)
	r.Target, r.Verdict = "exits by itself", pass
	if !clean {
		r.Measured = fmt.Sprintf("did not exit within %s: killed (the next start recovers its logs)", fmtDuration(d))
		r.Verdict = fail
	}
	return r
}

// uniformEnds is n partitions each whose last acknowledged offset is off.
func uniformEnds(n int, off int64) map[int32]int64 {
	m := make(map[int32]int64, n)
	for p := range n {
		m[int32(p)] = off
	}
	return m
}

// checkEndsAtLeast checks that every partition of acked (partition → last
// acknowledged offset) ends past that offset in ends (partition → end
// offset, the next offset to be written).
func checkEndsAtLeast(ends, acked map[int32]int64) error {
	var short []string
	for p, last := range acked {
		if end, ok := ends[p]; !ok || end <= last {
			short = append(short, fmt.Sprintf("partition %d ends at %d, offset %d was acknowledged", p, ends[p], last))
		}
	}
	if len(short) == 0 {
		return nil
	}
	slices.Sort(short)
	if len(short) > 3 {
		short = append(short[:3], fmt.Sprintf("and %d more", len(short)-3))
	}
	return fmt.Errorf("%s", strings.Join(short, "; "))
}

// createAndWriteEach creates topic with n partitions of rf replicas and
// times, from CreateTopics sent: its answer, Metadata naming every
// partition's leader, and a 100-byte acks=all write acknowledged by every
// partition.
func createAndWriteEach(ctx context.Context, addrs []string, topic string, n int, rf int16) (answered, led, writable time.Duration, err error) {
	cl, err := scaleClient(addrs, kgo.MaxBufferedRecords(n+1))
	if err != nil {
		return 0, 0, 0, err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return 0, 0, 0, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32((5 * time.Minute).Milliseconds()))
	t0 := time.Now()
	resp, err := adm.CreateTopic(ctx, int32(n), rf, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("create %s: %w", topic, err)
	}
	answered = time.Since(t0)
	req := metadataRequest(map[string]int{topic: n})
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := req.RequestWith(rctx, cl)
		cancel()
		if err == nil {
			err = leadersMissing(resp, map[string]int{topic: n})
		}
		if err == nil {
			break
		}
		if time.Since(t0) > 5*time.Minute {
			return 0, 0, 0, fmt.Errorf("%s: %w", topic, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	led = time.Since(t0)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	v := make([]byte, 100)
	for p := range n {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(p), Value: v}, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	wg.Wait()
	writable = time.Since(t0)
	if e := failed.Load(); e != nil {
		return 0, 0, 0, fmt.Errorf("write to each partition of %s: %w", topic, *e)
	}
	return answered, led, writable, nil
}

// recordHeader is the start of each record of the kill and sustain
// phases: its partition (4 bytes) and its sequence number in that
// partition (8 bytes), which on a fresh topic written by one idempotent
// producer is its offset. The rest is a fixed random body.
const recordHeader = 12

func putRecordHeader(v []byte, partition int32, seq int64) {
	binary.BigEndian.PutUint32(v, uint32(partition))
	binary.BigEndian.PutUint64(v[4:], uint64(seq))
}

// checkRecord says what is wrong with v read from partition at offset, or
// nil when it is the record written there: header and body intact.
func checkRecord(v []byte, partition int32, offset int64, body []byte) error {
	if len(v) != recordHeader+len(body) {
		return fmt.Errorf("partition %d offset %d: %d bytes, want %d", partition, offset, len(v), recordHeader+len(body))
	}
	p, seq := int32(binary.BigEndian.Uint32(v)), int64(binary.BigEndian.Uint64(v[4:]))
	if p != partition || seq != offset {
		return fmt.Errorf("partition %d offset %d holds record %d of partition %d", partition, offset, seq, p)
	}
	if !bytes.Equal(v[recordHeader:], body) {
		return fmt.Errorf("partition %d offset %d: body corrupt", partition, offset)
	}
	return nil
}

// ackTracker follows a producer's acknowledgements: per partition the last
// acknowledged offset, and the bytes and records acknowledged. Its
// callback checks that each record landed at the offset its sequence
// number says.
type ackTracker struct {
	mu       sync.Mutex
	last     map[int32]int64
	bytes    atomic.Int64
	records  atomic.Int64
	failed   atomic.Pointer[error]
	mismatch error
}

func newAckTracker() *ackTracker { return &ackTracker{last: map[int32]int64{}} }

func (a *ackTracker) done(r *kgo.Record, err error) {
	if err != nil {
		a.failed.CompareAndSwap(nil, &err)
		return
	}
	seq := int64(binary.BigEndian.Uint64(r.Value[4:]))
	a.mu.Lock()
	if seq != r.Offset && a.mismatch == nil {
		a.mismatch = fmt.Errorf("record %d of partition %d was acknowledged at offset %d", seq, r.Partition, r.Offset)
	}
	if last, ok := a.last[r.Partition]; !ok || r.Offset > last {
		a.last[r.Partition] = r.Offset
	}
	a.mu.Unlock()
	a.bytes.Add(int64(len(r.Value)))
	a.records.Add(1)
}

func (a *ackTracker) snapshot() map[int32]int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.last)
}

// recordBody is the fixed random body of records of size bytes.
func recordBody(size int64) []byte {
	body := make([]byte, size-recordHeader)
	r := rand.New(rand.NewPCG(14, uint64(size)))
	for i := range body {
		body[i] = byte(r.Uint32())
	}
	return body
}

// scaleKill is the kill -9 phase.
func scaleKill(ctx context.Context, o scaleOptions, dir string, logf func(string, ...any)) ([]scaleRow, error) {
	b, err := newScaleBroker(o.samsa, dir, o.serveTimeout, o.overrides...)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	if _, err := b.start(ctx, nil, o.serveTimeout); err != nil {
		return nil, err
	}
	const topic = "scale-data"
	parts := o.dataPartitions
	cl, err := scaleClient([]string{b.addr}, kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedBytes(256<<20),
		kgo.MaxBufferedRecords(1<<20), kgo.ProducerBatchMaxBytes(1<<20), kgo.RecordRetries(3))
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			cl.Close()
		}
	}()
	if err := createTopic(ctx, cl, topic, int32(parts), 1); err != nil {
		return nil, err
	}
	body := recordBody(o.dataRecordSize)
	acks := newAckTracker()
	pctx, stopProducing := context.WithCancel(ctx)
	defer stopProducing()
	var inflight sync.WaitGroup
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := int64(0); pctx.Err() == nil; i++ {
			p := int32(i % int64(parts))
			v := make([]byte, o.dataRecordSize)
			putRecordHeader(v, p, i/int64(parts))
			copy(v[recordHeader:], body)
			inflight.Add(1)
			cl.Produce(pctx, &kgo.Record{Topic: topic, Partition: p, Value: v}, func(r *kgo.Record, err error) {
				defer inflight.Done()
				acks.done(r, err)
			})
		}
	}()
	t0 := time.Now()
	lastLog := t0
	for acks.bytes.Load() < o.data {
		if e := acks.failed.Load(); e != nil {
			return nil, fmt.Errorf("write %s: %w", topic, *e)
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			logf("kill -9: %s of %s acknowledged (%.0f MB/s)", fmtBytes(acks.bytes.Load()), fmtBytes(o.data), float64(acks.bytes.Load())/1e6/time.Since(t0).Seconds())
		}
		time.Sleep(20 * time.Millisecond)
	}
	writeTime := time.Since(t0)
	// The producer is still writing: the broker dies with records in
	// flight, some perhaps written and not yet acknowledged.
	b.kill()
	stopProducing()
	<-produced
	cl.Close()
	closed = true
	inflight.Wait()
	acks.mu.Lock()
	mismatch := acks.mismatch
	acks.mu.Unlock()
	if mismatch != nil {
		return nil, mismatch
	}
	acked := acks.snapshot()
	stored := acks.bytes.Load()
	onDisk := diskUsage(filepath.Join(dir, "data"))
	logf("kill -9: %s in %d records acknowledged in %v (%.0f MB/s), %s on disk; killed while writing",
		fmtBytes(stored), acks.records.Load(), writeTime.Round(time.Millisecond), float64(stored)/1e6/writeTime.Seconds(), fmtBytes(onDisk))

	served, err := b.start(ctx, map[string]int{topic: parts}, o.serveTimeout)
	if err != nil {
		return nil, err
	}
	rss, err := processRSSParts(b.pid())
	if err != nil {
		return nil, err
	}
	logf("kill -9: restart served every leader %v after exec, RSS %s", served, fmtBytes(rss.Total))
	label := fmt.Sprintf("kill -9 holding %s (%s on disk)", fmtBytes(stored), fmtBytes(onDisk))
	rows := []scaleRow{
		durationRow(label+": exec → Metadata names every leader", served, killRestartTarget),
		rssRow(label+": RSS serving", rss, rssTarget),
	}
	checked, err := checkAcked(ctx, b.addr, topic, acked, o.checkLast, body)
	keep := scaleRow{Figure: label + ": acknowledged records kept", Target: "none lost", Unit: "records checked", Value: float64(checked)}
	if err != nil {
		keep.Measured, keep.Verdict = err.Error(), fail
		return append(rows, keep), fmt.Errorf("%w: %v", errRecordsLost, err)
	}
	keep.Measured = fmt.Sprintf("every partition ends past its last acknowledged offset; the last %d acknowledged records of each read back intact (%d)", o.checkLast, checked)
	keep.Verdict = pass
	return append(rows, keep), nil
}

// checkAcked checks, after a restart, that each partition of topic ends
// past its last acknowledged offset (acked) and that its last checkLast
// acknowledged records read back intact; it returns how many it read.
func checkAcked(ctx context.Context, addr, topic string, acked map[int32]int64, checkLast int, body []byte) (int, error) {
	cl, err := scaleClient([]string{addr})
	if err != nil {
		return 0, err
	}
	ends, err := endOffsets(ctx, cl, topic)
	cl.Close()
	if err != nil {
		return 0, err
	}
	if err := checkEndsAtLeast(ends, acked); err != nil {
		return 0, err
	}
	from := map[int32]kgo.Offset{}
	want := map[int32]int64{} // next offset expected
	for p, last := range acked {
		first := max(0, last+1-int64(checkLast))
		from[p] = kgo.NewOffset().At(first)
		want[p] = first
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return 0, err
	}
	defer cons.Close()
	checked := 0
	for {
		pending := 0
		for p, last := range acked {
			if want[p] <= last {
				pending++
			}
		}
		if pending == 0 {
			return checked, nil
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		fs := cons.PollFetches(pctx)
		cancel()
		if fs.NumRecords() == 0 && pctx.Err() != nil {
			return checked, fmt.Errorf("read back %s: no progress in 30s with %d partitions short of their last acknowledged offset", topic, pending)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = err
			}
		})
		if ferr != nil {
			return checked, fmt.Errorf("read back %s: %w", topic, ferr)
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			if r.Offset > acked[r.Partition] {
				continue // written, never acknowledged: may or may not be there
			}
			if r.Offset != want[r.Partition] {
				return checked, fmt.Errorf("read back %s: partition %d gave offset %d, want %d", topic, r.Partition, r.Offset, want[r.Partition])
			}
			if err := checkRecord(r.Value, r.Partition, r.Offset, body); err != nil {
				return checked, err
			}
			want[r.Partition]++
			checked++
		}
	}
}

// diskUsage is the bytes of disk the files under dir hold (allocated
// blocks: a preallocated, sparse index counts what it uses).
func diskUsage(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				total += st.Blocks * 512
			}
		}
		return nil
	})
	return total
}

// scaleSustain is the sustained-load phase.
func scaleSustain(ctx context.Context, o scaleOptions, dir string, logf func(string, ...any)) ([]scaleRow, []rssSample, error) {
	b, err := newScaleBroker(o.samsa, dir, o.serveTimeout, o.overrides...)
	if err != nil {
		return nil, nil, err
	}
	defer b.stop()
	if _, err := b.start(ctx, nil, o.serveTimeout); err != nil {
		return nil, nil, err
	}
	const topic = "scale-sustain"
	parts := o.sustainPartitions
	cl, err := scaleClient([]string{b.addr}, kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	if err := createTopicWith(ctx, cl, topic, int32(parts), 1, map[string]string{"segment.bytes": fmt.Sprint(o.sustainSegment)}); err != nil {
		return nil, nil, err
	}
	body := recordBody(o.sustainRecordSize)
	acks := newAckTracker()
	var inflight sync.WaitGroup
	var samples []rssSample
	sample := func(at time.Duration) error {
		rss, err := processRSSParts(b.pid())
		if err != nil {
			return err
		}
		samples = append(samples, rssSample{At: at, RSS: rss.Total, Anon: rss.Anon, File: rss.File, Stored: acks.bytes.Load()})
		return nil
	}
	cpu0, err := processCPU(b.pid())
	if err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	nextSample := o.sample
	var i int64
	// Paced in 10 ms steps: each step sends what the rate owes by then.
	for tick := time.NewTicker(10 * time.Millisecond); ; <-tick.C {
		elapsed := time.Since(t0)
		if elapsed >= o.sustain {
			tick.Stop()
			break
		}
		if e := acks.failed.Load(); e != nil {
			return nil, samples, fmt.Errorf("write %s: %w", topic, *e)
		}
		owed := int64(elapsed.Seconds()*float64(o.sustainRate)) / o.sustainRecordSize
		for ; i < owed; i++ {
			p := int32(i % int64(parts))
			v := make([]byte, o.sustainRecordSize)
			putRecordHeader(v, p, i/int64(parts))
			copy(v[recordHeader:], body)
			inflight.Add(1)
			cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: p, Value: v}, func(r *kgo.Record, err error) {
				defer inflight.Done()
				acks.done(r, err)
			})
		}
		if elapsed >= nextSample {
			nextSample += o.sample
			if err := sample(elapsed); err != nil {
				return nil, samples, err
			}
			last := samples[len(samples)-1]
			logf("sustain %v: RSS %s (anonymous %s, file-backed %s), %s stored", elapsed.Round(time.Second),
				fmtBytes(last.RSS), fmtBytes(last.Anon), fmtBytes(last.File), fmtBytes(last.Stored))
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return nil, samples, err
	}
	inflight.Wait()
	wall := time.Since(t0)
	if err := sample(wall); err != nil {
		return nil, samples, err
	}
	cpu1, err := processCPU(b.pid())
	if err != nil {
		return nil, samples, err
	}
	if e := acks.failed.Load(); e != nil {
		return nil, samples, fmt.Errorf("write %s: %w", topic, *e)
	}
	acks.mu.Lock()
	mismatch := acks.mismatch
	acks.mu.Unlock()
	if mismatch != nil {
		return nil, samples, mismatch
	}
	stored := acks.bytes.Load()
	label := fmt.Sprintf("sustained load, %v at %s/s (%s stored)", o.sustain, fmtBytes(o.sustainRate), fmtBytes(stored))
	rows := trendRows(label, trendOf(afterWarmUp(samples, o.sustain)))
	rows = append(rows, scaleRow{Figure: label + ": broker CPU", Unit: "CPU-s per GiB",
		Value:    (cpu1 - cpu0).Seconds() / (float64(stored) / (1 << 30)),
		Measured: fmt.Sprintf("%.2f CPU-s per GiB (%.1f%% of a core)", (cpu1-cpu0).Seconds()/(float64(stored)/(1<<30)), (cpu1-cpu0).Seconds()/wall.Seconds()*100)})
	// Every acknowledged record is stored: each partition's end offset is
	// the count written to it (fresh topic, one idempotent producer).
	ends, err := endOffsets(ctx, cl, topic)
	if err != nil {
		return rows, samples, err
	}
	acked := acks.snapshot()
	if err := checkEndsAtLeast(ends, acked); err != nil {
		rows = append(rows, scaleRow{Figure: label + ": acknowledged records kept", Measured: err.Error(), Target: "none lost", Verdict: fail})
		return rows, samples, fmt.Errorf("%w: %v", errRecordsLost, err)
	}
	return rows, samples, nil
}

// afterWarmUp drops the samples of the load's first tenth: the broker's
// heap and the producer's buffers fill then whatever the data stored, and
// the trend is about what comes after.
func afterWarmUp(samples []rssSample, load time.Duration) []rssSample {
	for i, s := range samples {
		if s.At >= load/10 {
			return samples[i:]
		}
	}
	return nil
}

// fmtInt prints n with thousands separators: 10,000.
func fmtInt(n int) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// idleCPU is the CPU time process pid spends over d, and the wall time
// measured.
func idleCPU(pid int, d time.Duration) (cpu, wall time.Duration, err error) {
	cpu0, err := processCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	w0 := time.Now()
	time.Sleep(d)
	cpu1, err := processCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	return cpu1 - cpu0, time.Since(w0), nil
}
