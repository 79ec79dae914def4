// Package bench is `samsa bench`: a produce and consume benchmark for any
// Kafka-compatible broker, driven by franz-go the way an application would.
//
// It creates the topic (or reuses it), runs --producers kgo clients that
// write --records values of --record-size bytes between them, and reports
// produce throughput and the latency of each acknowledgement (from the
// Produce call to its promise). With --consume, a consumer tails the topic
// during the run to measure end-to-end latency (the produce time written
// into each value, to the moment the consumer has the record), and a fresh
// consumer then reads everything back to measure consume throughput.
//
// Sizes are bytes; MiB/s counts value bytes only (2^20 bytes a MiB).
package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// config is the parsed command line.
type config struct {
	brokers     []string
	topic       string
	partitions  int32
	replication int16
	records     int
	recordSize  int
	producers   int
	linger      time.Duration
	batchMax    int32
	acks        string
	compression string
	consume     bool
}

// Main runs the benchmark with the arguments that follow `bench` and returns
// the process exit code: 0 on success, 1 if the run failed, 2 on bad usage.
func Main(args []string) int {
	if len(args) > 0 && args[0] == "bench" {
		args = args[1:]
	}
	cfg, err := parseArgs(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(os.Stderr, "samsa bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "samsa bench:", err)
		return 1
	}
	return 0
}

func parseArgs(args []string, usage io.Writer) (config, error) {
	fs := flag.NewFlagSet("samsa bench", flag.ContinueOnError)
	fs.SetOutput(usage)
	var (
		cfg         config
		brokers     string
		partitions  int
		replication int
		batchMax    string
	)
	fs.StringVar(&brokers, "brokers", "", "comma-separated bootstrap `host:port` list (required)")
	fs.StringVar(&cfg.topic, "topic", "samsa-bench", "topic to write; created if missing")
	fs.IntVar(&partitions, "partitions", 6, "partitions of the topic when it is created")
	fs.IntVar(&replication, "replication-factor", -1, "replication factor of the topic when it is created (-1: the broker's default)")
	fs.IntVar(&cfg.records, "records", 1000000, "records to produce, over all producers")
	fs.IntVar(&cfg.recordSize, "record-size", 100, "value size in bytes")
	fs.IntVar(&cfg.producers, "producers", 1, "producer clients, each with its own connections")
	fs.DurationVar(&cfg.linger, "linger", 5*time.Millisecond, "how long a producer waits to fill a batch")
	fs.StringVar(&batchMax, "batch-max", "1MB", "largest record batch, e.g. 16KB, 1MB (KB and MB are 1024-based)")
	fs.StringVar(&cfg.acks, "acks", "all", "acknowledgements: all (idempotent), 1 or 0")
	fs.StringVar(&cfg.compression, "compression", "none", "codec: none, gzip, snappy, lz4, zstd")
	fs.BoolVar(&cfg.consume, "consume", true, "also measure end-to-end latency and read everything back")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, b := range strings.Split(brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			cfg.brokers = append(cfg.brokers, b)
		}
	}
	if len(cfg.brokers) == 0 {
		return config{}, errors.New("--brokers is required")
	}
	if cfg.topic == "" {
		return config{}, errors.New("--topic must not be empty")
	}
	if partitions < 1 || partitions > 1<<20 {
		return config{}, fmt.Errorf("--partitions %d: must be at least 1", partitions)
	}
	cfg.partitions = int32(partitions)
	if replication == 0 || replication < -1 || replication > math.MaxInt16 {
		return config{}, fmt.Errorf("--replication-factor %d: must be -1 or at least 1", replication)
	}
	cfg.replication = int16(replication)
	if cfg.records < 1 {
		return config{}, fmt.Errorf("--records %d: must be at least 1", cfg.records)
	}
	if cfg.recordSize < 0 {
		return config{}, fmt.Errorf("--record-size %d: must not be negative", cfg.recordSize)
	}
	if cfg.producers < 1 || cfg.producers > cfg.records {
		return config{}, fmt.Errorf("--producers %d: must be between 1 and --records", cfg.producers)
	}
	if cfg.linger < 0 {
		return config{}, fmt.Errorf("--linger %v: must not be negative", cfg.linger)
	}
	n, err := parseSize(batchMax)
	if err != nil {
		return config{}, fmt.Errorf("--batch-max: %w", err)
	}
	if n < 1 || n > 1<<30 {
		return config{}, fmt.Errorf("--batch-max %s: must be between 1 byte and 1GB", batchMax)
	}
	cfg.batchMax = int32(n)
	switch cfg.acks {
	case "all", "-1":
		cfg.acks = "all"
	case "1", "0":
	default:
		return config{}, fmt.Errorf("--acks %q: want all, 1 or 0", cfg.acks)
	}
	if _, err := codec(cfg.compression); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// parseSize reads a byte count with an optional B, KB/KiB/K, MB/MiB/M or
// GB/GiB/G suffix; all multiples are powers of 1024.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10},
		{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10},
		{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1},
	} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a number of bytes such as 16384, 16KB or 1MB", s)
	}
	return n * mult, nil
}

func codec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("--compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// producerOpts are the kgo options every producer client gets.
func (cfg config) producerOpts() []kgo.Opt {
	c, _ := codec(cfg.compression)
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.brokers...),
		kgo.DefaultProduceTopic(cfg.topic),
		kgo.ProducerLinger(cfg.linger),
		kgo.ProducerBatchMaxBytes(cfg.batchMax),
		kgo.ProducerBatchCompression(c),
	}
	switch cfg.acks {
	case "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	return opts
}

// result is what one run measured.
type result struct {
	produced, consumed         int
	produceTime, consumeTime   time.Duration
	producedBytes, readBytes   int64
	ackLatency, endToEnd       []time.Duration
	endToEndFromRecordMillis   bool // values too short to hold a nanosecond timestamp
	consumeSkipped, e2eSkipped bool
	partitions                 int // of the topic as found or created
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	admCl, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...))
	if err != nil {
		return err
	}
	adm := kadm.NewClient(admCl)
	defer adm.Close()

	if err := ensureTopic(ctx, adm, cfg); err != nil {
		return err
	}
	starts, err := adm.ListEndOffsets(ctx, cfg.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("list end offsets of %s: %w", cfg.topic, err)
	}

	res := result{consumeSkipped: !cfg.consume, e2eSkipped: !cfg.consume, partitions: len(starts[cfg.topic])}
	var tail *tailConsumer
	if cfg.consume {
		tail, err = startTail(ctx, cfg, starts.KOffsets())
		if err != nil {
			return err
		}
	}

	if err := produce(ctx, cfg, &res); err != nil {
		if tail != nil {
			tail.stop()
		}
		return err
	}
	if tail != nil {
		res.endToEnd, res.endToEndFromRecordMillis = tail.wait(ctx, cfg.records)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := readBack(ctx, cfg, adm, starts, &res); err != nil {
			return err
		}
	}
	printResult(out, cfg, &res)
	return nil
}

func ensureTopic(ctx context.Context, adm *kadm.Client, cfg config) error {
	resp, err := adm.CreateTopic(ctx, cfg.partitions, cfg.replication, nil, cfg.topic)
	if errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w %s", cfg.topic, err, resp.ErrMessage)
	}
	// Metadata may lag creation on some brokers; wait until it shows.
	deadline := time.Now().Add(10 * time.Second)
	for {
		topics, err := adm.ListTopics(ctx, cfg.topic)
		if err == nil && topics[cfg.topic].Err == nil && len(topics[cfg.topic].Partitions) > 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("topic %s created but not in metadata: %v", cfg.topic, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// payload returns a value template: random capital letters, the same in
// every record, as Kafka's own producer benchmark uses.
func payload(size int) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, size)
	for i := range b {
		b[i] = 'A' + byte(rng.IntN(26))
	}
	return b
}

// produce runs the producers and fills in the produce half of res.
func produce(ctx context.Context, cfg config, res *result) error {
	clients := make([]*kgo.Client, cfg.producers)
	for i := range clients {
		cl, err := kgo.NewClient(cfg.producerOpts()...)
		if err != nil {
			return err
		}
		defer cl.Close()
		clients[i] = cl
	}
	// Warm up metadata and connections so the first records do not pay
	// for them.
	for _, cl := range clients {
		if err := cl.Ping(ctx); err != nil {
			return fmt.Errorf("connect: %w", err)
		}
	}

	template := payload(cfg.recordSize)
	latency := make([]time.Duration, cfg.records) // slot i is written once, by record i's promise
	var (
		failed   atomic.Int64
		firstErr atomic.Pointer[error]
		wg       sync.WaitGroup
	)
	begin := time.Now()
	for p, cl := range clients {
		from, to := p*cfg.records/cfg.producers, (p+1)*cfg.records/cfg.producers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from; i < to && ctx.Err() == nil; i++ {
				value := make([]byte, len(template))
				copy(value, template)
				sent := time.Now()
				if len(value) >= 8 {
					binary.BigEndian.PutUint64(value, uint64(sent.UnixNano()))
				}
				cl.Produce(ctx, &kgo.Record{Value: value, Timestamp: sent}, func(_ *kgo.Record, err error) {
					latency[i] = time.Since(sent)
					if err != nil && failed.Add(1) == 1 {
						firstErr.Store(&err)
					}
				})
			}
			if err := cl.Flush(ctx); err != nil && failed.Add(1) == 1 {
				firstErr.Store(&err)
			}
		}()
	}
	wg.Wait()
	res.produceTime = time.Since(begin)
	if err := ctx.Err(); err != nil {
		return err
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d records failed, first: %w", n, *firstErr.Load())
	}
	res.produced = cfg.records
	res.producedBytes = int64(cfg.records) * int64(cfg.recordSize)
	res.ackLatency = latency
	return nil
}

// tailConsumer reads the topic while it is produced to and records each
// record's end-to-end latency.
type tailConsumer struct {
	cl      *kgo.Client
	done    chan struct{}
	cancel  context.CancelFunc
	mu      sync.Mutex
	lat     []time.Duration
	byMilli bool
}

func startTail(ctx context.Context, cfg config, from map[string]map[int32]kgo.Offset) (*tailConsumer, error) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(cfg.brokers...),
		kgo.ConsumePartitions(from),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &tailConsumer{cl: cl, done: make(chan struct{}), cancel: cancel, lat: make([]time.Duration, 0, cfg.records)}
	go func() {
		defer close(t.done)
		for len(t.lat) < cfg.records {
			fetches := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			now := time.Now()
			t.mu.Lock()
			fetches.EachRecord(func(r *kgo.Record) {
				if len(r.Value) >= 8 {
					t.lat = append(t.lat, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))))
				} else {
					t.byMilli = true
					t.lat = append(t.lat, now.Sub(r.Timestamp))
				}
			})
			t.mu.Unlock()
		}
	}()
	return t, nil
}

// wait waits until the tail consumer has seen n records (or gives up 30s
// after the last progress) and returns the latencies it measured.
func (t *tailConsumer) wait(ctx context.Context, n int) ([]time.Duration, bool) {
	defer t.stop()
	last, lastChange := -1, time.Now()
	for {
		select {
		case <-t.done:
			return t.lat, t.byMilli
		case <-ctx.Done():
			return nil, false
		case <-time.After(50 * time.Millisecond):
		}
		t.mu.Lock()
		seen := len(t.lat)
		t.mu.Unlock()
		if seen != last {
			last, lastChange = seen, time.Now()
		} else if time.Since(lastChange) > 30*time.Second {
			fmt.Fprintf(os.Stderr, "samsa bench: end-to-end consumer saw %d of %d records\n", seen, n)
			t.stop()
			return t.lat, t.byMilli
		}
	}
}

func (t *tailConsumer) stop() {
	t.cancel()
	<-t.done
	t.cl.Close()
}

// readBack reads everything produced with a fresh consumer.
func readBack(ctx context.Context, cfg config, adm *kadm.Client, starts kadm.ListedOffsets, res *result) error {
	ends, err := adm.ListEndOffsets(ctx, cfg.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("list end offsets of %s: %w", cfg.topic, err)
	}
	remaining := map[int32]int64{} // partition -> end offset still to reach
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok && o.Offset > s.Offset {
			remaining[o.Partition] = o.Offset
		}
	})

	begin := time.Now()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.brokers...), kgo.ConsumePartitions(starts.KOffsets()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(remaining) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := remaining[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			res.consumed++
			res.readBytes += int64(len(r.Value))
			if r.Offset == end-1 {
				delete(remaining, r.Partition)
			}
		})
	}
	res.consumeTime = time.Since(begin)
	return nil
}

func printResult(w io.Writer, cfg config, res *result) {
	fmt.Fprintf(w, "samsa bench: %d records of %d B to %s (%d partitions), %d producer(s), acks=%s, compression=%s, linger=%v, batch-max=%d B\n\n",
		cfg.records, cfg.recordSize, cfg.topic, res.partitions, cfg.producers, cfg.acks, cfg.compression, cfg.linger, cfg.batchMax)

	fmt.Fprintf(w, "%-12s %12s %10s %14s %10s\n", "phase", "records", "seconds", "records/s", "MiB/s")
	row := func(name string, n int, bytes int64, d time.Duration) {
		secs := d.Seconds()
		fmt.Fprintf(w, "%-12s %12d %10.3f %14s %10.2f\n", name, n, secs, thousands(float64(n)/secs), float64(bytes)/(1<<20)/secs)
	}
	row("produce", res.produced, res.producedBytes, res.produceTime)
	if !res.consumeSkipped {
		row("consume", res.consumed, res.readBytes, res.consumeTime)
	}

	fmt.Fprintf(w, "\n%-12s %9s %9s %9s %9s %9s %9s\n", "latency (ms)", "p50", "p90", "p99", "p99.9", "max", "samples")
	lrow := func(name string, ds []time.Duration) {
		s := summarize(ds)
		fmt.Fprintf(w, "%-12s %9.2f %9.2f %9.2f %9.2f %9.2f %9d\n", name,
			ms(s.p50), ms(s.p90), ms(s.p99), ms(s.p999), ms(s.max), s.n)
	}
	lrow("ack", res.ackLatency)
	if !res.e2eSkipped {
		lrow("end-to-end", res.endToEnd)
		if res.endToEndFromRecordMillis {
			fmt.Fprintln(w, "(end-to-end from the record timestamp, to the millisecond: values under 8 bytes)")
		}
	}
	if cfg.acks == "0" {
		fmt.Fprintln(w, "(acks=0: a record's promise runs once its request is written; nothing is acknowledged)")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// thousands formats a rate with thousands separators.
func thousands(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
