package perf

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// endToEndFlags are `samsa perf end-to-end`'s flags: Kafka's
// EndToEndLatency takes the same as positional arguments (broker list,
// topic, count, acks, record size).
type endToEndFlags struct {
	topic             string
	numRecords        int64
	recordSize        int
	acks              string
	reportingInterval millis
}

// EndToEndSummary is what `samsa perf end-to-end` measured: for each
// record, from the Produce call until a consumer had it. Records is
// fewer than --num-records only when the run was interrupted.
type EndToEndSummary struct {
	Topic   string         `json:"topic"`
	Records int64          `json:"records"`
	Latency LatencySummary `json:"latency"`
}

func newEndToEndCommand(env *cli.Env) *cobra.Command {
	f := endToEndFlags{reportingInterval: millis(5 * time.Second)}
	cmd := &cobra.Command{
		Use:   "end-to-end --topic TOPIC --num-records N [flags]",
		Short: "Measure the latency from a producer to a consumer, one record at a time (Kafka's EndToEndLatency)",
		Long: `Produce --num-records records to --topic one at a time, each waiting
for its acknowledgement and then for a consumer (reading every partition
from its end) to receive it: the latency of one record through the
broker when nothing else is in flight. The topic is created when it does
not exist, with the broker's defaults.

A record that does not come back within --timeout, or comes back
changed, fails the run (exit 1).`,
		Example: `  samsa perf end-to-end --topic latency --num-records 10000 --record-size 100 --acks all`,
		Args:    cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runEndToEnd(cmd, env, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.topic, "topic", "", "the topic to produce to and consume from (required)")
	fl.Int64Var(&f.numRecords, "num-records", 0, "how many records to send (required)")
	fl.IntVar(&f.recordSize, "record-size", 100, "each record's value size in bytes")
	fl.StringVar(&f.acks, "acks", "all", "acknowledgements: all (-1) or 1")
	fl.Var(&f.reportingInterval, "reporting-interval", "how often to print progress when not on a terminal (ms, or a duration)")
	return cmd
}

func runEndToEnd(cmd *cobra.Command, env *cli.Env, f *endToEndFlags) error {
	switch {
	case f.topic == "":
		return cli.Usagef("--topic is required")
	case f.numRecords < 1:
		return cli.Usagef("--num-records is required, at least 1")
	case f.recordSize < 1:
		return cli.Usagef("--record-size %d: want at least 1", f.recordSize)
	case f.acks != "all" && f.acks != "-1" && f.acks != "1":
		// Kafka's tool refuses acks=0 too: nothing would say the record
		// was written before the consumer looks for it.
		return cli.Usagef("--acks %q: want all, -1 or 1", f.acks)
	}
	popts, err := producerOptions([]string{"acks=" + f.acks, "linger.ms=0"})
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
	if created, err := ensureTopic(ctx, env, adm, f.topic, -1, -1); err != nil {
		return err
	} else if created {
		fmt.Fprintf(out, "created topic %s\n", f.topic)
	}

	producer, err := env.NewClient(ctx, append(popts, kgo.DefaultProduceTopic(f.topic))...)
	if err != nil {
		return err
	}
	defer producer.Close()
	// The consumer starts at the end offsets listed now, before the first
	// record is sent, so it cannot start past that record.
	lctx, cancel := env.Context(ctx)
	ends, err := adm.ListEndOffsets(lctx, f.topic)
	cancel()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("list the end offsets of %s: %w", f.topic, err)
	}
	consumer, err := env.NewClient(ctx,
		kgo.ConsumePartitions(ends.KOffsets()),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer consumer.Close()

	lat := newLatencies(f.numRecords)
	rep := &reporter{
		out:      out,
		terminal: isTerminal(out),
		interval: time.Duration(f.reportingInterval),
		periodic: func(window time.Duration) string {
			w := lat.takeWindow()
			return fmt.Sprintf("%d records, %.1f ms avg latency, %.1f ms max latency.", w.records, ms(w.avg), ms(w.max))
		},
		live: func(elapsed time.Duration) string {
			n, _, avg := lat.totals()
			return fmt.Sprintf("%s%d/%d records, %.2f ms avg latency", bar(n, f.numRecords), n, f.numRecords, ms(avg))
		},
	}
	rep.start()
	runErr := roundTrips(ctx, env, f, producer, consumer, lat)
	rep.stop()
	interrupted := ctx.Err() != nil
	if runErr != nil && !interrupted {
		return runErr
	}

	measured, _, _ := lat.totals()
	s := EndToEndSummary{Topic: f.topic, Records: measured, Latency: lat.summary()}
	if env.JSON() {
		err = cli.PrintJSON(env.Stdout, s)
	} else {
		err = printEndToEndSummary(env.Stdout, s)
	}
	if err == nil && interrupted {
		err = fmt.Errorf("interrupted after %d of %d records", measured, f.numRecords)
	}
	return err
}

// roundTrips sends the records one by one, each once the last came back.
func roundTrips(ctx context.Context, env *cli.Env, f *endToEndFlags, producer, consumer *kgo.Client, lat *latencies) error {
	value := make([]byte, f.recordSize)
	for i := range f.numRecords {
		rand.Read(value)
		rctx, cancel := env.Context(ctx)
		sent := time.Now()
		err := producer.ProduceSync(rctx, &kgo.Record{Value: value}).FirstErr()
		if err == nil {
			err = awaitRecord(rctx, consumer, value)
		}
		took := time.Since(sent)
		cancel()
		if err != nil {
			return fmt.Errorf("record %d of %d: %w", i+1, f.numRecords, err)
		}
		lat.add(took, len(value))
	}
	return nil
}

// awaitRecord polls until the record whose value is value arrives.
func awaitRecord(ctx context.Context, consumer *kgo.Client, value []byte) error {
	for {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return errors.New("the consumer did not receive it within --timeout")
			}
			return err
		}
		var found bool
		var fetchErr error
		fetches.EachError(func(topic string, partition int32, err error) {
			fetchErr = fmt.Errorf("fetch %s partition %d: %w", topic, partition, err)
		})
		if fetchErr != nil {
			return fetchErr
		}
		var other *kgo.Record
		fetches.EachRecord(func(r *kgo.Record) {
			if bytes.Equal(r.Value, value) {
				found = true
			} else {
				other = r
			}
		})
		if other != nil {
			return fmt.Errorf("the consumer received a record that was not the one sent (partition %d offset %d): another producer, or a corrupted record", other.Partition, other.Offset)
		}
		if found {
			return nil
		}
	}
}

func printEndToEndSummary(w io.Writer, s EndToEndSummary) error {
	l := s.Latency
	_, err := fmt.Fprintf(w, "%d records, %.2f ms avg latency, %.2f ms max latency, %.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th.\n",
		s.Records, l.AvgMs, l.MaxMs, l.P50Ms, l.P95Ms, l.P99Ms, l.P999Ms)
	return err
}
