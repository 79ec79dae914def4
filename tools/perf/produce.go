package perf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// produceFlags are `samsa perf produce`'s flags; the names are
// kafka-producer-perf-test.sh's, the shortcuts (--acks, --linger, ...)
// Samsa's.
type produceFlags struct {
	topic             string
	numRecords        int64
	recordSize        int
	payloadFile       string
	payloadDelimiter  string
	throughput        float64
	producerProps     []string
	acks              string
	linger            time.Duration
	lingerSet         bool
	batchSize         int
	compression       string
	partitions        int32
	replicationFactor int16
	producers         int
	reportingInterval millis
}

// ProduceSummary is what `samsa perf produce` measured: the records
// acknowledged and those that failed, their rate, and the latency of the
// acknowledged ones from the Produce call to the acknowledgement.
type ProduceSummary struct {
	Topic         string         `json:"topic"`
	Records       int64          `json:"records"`
	Errors        int64          `json:"errors"`
	Bytes         int64          `json:"bytes"`
	ElapsedMs     float64        `json:"elapsed_ms"`
	RecordsPerSec float64        `json:"records_per_sec"`
	MBPerSec      float64        `json:"mb_per_sec"`
	Latency       LatencySummary `json:"latency"`
}

func newProduceCommand(env *cli.Env) *cobra.Command {
	f := produceFlags{reportingInterval: millis(5 * time.Second)}
	cmd := &cobra.Command{
		Use:   "produce --topic TOPIC --num-records N (--record-size BYTES | --payload-file FILE) [flags] [key=value ...]",
		Short: "Produce records as fast as allowed and measure throughput and latency (kafka-producer-perf-test)",
		Long: `Produce --num-records records to --topic, each --record-size bytes of
random capital letters (the same in every record, as Kafka's tool sends)
or one of --payload-file's records, chosen at random. --throughput caps
the rate in records per second (-1: no cap). The topic is created when
it does not exist, with --partitions and --replication-factor.

Producer configs go in --producer-props key=value (Kafka's names: acks,
linger.ms, batch.size, compression.type, enable.idempotence,
max.in.flight.requests.per.connection, ...; key=value arguments after the
flags count too, so Kafka's "--producer-props a=1 b=2" works); --acks,
--linger, --batch-size and --compression override them.

Exits 1 if any record failed, after the summary.`,
		Example: `  samsa perf produce --topic perf --num-records 1000000 --record-size 100 --throughput -1 --acks all
  samsa perf produce --topic perf --num-records 100000 --record-size 1024 --compression lz4 --producers 4 -o json`,
		Args: cli.Args(func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if !bytes.ContainsRune([]byte(a), '=') {
					return fmt.Errorf("unexpected argument %q: producer properties are key=value", a)
				}
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.producerProps = append(f.producerProps, args...)
			f.lingerSet = cmd.Flags().Changed("linger")
			return runProduce(cmd, env, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.topic, "topic", "", "the topic to produce to (required)")
	fl.Int64Var(&f.numRecords, "num-records", 0, "how many records to produce (required)")
	fl.IntVar(&f.recordSize, "record-size", 0, "each record's value size in bytes (this or --payload-file)")
	fl.StringVar(&f.payloadFile, "payload-file", "", "a file of values, split by --payload-delimiter; each record takes one at random")
	fl.StringVar(&f.payloadDelimiter, "payload-delimiter", "\\n", "what separates --payload-file's values")
	fl.Float64Var(&f.throughput, "throughput", -1, "the most records per second to send (-1: no cap)")
	// An array, not a comma-split list: a value may hold commas
	// (bootstrap.servers=a:9092,b:9092), and Kafka separates props by
	// spaces, which the key=value arguments take.
	fl.StringArrayVar(&f.producerProps, "producer-props", nil, "a producer config, `key=value` (Kafka's names; repeat the flag, or list more as arguments)")
	fl.StringVar(&f.acks, "acks", "", "acknowledgements: all (-1), 1 or 0 (default all, idempotent)")
	fl.DurationVar(&f.linger, "linger", 0, "how long a batch waits to fill, linger.ms as a duration (default franz-go's 10ms)")
	fl.IntVar(&f.batchSize, "batch-size", 0, "the largest record batch in bytes, batch.size (default franz-go's 1000012)")
	fl.StringVar(&f.compression, "compression", "", "none, gzip, snappy, lz4 or zstd (default none)")
	fl.Int32Var(&f.partitions, "partitions", -1, "partitions of the topic if it is created (-1: the broker's num.partitions)")
	fl.Int16Var(&f.replicationFactor, "replication-factor", -1, "replication factor of the topic if it is created (-1: the broker's default)")
	fl.IntVar(&f.producers, "producers", 1, "producer clients running side by side, sharing the records and the cap")
	fl.Var(&f.reportingInterval, "reporting-interval", "how often to print progress when not on a terminal (ms, or a duration)")
	return cmd
}

// options checks the flags and turns them into kgo producer options.
func (f *produceFlags) options() ([]kgo.Opt, error) {
	switch {
	case f.topic == "":
		return nil, cli.Usagef("--topic is required")
	case f.numRecords < 1:
		return nil, cli.Usagef("--num-records is required, at least 1")
	case (f.recordSize > 0) == (f.payloadFile != ""):
		return nil, cli.Usagef("give either --record-size (at least 1) or --payload-file, not both")
	case f.throughput == 0:
		return nil, cli.Usagef("--throughput 0 would send nothing: give a positive cap, or -1 for none")
	case f.producers < 1 || int64(f.producers) > f.numRecords:
		return nil, cli.Usagef("--producers %d: want 1 to --num-records", f.producers)
	case f.partitions == 0 || f.partitions < -1:
		return nil, cli.Usagef("--partitions %d: want -1 or at least 1", f.partitions)
	case f.replicationFactor == 0 || f.replicationFactor < -1:
		return nil, cli.Usagef("--replication-factor %d: want -1 or at least 1", f.replicationFactor)
	}
	props := f.producerProps
	if f.acks != "" {
		props = append(props, "acks="+f.acks)
	}
	if f.linger < 0 {
		return nil, cli.Usagef("--linger %v: must not be negative", f.linger)
	}
	if f.lingerSet {
		props = append(props, fmt.Sprintf("linger.ms=%d", f.linger.Milliseconds()))
	}
	if f.batchSize != 0 {
		props = append(props, fmt.Sprintf("batch.size=%d", f.batchSize))
	}
	if f.compression != "" {
		props = append(props, "compression.type="+f.compression)
	}
	return producerOptions(props)
}

// payloads are the values records take: one of random capital letters,
// as Kafka's tool sends, or --payload-file's.
func (f *produceFlags) payloads() ([][]byte, error) {
	if f.payloadFile == "" {
		rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
		v := make([]byte, f.recordSize)
		for i := range v {
			v[i] = 'A' + byte(rng.IntN(26))
		}
		return [][]byte{v}, nil
	}
	data, err := os.ReadFile(f.payloadFile)
	if err != nil {
		return nil, fmt.Errorf("read --payload-file: %w", err)
	}
	delim := []byte(unescapeDelimiter(f.payloadDelimiter))
	var out [][]byte
	for _, p := range bytes.Split(data, delim) {
		if len(p) > 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--payload-file %s holds no payloads", f.payloadFile)
	}
	return out, nil
}

// unescapeDelimiter reads \n, \t and \r in a delimiter typed on a command
// line, as Kafka's --payload-delimiter default "\n" means a newline.
func unescapeDelimiter(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func runProduce(cmd *cobra.Command, env *cli.Env, f *produceFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	payloads, err := f.payloads()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	adm, err := newAdmin(ctx, env)
	if err != nil {
		return err
	}
	defer adm.Close()
	out := progressWriter(env)
	if created, err := ensureTopic(ctx, env, adm, f.topic, f.partitions, f.replicationFactor); err != nil {
		return err
	} else if created {
		fmt.Fprintf(out, "created topic %s\n", f.topic)
	}

	opts = append(opts, kgo.DefaultProduceTopic(f.topic))
	clients := make([]*kgo.Client, f.producers)
	for i := range clients {
		cl, err := env.NewClient(ctx, opts...)
		if err != nil {
			return err
		}
		defer cl.Close()
		clients[i] = cl
	}

	run := newProduceRun(f, payloads)
	rep := &reporter{
		out:      out,
		terminal: isTerminal(out),
		interval: time.Duration(f.reportingInterval),
		periodic: run.periodicLine,
		live:     run.liveLine,
	}
	rep.start()
	elapsed := run.produce(ctx, clients)
	rep.stop()

	s := run.summary(elapsed)
	if env.JSON() {
		err = cli.PrintJSON(env.Stdout, s)
	} else {
		err = printProduceSummary(env.Stdout, s)
	}
	if err != nil {
		return err
	}
	switch {
	case ctx.Err() != nil:
		// Records still buffered when the run was interrupted fail with
		// it; they are in the summary's failures, not a fault to report.
		return fmt.Errorf("interrupted after %d of %d records", s.Records, f.numRecords)
	case s.Errors > 0:
		return fmt.Errorf("%d of %d records failed, the first: %w", s.Errors, f.numRecords, run.firstError())
	case s.Records < f.numRecords:
		return fmt.Errorf("interrupted after %d of %d records", s.Records, f.numRecords)
	}
	return nil
}

// produceRun is one run's shared state: the next record to send, and what
// the promises report.
type produceRun struct {
	f        *produceFlags
	payloads [][]byte
	next     atomic.Int64 // the next record's index, over all producers
	lat      *latencies
	failed   atomic.Int64
	firstErr atomic.Pointer[error]
}

func newProduceRun(f *produceFlags, payloads [][]byte) *produceRun {
	return &produceRun{f: f, payloads: payloads, lat: newLatencies(f.numRecords)}
}

// produce sends the records through clients, one goroutine each, and
// returns how long it took until the last was acknowledged (or failed).
// Record i is not sent before i/throughput seconds from the start, so
// the producers share the cap.
func (r *produceRun) produce(ctx context.Context, clients []*kgo.Client) time.Duration {
	var (
		wg       sync.WaitGroup
		inflight sync.WaitGroup
	)
	begin := time.Now()
	for _, cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			for ctx.Err() == nil {
				i := r.next.Add(1) - 1
				if i >= r.f.numRecords {
					break
				}
				if r.f.throughput > 0 {
					due := begin.Add(time.Duration(float64(i) / r.f.throughput * float64(time.Second)))
					if wait := time.Until(due); wait > time.Millisecond && !sleep(ctx, wait) {
						break
					}
				}
				value := r.payloads[0]
				if len(r.payloads) > 1 {
					value = r.payloads[rng.IntN(len(r.payloads))]
				}
				inflight.Add(1)
				sent := time.Now()
				cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
					defer inflight.Done()
					if err != nil {
						if r.failed.Add(1) == 1 {
							r.firstErr.Store(&err)
						}
						return
					}
					r.lat.add(time.Since(sent), len(value))
				})
			}
			// Flush fails only when ctx ends; the records it leaves are
			// failed by Close below, and counted by their promises.
			cl.Flush(ctx)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		for _, cl := range clients {
			cl.Close()
		}
	}
	inflight.Wait()
	return time.Since(begin)
}

// sleep waits d, or less if ctx ends first, and reports whether it waited
// the whole time.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *produceRun) firstError() error {
	if p := r.firstErr.Load(); p != nil {
		return *p
	}
	return nil
}

// periodicLine is Kafka's progress line: the window's records, rate and
// latencies.
func (r *produceRun) periodicLine(window time.Duration) string {
	w := r.lat.takeWindow()
	line := fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.",
		w.records, perSecond(float64(w.records), window), perSecond(mb(w.bytes), window), ms(w.avg), ms(w.max))
	if n := r.failed.Load(); n > 0 {
		line += fmt.Sprintf(" %d records failed so far.", n)
	}
	return line
}

func (r *produceRun) liveLine(elapsed time.Duration) string {
	n, bytes, avg := r.lat.totals()
	line := fmt.Sprintf("%s%d/%d records, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency",
		bar(n, r.f.numRecords), n, r.f.numRecords, perSecond(float64(n), elapsed), perSecond(mb(bytes), elapsed), ms(avg))
	if n := r.failed.Load(); n > 0 {
		line += fmt.Sprintf(", %d failed", n)
	}
	return line
}

func (r *produceRun) summary(elapsed time.Duration) ProduceSummary {
	n, bytes, _ := r.lat.totals()
	return ProduceSummary{
		Topic:         r.f.topic,
		Records:       n,
		Errors:        r.failed.Load(),
		Bytes:         bytes,
		ElapsedMs:     ms(elapsed),
		RecordsPerSec: perSecond(float64(n), elapsed),
		MBPerSec:      perSecond(mb(bytes), elapsed),
		Latency:       r.lat.summary(),
	}
}

// printProduceSummary prints Kafka's final line, with the failures after
// it when there were any.
func printProduceSummary(w io.Writer, s ProduceSummary) error {
	l := s.Latency
	_, err := fmt.Fprintf(w, "%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, "+
		"%.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th.\n",
		s.Records, s.RecordsPerSec, s.MBPerSec, l.AvgMs, l.MaxMs, l.P50Ms, l.P95Ms, l.P99Ms, l.P999Ms)
	if err == nil && s.Errors > 0 {
		_, err = fmt.Fprintf(w, "%d records failed.\n", s.Errors)
	}
	return err
}
