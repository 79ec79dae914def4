// Command bench is `make bench`: it runs the same workloads against a
// Samsa broker and against franz-go's in-memory fake (kfake), each a child
// process whose own CPU time is read from /proc, interleaved for several
// rounds, then against a three-broker Samsa cluster (ZooKeeper started
// here) with RF 3 and RF 1 topics, and prints the medians as a Markdown
// table. Every record produced is read back and checked; a record lost,
// duplicated, reordered or corrupt fails the run.
//
// `bench scale` (make bench-scale) measures the scale targets instead:
// see scale.go.
//
// It is its own main package so that kfake, a test fake, is never linked
// into the samsa binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/controller/zktest"
)

// options are the command's flags.
type options struct {
	samsa          string
	records        int64
	zstdRecords    int64
	recordSize     int
	largeRecords   int64
	largeSize      int
	partitions     int
	linger         time.Duration
	e2eRate        int
	e2eDuration    time.Duration
	rounds         int
	cluster        bool
	clusterRecords int64
	output         string
	dir            string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.samsa, "samsa", "bin/samsa", "the samsa binary to run brokers from")
	fs.Int64Var(&o.records, "records", 1_000_000, "records per small-record produce run")
	fs.Int64Var(&o.zstdRecords, "zstd-records", 0, "records per zstd produce run (default: --records)")
	fs.IntVar(&o.recordSize, "record-size", 100, "bytes per small record (at least 8)")
	fs.Int64Var(&o.largeRecords, "large-records", 200_000, "records per large-record produce run")
	fs.IntVar(&o.largeSize, "large-record-size", 1024, "bytes per large record (at least 8)")
	fs.IntVar(&o.partitions, "partitions", 6, "partitions of the produce topics")
	fs.DurationVar(&o.linger, "linger", 5*time.Millisecond, "producer linger of the produce runs")
	fs.IntVar(&o.e2eRate, "e2e-rate", 10_000, "records/s of the end-to-end latency run (linger 0)")
	fs.DurationVar(&o.e2eDuration, "e2e-duration", 3*time.Second, "length of the end-to-end latency run")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of the interleaved Samsa and kfake runs")
	fs.BoolVar(&o.cluster, "cluster", true, "also run a three-broker Samsa cluster on ZooKeeper")
	fs.Int64Var(&o.clusterRecords, "cluster-records", 0, "records per cluster produce run (default: --records)")
	fs.StringVar(&o.output, "o", "markdown", "output: markdown or json")
	fs.StringVar(&o.dir, "dir", "", "where the brokers' temporary directories go (default: $TMPDIR)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.clusterRecords == 0 {
		o.clusterRecords = o.records
	}
	if o.zstdRecords == 0 {
		o.zstdRecords = o.records
	}
	switch {
	case o.recordSize < 8 || o.largeSize < 8:
		return o, errors.New("record sizes must be at least 8 bytes")
	case o.records < 1 || o.largeRecords < 1 || o.zstdRecords < 1 || o.clusterRecords < 1 || o.partitions < 1 || o.rounds < 1 || o.e2eRate < 1:
		return o, errors.New("--records, --large-records, --zstd-records, --cluster-records, --partitions, --rounds and --e2e-rate must be positive")
	case o.output != "markdown" && o.output != "json":
		return o, fmt.Errorf("-o %q: want markdown or json", o.output)
	}
	return o, nil
}

func main() {
	if os.Getenv(kfakeEnv) != "" || (len(os.Args) > 1 && os.Args[1] == kfakeSubcommand) {
		os.Exit(serveKfake())
	}
	if len(os.Args) > 1 && os.Args[1] == "scale" {
		os.Exit(scaleMain(os.Args[2:]))
	}
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(context.Background(), o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// report is what -o json prints.
type report struct {
	Environment  environment   `json:"environment"`
	Rows         []row         `json:"rows"`
	TopicReady   []readyRow    `json:"topic_ready,omitempty"`
	Measurements []measurement `json:"measurements"`
	Notes        []string      `json:"notes,omitempty"`
}

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	dir, err := os.MkdirTemp(o.dir, "samsa-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }

	ms, err := runSingle(ctx, o, dir, logf)
	if err != nil {
		return err
	}
	var ready []readyRow
	var notes []string
	if o.cluster {
		cms, cready, err := runCluster(ctx, o, dir, logf)
		switch {
		case errors.Is(err, zktest.ErrUnavailable):
			note := fmt.Sprintf("three-broker cluster skipped: %v (on Debian: apt-get install zookeeper)", err)
			logf("%s", note)
			notes = append(notes, note)
		case err != nil:
			return err
		}
		ms = append(ms, cms...)
		ready = cready
	}
	rep := report{Environment: describeEnvironment(), Rows: summarizeRuns(ms), TopicReady: ready, Measurements: ms, Notes: notes}
	if o.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeMarkdown(stdout, rep.Environment, rep.Rows, rep.TopicReady, rep.Notes)
	return nil
}

// runSingle runs the workloads round by round, each against Samsa then
// kfake (A B A B), each run on a topic of its own deleted afterwards.
func runSingle(ctx context.Context, o options, dir string, logf func(string, ...any)) ([]measurement, error) {
	samsa, err := startSamsa(o.samsa, filepath.Join(dir, "samsa"))
	if err != nil {
		return nil, err
	}
	defer samsa.stop()
	fake, err := startKfake()
	if err != nil {
		return nil, err
	}
	defer fake.stop()
	logf("samsa broker pid %d on %s, kfake pid %d on %s", samsa.pids[0], samsa.addrs[0], fake.pids[0], fake.addrs[0])

	workloads := []struct {
		name       string
		partitions int32
		configs    map[string]string // of the topic
		run        func(t *target, topic string) (measurement, error)
	}{
		{fmt.Sprintf("produce %d B", o.recordSize), int32(o.partitions), nil, func(t *target, topic string) (measurement, error) {
			return runProduce(ctx, t.addrs, produceSpec{topic: topic, partitions: int32(o.partitions), n: o.records, size: o.recordSize, linger: o.linger, fresh: true}, t.cpu)
		}},
		{fmt.Sprintf("produce %s", sizeName(o.largeSize)), int32(o.partitions), nil, func(t *target, topic string) (measurement, error) {
			return runProduce(ctx, t.addrs, produceSpec{topic: topic, partitions: int32(o.partitions), n: o.largeRecords, size: o.largeSize, linger: o.linger, fresh: true}, t.cpu)
		}},
		// The topic keeps the producer's codec (compression.type producer,
		// Kafka's default, set here so that a broker default cannot change
		// it): the broker may store the batches as they came, without
		// decompressing them, which the issue asks of it.
		{fmt.Sprintf("produce %d B zstd", o.recordSize), int32(o.partitions), map[string]string{"compression.type": "producer"}, func(t *target, topic string) (measurement, error) {
			return runProduce(ctx, t.addrs, produceSpec{topic: topic, partitions: int32(o.partitions), n: o.zstdRecords, size: o.recordSize, linger: o.linger, fresh: true,
				compression: []kgo.CompressionCodec{kgo.ZstdCompression()}}, t.cpu)
		}},
		{e2eName(o.e2eRate), 1, nil, func(t *target, topic string) (measurement, error) {
			return runEndToEnd(ctx, t.addrs, topic, o.e2eRate, o.e2eDuration, o.recordSize, t.cpu)
		}},
		// Reads: a consumer reading a topic from its start, the cost of
		// serving fetches.
		{fmt.Sprintf("read %s", sizeName(o.largeSize)), int32(o.partitions), nil, func(t *target, topic string) (measurement, error) {
			return runRead(ctx, t.addrs, produceSpec{topic: topic, partitions: int32(o.partitions), n: o.largeRecords, size: o.largeSize, linger: o.linger, fresh: true}, t.cpu)
		}},
	}
	var ms []measurement
	for round := 1; round <= o.rounds; round++ {
		for wi, w := range workloads {
			for _, t := range []*target{samsa, fake} {
				topic := fmt.Sprintf("bench-w%d-r%d", wi, round)
				m, err := onTopic(ctx, t, topic, w.partitions, 1, w.configs, func() (measurement, error) { return w.run(t, topic) })
				if err != nil {
					return nil, fmt.Errorf("round %d, %s, %s: %w", round, w.name, t.name, err)
				}
				m.Workload, m.Target, m.Round = w.name, t.name, round
				logf("round %d %-28s %-6s %9.0f records/s, p99 %v, broker CPU %v", round, w.name, t.name,
					float64(m.Records)/m.Elapsed.Seconds(), m.P99.Round(time.Microsecond), m.CPU)
				ms = append(ms, m)
			}
		}
	}
	return ms, nil
}

// onTopic creates topic on t, runs fn and deletes the topic, so that
// neither broker holds the earlier rounds' records.
func onTopic(ctx context.Context, t *target, topic string, partitions int32, rf int16, configs map[string]string, fn func() (measurement, error)) (measurement, error) {
	cl, err := newProducer(t.addrs, 0)
	if err != nil {
		return measurement{}, err
	}
	defer cl.Close()
	if err := createTopicWith(ctx, cl, topic, partitions, rf, configs); err != nil {
		return measurement{}, err
	}
	defer deleteTopic(ctx, cl, topic)
	return fn()
}

// runCluster runs, round by round, RF 1 and RF 3 produce runs on a
// three-broker cluster: on topics created by the run (the write starts as
// CreateTopics returns) and on topics that already exist, and times from
// CreateTopics returning to the first write's acknowledgement.
func runCluster(ctx context.Context, o options, dir string, logf func(string, ...any)) ([]measurement, []readyRow, error) {
	c, err := startSamsaCluster(o.samsa, filepath.Join(dir, "cluster"))
	if err != nil {
		return nil, nil, err
	}
	defer c.stop()
	logf("samsa cluster pids %v on %v", c.pids, c.addrs)
	cl, err := newProducer(c.addrs, 0)
	if err != nil {
		return nil, nil, err
	}
	defer cl.Close()
	if err := waitBrokers(ctx, cl, 3); err != nil {
		return nil, nil, err
	}
	rfs := []int16{1, 3}
	for _, rf := range rfs {
		topic := fmt.Sprintf("bench-existing-rf%d", rf)
		if err := createTopic(ctx, cl, topic, int32(o.partitions), rf); err != nil {
			return nil, nil, err
		}
		if err := waitTopic(ctx, cl, topic); err != nil {
			return nil, nil, err
		}
		// One write to every partition, acknowledged: the topic is in use.
		if _, err := runProduce(ctx, c.addrs, produceSpec{topic: topic, partitions: int32(o.partitions), n: int64(o.partitions), size: o.recordSize, fresh: true}, c.cpu); err != nil {
			return nil, nil, fmt.Errorf("warm %s: %w", topic, err)
		}
	}
	var ms []measurement
	readyMs := map[int16][]float64{}
	for round := 1; round <= o.rounds; round++ {
		for _, rf := range rfs {
			d, err := topicReady(ctx, c.addrs, fmt.Sprintf("bench-ready-rf%d-r%d", rf, round), rf)
			if err != nil {
				return nil, nil, fmt.Errorf("round %d, topic ready RF %d: %w", round, rf, err)
			}
			logf("round %d topic ready RF %d: %v", round, rf, d.Round(time.Microsecond))
			readyMs[rf] = append(readyMs[rf], d.Seconds()*1000)
		}
		for _, existing := range []bool{false, true} {
			for _, rf := range rfs {
				name := fmt.Sprintf("produce %d B, new topic", o.recordSize)
				topic := fmt.Sprintf("bench-new-rf%d-r%d", rf, round)
				if existing {
					name = fmt.Sprintf("produce %d B, existing topic", o.recordSize)
					topic = fmt.Sprintf("bench-existing-rf%d", rf)
				} else if err := createTopic(ctx, cl, topic, int32(o.partitions), rf); err != nil {
					return nil, nil, err
				}
				m, err := runProduce(ctx, c.addrs, produceSpec{topic: topic, partitions: int32(o.partitions), n: o.clusterRecords, size: o.recordSize, linger: o.linger, fresh: !existing}, c.cpu)
				if err != nil {
					return nil, nil, fmt.Errorf("round %d, %s, RF %d: %w", round, name, rf, err)
				}
				if !existing {
					deleteTopic(ctx, cl, topic)
				}
				m.Workload, m.Target, m.Round = name, fmt.Sprintf("samsa×3 RF %d", rf), round
				logf("round %d %-28s RF %d %9.0f records/s, p99 %v, brokers' CPU %v", round, name, rf,
					float64(m.Records)/m.Elapsed.Seconds(), m.P99.Round(time.Microsecond), m.CPU)
				ms = append(ms, m)
			}
		}
		// End-to-end latency through the leader and, for RF 3, its
		// followers: the consumer sees a record once the high watermark
		// passes it, so RF 3 adds the followers' fetch round trip.
		for _, rf := range rfs {
			topic := fmt.Sprintf("bench-e2e-rf%d-r%d", rf, round)
			if err := createTopic(ctx, cl, topic, 1, rf); err != nil {
				return nil, nil, err
			}
			if err := waitTopic(ctx, cl, topic); err != nil {
				return nil, nil, err
			}
			m, err := runEndToEnd(ctx, c.addrs, topic, o.e2eRate, o.e2eDuration, o.recordSize, c.cpu)
			if err != nil {
				return nil, nil, fmt.Errorf("round %d, %s, RF %d: %w", round, e2eName(o.e2eRate), rf, err)
			}
			deleteTopic(ctx, cl, topic)
			m.Workload, m.Target, m.Round = e2eName(o.e2eRate), fmt.Sprintf("samsa×3 RF %d", rf), round
			logf("round %d %-28s RF %d p50 %v, p99 %v, p99.9 %v", round, m.Workload, rf,
				m.P50.Round(time.Microsecond), m.P99.Round(time.Microsecond), m.P999.Round(time.Microsecond))
			ms = append(ms, m)
		}
	}
	var ready []readyRow
	for _, rf := range rfs {
		ready = append(ready, readyRow{Target: fmt.Sprintf("samsa×3 RF %d", rf), Ms: spreadOf(readyMs[rf])})
	}
	return ms, ready, nil
}

// e2eName names the end-to-end latency workload at rate records/s.
func e2eName(rate int) string {
	return fmt.Sprintf("end-to-end %s rec/s, linger 0", fmtCount(float64(rate)))
}

func sizeName(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

func describeEnvironment() environment {
	env := environment{CPU: "unknown CPU", Cores: runtime.NumCPU(), Go: runtime.Version(), FranzGo: "unknown",
		Command: strings.Join(append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...), " ")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		env.CPU = cpuModel(string(b))
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/twmb/franz-go" {
				env.FranzGo = d.Version
			}
		}
	}
	return env
}
