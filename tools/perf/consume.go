package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// consumeFlags are `samsa perf consume`'s flags, kafka-consumer-perf-test's
// names.
type consumeFlags struct {
	topic             string
	messages          int64
	group             string
	fetchSize         int32
	fromLatest        bool
	reportingInterval millis
	showDetailed      bool
}

// ConsumeSummary is what `samsa perf consume` measured. Elapsed runs from
// the consumer's start to the last record counted; with a group,
// RebalanceMs of it went to joining the group (until the first
// assignment) and Fetch* are over the rest, as Kafka's tool reports them.
type ConsumeSummary struct {
	Topic              string  `json:"topic"`
	Group              string  `json:"group,omitempty"`
	Records            int64   `json:"records"`
	Bytes              int64   `json:"bytes"`
	MB                 float64 `json:"mb"`
	ElapsedMs          float64 `json:"elapsed_ms"`
	MBPerSec           float64 `json:"mb_per_sec"`
	RecordsPerSec      float64 `json:"records_per_sec"`
	RebalanceMs        float64 `json:"rebalance_ms"`
	FetchMs            float64 `json:"fetch_ms"`
	FetchMBPerSec      float64 `json:"fetch_mb_per_sec"`
	FetchRecordsPerSec float64 `json:"fetch_records_per_sec"`
	// TimedOut is set when the run ended because no record came for
	// --timeout.
	TimedOut bool `json:"timed_out"`
}

func newConsumeCommand(env *cli.Env) *cobra.Command {
	f := consumeFlags{reportingInterval: millis(5 * time.Second)}
	cmd := &cobra.Command{
		Use:   "consume --topic TOPIC [--messages N] [flags]",
		Short: "Consume records as fast as they come and measure throughput (kafka-consumer-perf-test)",
		Long: `Consume --topic, from the start of every partition (--from-latest: only
records produced from now on), counting records and bytes (keys and
values) until --messages records, or until no record has come for
--timeout. Without --group the partitions are read directly; with one,
the consumer joins that group, starts where it committed, and commits
what it read.

With --messages, stopping on --timeout before the count is a failure
(exit 1); without it, the run reads until the topic is quiet for --timeout
and that is its end.`,
		Example: `  samsa perf consume --topic perf --messages 1000000
  samsa perf consume --topic perf --messages 1000000 --group perf-consumer --timeout 10s -o json`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConsume(cmd, env, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.topic, "topic", "", "the topic to consume (required)")
	fl.Int64Var(&f.messages, "messages", 0, "how many records to consume (0: until none comes for --timeout)")
	// Newer Kafka tools name it --num-records, as the producer's does.
	fl.Int64Var(&f.messages, "num-records", 0, "the same as --messages")
	fl.StringVar(&f.group, "group", "", "consume in this consumer group (default: no group, every partition directly)")
	fl.Int32Var(&f.fetchSize, "fetch-size", 1<<20, "the most bytes to fetch from one partition in one request")
	fl.BoolVar(&f.fromLatest, "from-latest", false, "start at the end of each partition (a group's committed offsets still win)")
	fl.Var(&f.reportingInterval, "reporting-interval", "how often to print progress when not on a terminal (ms, or a duration)")
	fl.BoolVar(&f.showDetailed, "show-detailed-stats", false, "print a progress line every --reporting-interval even on a terminal")
	return cmd
}

func runConsume(cmd *cobra.Command, env *cli.Env, f *consumeFlags) error {
	switch {
	case f.topic == "":
		return cli.Usagef("--topic is required")
	case f.messages < 0:
		return cli.Usagef("--messages %d: want 0 or more", f.messages)
	case f.fetchSize < 1:
		return cli.Usagef("--fetch-size %d: want at least 1", f.fetchSize)
	}
	ctx := cmd.Context()
	adm, err := newAdmin(ctx, env)
	if err != nil {
		return err
	}
	defer adm.Close()
	if _, err := topicPartitions(ctx, env, adm, f.topic); err != nil {
		return err
	}

	run := &consumeRun{f: f}
	reset := kgo.NewOffset().AtStart()
	if f.fromLatest {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.ConsumeTopics(f.topic),
		kgo.ConsumeResetOffset(reset),
		kgo.FetchMaxPartitionBytes(f.fetchSize),
	}
	if f.group != "" {
		opts = append(opts, kgo.ConsumerGroup(f.group),
			kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
				run.assigned.CompareAndSwap(0, time.Now().UnixNano())
			}))
	}
	run.begin = time.Now()
	cl, err := env.NewClient(ctx, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	out := progressWriter(env)
	rep := &reporter{
		out:      out,
		terminal: isTerminal(out) && !f.showDetailed,
		interval: time.Duration(f.reportingInterval),
		periodic: run.periodicLine,
		live:     run.liveLine,
	}
	rep.start()
	runErr := run.consume(ctx, cl, env.Timeout)
	rep.stop()
	if runErr != nil {
		return runErr
	}
	if f.group != "" {
		cctx, cancel := env.Context(context.WithoutCancel(ctx))
		err := cl.CommitUncommittedOffsets(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("commit the group's offsets: %w", err)
		}
	}

	s := run.summary()
	if env.JSON() {
		err = cli.PrintJSON(env.Stdout, s)
	} else {
		err = printConsumeSummary(env.Stdout, s)
	}
	if err != nil {
		return err
	}
	switch {
	case f.messages > 0 && s.Records < f.messages && s.TimedOut:
		return fmt.Errorf("timed out: %d of %d records, none for %v (--timeout)", s.Records, f.messages, env.Timeout)
	case f.messages > 0 && s.Records < f.messages:
		return fmt.Errorf("interrupted after %d of %d records", s.Records, f.messages)
	}
	return nil
}

// consumeRun counts what one consume reads. The poll loop is the only
// writer; the reporter reads the counters as they go.
type consumeRun struct {
	f        *consumeFlags
	begin    time.Time
	assigned atomic.Int64 // UnixNano of the group's first assignment, 0 before
	records  atomic.Int64
	bytes    atomic.Int64
	last     time.Time // when the last record counted arrived
	timedOut bool

	windowRecords, windowBytes int64 // the reporter's, at its last line
}

// consume polls until --messages records, no record for idle (0: no
// limit), or ctx's end. Only a fetch error is an error; the caller judges
// a short count.
func (r *consumeRun) consume(ctx context.Context, cl *kgo.Client, idle time.Duration) error {
	r.last = r.begin
	for r.f.messages == 0 || r.records.Load() < r.f.messages {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if idle > 0 {
			left := idle - time.Since(r.last)
			if left <= 0 {
				r.timedOut = true
				return nil
			}
			pctx, cancel = context.WithTimeout(ctx, left)
		}
		var fetches kgo.Fetches
		if r.f.messages > 0 {
			fetches = cl.PollRecords(pctx, int(min(r.f.messages-r.records.Load(), 1<<20)))
		} else {
			fetches = cl.PollFetches(pctx)
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		var fetchErr error
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && fetchErr == nil {
				fetchErr = fmt.Errorf("fetch %s partition %d: %w", topic, partition, err)
			}
		})
		if fetchErr != nil {
			return fetchErr
		}
		now := time.Now()
		fetches.EachRecord(func(rec *kgo.Record) {
			r.records.Add(1)
			r.bytes.Add(int64(len(rec.Key) + len(rec.Value)))
			r.last = now
		})
	}
	return nil
}

func (r *consumeRun) rebalance() time.Duration {
	if at := r.assigned.Load(); at != 0 {
		return time.Unix(0, at).Sub(r.begin)
	}
	return 0
}

func (r *consumeRun) summary() ConsumeSummary {
	n, bytes := r.records.Load(), r.bytes.Load()
	elapsed := r.last.Sub(r.begin)
	rebalance := min(r.rebalance(), elapsed)
	fetch := elapsed - rebalance
	return ConsumeSummary{
		Topic:              r.f.topic,
		Group:              r.f.group,
		Records:            n,
		Bytes:              bytes,
		MB:                 mb(bytes),
		ElapsedMs:          ms(elapsed),
		MBPerSec:           perSecond(mb(bytes), elapsed),
		RecordsPerSec:      perSecond(float64(n), elapsed),
		RebalanceMs:        ms(rebalance),
		FetchMs:            ms(fetch),
		FetchMBPerSec:      perSecond(mb(bytes), fetch),
		FetchRecordsPerSec: perSecond(float64(n), fetch),
		TimedOut:           r.timedOut,
	}
}

// periodicLine is the window's records and rates, and the total so far.
func (r *consumeRun) periodicLine(window time.Duration) string {
	n, bytes := r.records.Load(), r.bytes.Load()
	wn, wb := n-r.windowRecords, bytes-r.windowBytes
	r.windowRecords, r.windowBytes = n, bytes
	return fmt.Sprintf("%d records consumed, %.1f records/sec (%.2f MB/sec), %d in total.",
		wn, perSecond(float64(wn), window), perSecond(mb(wb), window), n)
}

func (r *consumeRun) liveLine(elapsed time.Duration) string {
	n, bytes := r.records.Load(), r.bytes.Load()
	total := fmt.Sprint(n)
	if r.f.messages > 0 {
		total = fmt.Sprintf("%d/%d", n, r.f.messages)
	}
	return fmt.Sprintf("%s%s records, %.1f records/sec (%.2f MB/sec)",
		bar(n, r.f.messages), total, perSecond(float64(n), elapsed), perSecond(mb(bytes), elapsed))
}

func printConsumeSummary(w io.Writer, s ConsumeSummary) error {
	line := fmt.Sprintf("%d records consumed, %.2f MB, %.1f records/sec (%.2f MB/sec), fetch time %.0f ms",
		s.Records, s.MB, s.RecordsPerSec, s.MBPerSec, s.FetchMs)
	if s.Group != "" {
		// Joining the group can take group.initial.rebalance.delay.ms
		// (3 s by default): the fetch rate leaves it out, as Kafka's
		// fetch.nMsg.sec does.
		line += fmt.Sprintf(" (%.1f records/sec, %.2f MB/sec), rebalance time %.0f ms",
			s.FetchRecordsPerSec, s.FetchMBPerSec, s.RebalanceMs)
	}
	if s.TimedOut {
		line += " (stopped: no record for --timeout)"
	}
	_, err := fmt.Fprintln(w, line+".")
	return err
}
