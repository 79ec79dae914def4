package console

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/tools/cli"
)

type consumeFlags struct {
	topics         []string
	include        string
	fromBeginning  bool
	offset         string
	partition      int32
	fromTimestamp  string
	group          string
	maxMessages    int
	timeoutMs      int
	isolationLevel string
	properties     []string
	format         string
}

// NewConsumeCommand is `samsa consume`, Kafka's kafka-console-consumer.sh.
func NewConsumeCommand(env *cli.Env) *cobra.Command {
	var f consumeFlags
	cmd := &cobra.Command{
		Use:   "consume --topic TOPIC [flags]",
		Short: "Print the records of topics to stdout (kafka-console-consumer)",
		Long: `Print the records of one or more topics to stdout, as
kafka-console-consumer.sh does: by default each record's value on a line of
its own, starting at the end of each partition.

Where to start: --from-beginning, --offset earliest|latest|N (with
--partition), --from-timestamp (RFC 3339 or epoch ms: the first record at or
after it). With --group, a group's committed offsets win, and these only say
where a partition without one starts; the records printed are committed when
the command ends (Ctrl-C, --max-messages, --timeout-ms) and while it runs.

How to print, one of:
  --property print.key=true print.timestamp=true print.partition=true
             print.offset=true print.headers=true print.value=false
             key.separator=SEP line.separator=SEP headers.separator=SEP
             null.literal=S                 Kafka's formatter (fields in that
                                            order: timestamp, partition,
                                            offset, headers, key, value)
  --format FORMAT                           kcat-style: %t topic, %p partition,
                                            %o offset, %T timestamp (ms), %k key,
                                            %s value, %h headers (k=v,...), %K
                                            and %S key and value length (-1 for
                                            null), %%; \n \t escapes
  -o json                                   one JSON object per line

At the end, "Processed a total of N messages" goes to stderr.`,
		Example: `  samsa consume --topic orders --from-beginning --max-messages 10
  samsa consume --topic orders --group billing --property print.key=true
  samsa consume --topic orders --partition 0 --offset 42 --format '%p/%o %k=%s\n'
  samsa consume --include 'orders.*' --from-timestamp 2024-05-01T00:00:00Z -o json`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConsume(cmd, env, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.topics, "topic", nil, "the topic(s) to consume, `name[,name...]` (repeatable)")
	fl.StringVar(&f.include, "include", "", "consume every topic whose whole name matches this `regex`")
	fl.StringVar(&f.include, "whitelist", "", "Kafka's older name for --include")
	fl.Lookup("whitelist").Hidden = true
	fl.BoolVar(&f.fromBeginning, "from-beginning", false, "start at the earliest offset (with --group: where the group has no committed offset)")
	fl.StringVar(&f.offset, "offset", "", "where to start in --partition: earliest, latest or an offset (default latest)")
	fl.Int32Var(&f.partition, "partition", -1, "consume only this partition, from its end unless --offset or --from-beginning (-1: all)")
	fl.StringVar(&f.fromTimestamp, "from-timestamp", "", "start at the first record at or after this `time` (RFC 3339 or epoch milliseconds)")
	fl.StringVar(&f.group, "group", "", "consume as this consumer group, committing what was printed")
	fl.IntVar(&f.maxMessages, "max-messages", 0, "exit after printing this many records (0: no limit)")
	fl.IntVar(&f.timeoutMs, "timeout-ms", 0, "exit when no record arrives for this many milliseconds (0: wait forever)")
	fl.StringVar(&f.isolationLevel, "isolation-level", "read_uncommitted", "read_committed to skip aborted and open transactions' records, or read_uncommitted")
	fl.StringArrayVar(&f.properties, "property", nil, "a formatter property, `key=value` (repeatable): print.key, print.timestamp, print.partition, print.offset, print.headers, print.value, key.separator, line.separator, headers.separator, null.literal")
	fl.StringVar(&f.format, "format", "", "print each record by this kcat-style `format` (%t %p %o %T %k %s %h %K %S)")
	return cmd
}

// consumePlan is the checked command line: what to read, from where, and
// how to print it.
type consumePlan struct {
	topics    []string
	include   *regexp.Regexp
	partition int32
	start     kgo.Offset
	printer   recordPrinter
}

func (f *consumeFlags) plan(env *cli.Env) (*consumePlan, error) {
	p := &consumePlan{partition: f.partition, start: kgo.NewOffset().AtEnd()}
	for _, t := range f.topics {
		if t = strings.TrimSpace(t); t != "" {
			p.topics = append(p.topics, t)
		}
	}
	switch {
	case len(p.topics) == 0 && f.include == "":
		return nil, cli.Usagef("one of --topic or --include is required")
	case len(p.topics) > 0 && f.include != "":
		return nil, cli.Usagef("--topic and --include cannot be used together")
	case f.include != "":
		// Kafka matches a topic's whole name against the pattern (Java's
		// Matcher.matches); kgo looks for a match anywhere in it.
		re, err := regexp.Compile("^(?:" + f.include + ")$")
		if err != nil {
			return nil, cli.Usagef("--include %q: %v", f.include, err)
		}
		p.include = re
	}
	if f.partition >= 0 && len(p.topics) != 1 {
		return nil, cli.Usagef("--partition needs exactly one --topic")
	}
	if f.offset != "" && f.partition < 0 {
		return nil, cli.Usagef("--offset needs --partition")
	}
	if f.group != "" && f.partition >= 0 {
		return nil, cli.Usagef("--group and --partition cannot be used together")
	}
	starts := 0
	for _, set := range []bool{f.fromBeginning, f.offset != "", f.fromTimestamp != ""} {
		if set {
			starts++
		}
	}
	if starts > 1 {
		return nil, cli.Usagef("use only one of --from-beginning, --offset and --from-timestamp")
	}
	switch {
	case f.fromBeginning:
		p.start = kgo.NewOffset().AtStart()
	case f.offset != "":
		start, err := parseStartOffset(f.offset)
		if err != nil {
			return nil, err
		}
		p.start = start
	case f.fromTimestamp != "":
		ms, err := parseTimestamp(f.fromTimestamp)
		if err != nil {
			return nil, err
		}
		p.start = kgo.NewOffset().AfterMilli(ms)
	}
	if f.maxMessages < 0 {
		return nil, cli.Usagef("--max-messages %d: want a positive number, or 0 for no limit", f.maxMessages)
	}
	if f.timeoutMs < 0 {
		return nil, cli.Usagef("--timeout-ms %d: want a positive number, or 0 to wait forever", f.timeoutMs)
	}
	printer, err := f.printer(env)
	if err != nil {
		return nil, err
	}
	p.printer = printer
	return p, nil
}

func parseStartOffset(s string) (kgo.Offset, error) {
	switch s {
	case "earliest":
		return kgo.NewOffset().AtStart(), nil
	case "latest":
		return kgo.NewOffset().AtEnd(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return kgo.Offset{}, cli.Usagef("--offset %q: want earliest, latest or a non-negative offset", s)
	}
	return kgo.NewOffset().At(n), nil
}

// parseTimestamp reads epoch milliseconds or an RFC 3339 time.
func parseTimestamp(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, cli.Usagef("--from-timestamp %q: want RFC 3339 (2024-05-01T12:00:00Z) or epoch milliseconds", s)
	}
	return t.UnixMilli(), nil
}

// printer is the one output the flags ask for.
func (f *consumeFlags) printer(env *cli.Env) (recordPrinter, error) {
	asked := 0
	for _, set := range []bool{env.JSON(), f.format != "", len(f.properties) > 0} {
		if set {
			asked++
		}
	}
	if asked > 1 {
		return nil, cli.Usagef("use only one of -o json, --format and --property")
	}
	switch {
	case env.JSON():
		return jsonPrinter{}, nil
	case f.format != "":
		return newFormatPrinter(f.format)
	}
	props, err := parseProperties("property", f.properties)
	if err != nil {
		return nil, err
	}
	return newKafkaFormatter(props)
}

func isolationLevel(s string) (kgo.IsolationLevel, error) {
	switch s {
	case "read_uncommitted":
		return kgo.ReadUncommitted(), nil
	case "read_committed":
		return kgo.ReadCommitted(), nil
	}
	return kgo.IsolationLevel{}, cli.Usagef("--isolation-level %q: want read_committed or read_uncommitted", s)
}

func runConsume(cmd *cobra.Command, env *cli.Env, f *consumeFlags) error {
	plan, err := f.plan(env)
	if err != nil {
		return err
	}
	isolation, err := isolationLevel(f.isolationLevel)
	if err != nil {
		return err
	}
	opts := []kgo.Opt{kgo.ClientID("console-consumer"), kgo.FetchIsolationLevel(isolation)}
	switch {
	case plan.partition >= 0:
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			plan.topics[0]: {plan.partition: plan.start},
		}))
	case plan.include != nil:
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(plan.include.String()), kgo.ConsumeResetOffset(plan.start))
	default:
		opts = append(opts, kgo.ConsumeTopics(plan.topics...), kgo.ConsumeResetOffset(plan.start))
	}
	if f.group != "" {
		// Only records marked after they are printed are committed, by
		// kgo's autocommit while the command runs and at its end: Kafka's
		// console consumer commits what it polled, printed or not.
		opts = append(opts, kgo.ConsumerGroup(f.group), kgo.AutoCommitMarks())
	}
	ctx := cmd.Context()
	cl, err := env.NewClient(ctx, opts...)
	if err != nil {
		return err
	}
	printed := 0
	defer func() {
		cl.Close() // leaves the group
		fmt.Fprintf(env.Stderr, "Processed a total of %d messages\n", printed)
	}()
	if err := checkTopics(ctx, env, cl, plan); err != nil {
		return err
	}

	consumeErr := consume(ctx, env, cl, plan, f, &printed)
	if f.group != "" {
		// Ctrl-C cancelled ctx: the commit gets its own --timeout.
		cctx, cancel := env.Context(context.WithoutCancel(ctx))
		defer cancel()
		if err := cl.CommitMarkedOffsets(cctx); err != nil {
			return errors.Join(consumeErr, fmt.Errorf("commit offsets of group %s: %w", f.group, err))
		}
	}
	return consumeErr
}

// consume prints records until --max-messages, --timeout-ms without a
// record, ctx's end (Ctrl-C: not an error) or a fetch error; printed
// counts them as they go out.
func consume(ctx context.Context, env *cli.Env, cl *kgo.Client, plan *consumePlan, f *consumeFlags, printed *int) error {
	var buf []byte
	for {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if f.timeoutMs > 0 {
			pollCtx, cancel = context.WithTimeout(ctx, time.Duration(f.timeoutMs)*time.Millisecond)
		}
		want := -1
		if f.maxMessages > 0 {
			want = f.maxMessages - *printed
		}
		fetches := cl.PollRecords(pollCtx, want)
		timedOut := pollCtx.Err() != nil
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		var fetchErr error
		fetches.EachError(func(topic string, partition int32, err error) {
			if fetchErr == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				fetchErr = fmt.Errorf("fetch topic %s partition %d: %w", topic, partition, err)
			}
		})
		records := fetches.Records()
		if f.maxMessages > 0 && len(records) > f.maxMessages-*printed {
			records = records[:f.maxMessages-*printed]
		}
		buf = buf[:0]
		for _, r := range records {
			var err error
			if buf, err = plan.printer.appendRecord(buf, r); err != nil {
				return err
			}
		}
		if len(buf) > 0 {
			if _, err := env.Stdout.Write(buf); err != nil {
				return fmt.Errorf("write stdout: %w", err)
			}
		}
		*printed += len(records)
		if f.group != "" {
			cl.MarkCommitRecords(records...)
		}
		switch {
		case fetchErr != nil:
			return fetchErr
		case ctx.Err() != nil:
			return nil // Ctrl-C
		case f.maxMessages > 0 && *printed >= f.maxMessages:
			return nil
		case timedOut && len(records) == 0:
			return nil // --timeout-ms passed without a record, as in Kafka
		}
	}
}

// checkTopics asks the cluster for the named topics before consuming, as
// Kafka's consumer does with allow.auto.create.topics (so a broker with
// auto.create.topics.enable creates them), and fails at once for a topic
// the cluster does not have, or a --partition it does not have, where a
// consumer would otherwise wait for it forever.
func checkTopics(ctx context.Context, env *cli.Env, cl *kgo.Client, plan *consumePlan) error {
	if len(plan.topics) == 0 {
		return nil
	}
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	for _, t := range plan.topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	rctx, cancel := env.Context(ctx)
	defer cancel()
	resp, err := req.RequestWith(rctx, cl)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	for _, t := range resp.Topics {
		name := kmsg.StringPtr("")
		if t.Topic != nil {
			name = t.Topic
		}
		err := kerr.ErrorForCode(t.ErrorCode)
		switch {
		case errors.Is(err, kerr.LeaderNotAvailable):
			// Just created: its leaders are being elected.
		case err != nil:
			return fmt.Errorf("topic %s: %w", *name, err)
		case plan.partition >= int32(len(t.Partitions)):
			return fmt.Errorf("topic %s has %d partitions: no partition %d", *name, len(t.Partitions), plan.partition)
		}
	}
	return nil
}
