package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

type produceFlags struct {
	topic         string
	properties    []string
	producerProps []string
	keySeparator  string
	headers       []string
	partition     int32
	acks          string
	compression   string
	lingerMs      int64
}

// NewProduceCommand is `samsa produce`, Kafka's kafka-console-producer.sh.
func NewProduceCommand(env *cli.Env) *cobra.Command {
	var f produceFlags
	cmd := &cobra.Command{
		Use:   "produce --topic TOPIC [flags] < lines",
		Short: "Produce one record per line of stdin (kafka-console-producer)",
		Long: `Produce one record per line of stdin, as kafka-console-producer.sh does.

Records are sent asynchronously and flushed at the end of input. Each
record that fails prints one line to stderr (its input line, topic,
partition and Kafka's error name), and the exit status is 1 if any did.
--timeout bounds how long a record may wait to be delivered. A line that
cannot be parsed stops the producer with status 1, once the lines before
it are delivered; Ctrl-C stops it too, delivering what it had read.

Lines are parsed with Kafka's --property keys:
  parse.key=true key.separator=SEP     a key before SEP (default a tab)
  ignore.error=true                    a line without SEP is all value
  parse.headers=true                   headers first: h1:v1,h2:v2<TAB>...
  headers.delimiter, headers.separator, headers.key.separator
                                       (defaults: tab, ",", ":")
  null.marker=M                        a key, value or header value equal to M is null
Separators may be written with \t, \n and \\ escapes.`,
		Example: `  printf 'k1:hello\nk2:world\n' | samsa produce --topic orders --key-separator :
  samsa produce --topic orders --property parse.key=true --property key.separator=: < orders.txt
  samsa produce --topic orders --header source=cli --acks 1 --compression zstd < orders.txt`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProduce(cmd, env, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.topic, "topic", "", "the topic to produce to (required)")
	fl.StringArrayVar(&f.properties, "property", nil, "a line-parsing property, `key=value` (repeatable): parse.key, key.separator, parse.headers, headers.*, null.marker, ignore.error")
	fl.StringArrayVar(&f.producerProps, "producer-property", nil, "a producer setting, `key=value` (repeatable): acks, linger.ms, compression.type, enable.idempotence, max.request.size, client.id")
	fl.StringVar(&f.keySeparator, "key-separator", "", "each line is KEY SEP VALUE (short for --property parse.key=true --property key.separator=SEP)")
	fl.StringArrayVar(&f.headers, "header", nil, "a header `key=value` added to every record (repeatable)")
	fl.Int32Var(&f.partition, "partition", -1, "produce every record to this partition (-1: by key, else sticky)")
	fl.StringVar(&f.acks, "acks", "all", "acknowledgements to wait for: all (-1), 1 or 0")
	fl.StringVar(&f.acks, "request-required-acks", "all", "Kafka's name for --acks")
	fl.StringVar(&f.compression, "compression", "none", "compression: none, gzip, snappy, lz4 or zstd")
	// Kafka's --compression-codec alone means gzip; here it takes a value,
	// so that `--compression-codec snappy` reads as it does in Kafka.
	fl.StringVar(&f.compression, "compression-codec", "none", "Kafka's name for --compression")
	fl.Int64Var(&f.lingerMs, "linger-ms", 1000, "how long a batch waits for more records, in ms (Kafka's --timeout; end of input sends at once)")
	cmd.MarkFlagRequired("topic")
	return cmd
}

// producerSettings are the producer knobs the command maps onto kgo, by
// Kafka's producer config names.
type producerSettings struct {
	acks        string
	linger      time.Duration
	maxRequest  int32 // Kafka's max.request.size
	compression string
	idempotence *bool // nil: on for acks=all, off otherwise, as Kafka's producer decides
	clientID    string
}

var producerProperties = []string{"acks", "client.id", "compression.type", "enable.idempotence", "linger.ms", "max.request.size"}

// settings merges the producer's knobs as Kafka's console producer
// does: a flag given on the command line wins over --producer-property,
// which wins over the flag's default.
func (f *produceFlags) settings(cmd *cobra.Command) (producerSettings, error) {
	props, err := parseProperties("producer-property", f.producerProps)
	if err != nil {
		return producerSettings{}, err
	}
	if err := checkKnown("producer-property", props, producerProperties); err != nil {
		return producerSettings{}, err
	}
	if f.lingerMs < 0 {
		return producerSettings{}, cli.Usagef("--linger-ms %d: want milliseconds, 0 or more", f.lingerMs)
	}
	s := producerSettings{maxRequest: defaultMaxRequestSize, acks: f.acks, linger: time.Duration(f.lingerMs) * time.Millisecond, compression: f.compression, clientID: "console-producer"}
	changed := func(names ...string) bool {
		for _, n := range names {
			if cmd.Flags().Changed(n) {
				return true
			}
		}
		return false
	}
	if v, ok := props["acks"]; ok && !changed("acks", "request-required-acks") {
		s.acks = v
	}
	if v, ok := props["compression.type"]; ok && !changed("compression", "compression-codec") {
		s.compression = v
	}
	if v, ok := props["linger.ms"]; ok && !changed("linger-ms") {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return s, cli.Usagef("--producer-property linger.ms=%q: want milliseconds", v)
		}
		s.linger = time.Duration(ms) * time.Millisecond
	}
	if v, ok := props["max.request.size"]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			return s, cli.Usagef("--producer-property max.request.size=%q: want a positive number of bytes", v)
		}
		s.maxRequest = int32(n)
	}
	if v, ok := props["client.id"]; ok {
		s.clientID = v
	}
	if _, ok := props["enable.idempotence"]; ok {
		on, err := boolProperty(props, "enable.idempotence", true)
		if err != nil {
			return s, err
		}
		s.idempotence = &on
	}
	return s, nil
}

// opts is the settings as kgo options.
func (s producerSettings) opts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	all := false
	switch s.acks {
	case "all", "-1":
		all = true
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()))
	case "0":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()))
	default:
		return nil, cli.Usagef("acks %q: want all, -1, 1 or 0", s.acks)
	}
	// An idempotent producer needs acks=all; Kafka's producer turns
	// idempotence off for other acks unless it was asked for, and then
	// refuses the combination.
	switch {
	case s.idempotence != nil && *s.idempotence && !all:
		return nil, cli.Usagef("enable.idempotence=true needs acks=all (got acks=%s)", s.acks)
	case !all || (s.idempotence != nil && !*s.idempotence):
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	codec, err := compressionCodec(s.compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec), kgo.ProducerLinger(s.linger), kgo.ClientID(s.clientID))
	// kgo has one batch limit, ProducerBatchMaxBytes, which is also the
	// largest record it sends: max.request.size is that limit. Kafka's
	// batch.size is only a target a larger record exceeds, so it is not
	// mapped onto the limit (a record over it would fail here).
	opts = append(opts, kgo.ProducerBatchMaxBytes(s.maxRequest))
	return opts, nil
}

// defaultMaxRequestSize is Kafka's max.request.size default (1 MiB), so
// a line Kafka's console producer sends is sent here too; kgo's own
// default is a little smaller (1000012 bytes).
const defaultMaxRequestSize = 1 << 20

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	if name == "" {
		name = "none"
	}
	if c, ok := cli.CompressionCodecs[strings.ToLower(name)]; ok {
		return c, nil
	}
	return kgo.CompressionCodec{}, cli.Usagef("compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// lineReader is the --property, --key-separator and --header flags as
// one parser.
func (f *produceFlags) lineReader() (*lineReader, error) {
	props, err := parseProperties("property", f.properties)
	if err != nil {
		return nil, err
	}
	if err := checkKnown("property", props, lineReaderProperties); err != nil {
		return nil, err
	}
	if f.keySeparator != "" {
		props[propParseKey] = "true"
		props[propKeySeparator] = f.keySeparator
	}
	lr, err := newLineReader(props)
	if err != nil {
		return nil, cli.UsageError{Err: err}
	}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, "=")
		if !ok || k == "" {
			return nil, cli.Usagef("--header %q: want key=value", h)
		}
		lr.extraHeaders = append(lr.extraHeaders, kgo.RecordHeader{Key: k, Value: []byte(v)})
	}
	return lr, nil
}

func runProduce(cmd *cobra.Command, env *cli.Env, f *produceFlags) error {
	if f.topic == "" {
		return cli.Usagef("--topic is empty")
	}
	lr, err := f.lineReader()
	if err != nil {
		return err
	}
	settings, err := f.settings(cmd)
	if err != nil {
		return err
	}
	opts, err := settings.opts()
	if err != nil {
		return err
	}
	// Kafka's producer asks for metadata with allowAutoTopicCreation, so
	// a broker with auto.create.topics.enable creates a missing topic.
	opts = append(opts, kgo.DefaultProduceTopic(f.topic), kgo.AllowAutoTopicCreation())
	if f.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	// A record waits at most --timeout (after its linger) to be
	// delivered; a topic that does not exist fails its records with
	// UNKNOWN_TOPIC_OR_PARTITION after kgo's few metadata retries
	// (UnknownTopicRetries), well within that.
	if env.Timeout > 0 {
		opts = append(opts, kgo.RecordDeliveryTimeout(env.Timeout+settings.linger))
	}
	ctx := cmd.Context()
	cl, err := env.NewClient(ctx, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	tally := &produceTally{stderr: env.Stderr}
	// Records are produced under a context Ctrl-C does not cancel: what
	// was read before the interrupt is still delivered, as Kafka's
	// producer flushes on close.
	produceCtx := context.WithoutCancel(ctx)
	readErr := eachLine(ctx, env.Stdin, func(n int, line string) error {
		r, err := lr.record(n, line)
		if err != nil {
			return err
		}
		r.Topic = f.topic
		r.Partition = f.partition // -1 until kgo's partitioner picks one
		tally.sent()
		cl.Produce(produceCtx, r, func(r *kgo.Record, err error) { tally.done(n, r, err) })
		return nil
	})
	// Each record's own delivery timeout ends the flush; this bound only
	// guards against a request that never returns.
	flushCtx, cancel := context.WithCancel(produceCtx)
	if env.Timeout > 0 {
		flushCtx, cancel = context.WithTimeout(produceCtx, 2*env.Timeout+settings.linger)
	}
	defer cancel()
	if err := cl.Flush(flushCtx); err != nil {
		if failed := tally.err(); failed != nil {
			return fmt.Errorf("waiting for records to be delivered: %w (%v)", err, failed)
		}
		return fmt.Errorf("waiting for records to be delivered: %w", err)
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return readErr
	}
	return tally.err()
}

// eachLine calls fn with every line of r (without its line ending),
// counted from 1, until r ends, fn fails, or ctx is done: a read blocked
// on a terminal does not hold up Ctrl-C.
func eachLine(ctx context.Context, r io.Reader, fn func(n int, line string) error) error {
	type line struct {
		text string
		err  error
	}
	lines := make(chan line)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(lines)
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			text, err := br.ReadString('\n')
			if text != "" {
				text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
				select {
				case lines <- line{text: text}:
				case <-stop:
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					select {
					case lines <- line{err: fmt.Errorf("read stdin: %w", err)}:
					case <-stop:
					}
				}
				return
			}
		}
	}()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			if l.err != nil {
				return l.err
			}
			if err := fn(n, l.text); err != nil {
				return err
			}
		}
	}
}

// produceTally counts records sent and failed; kgo calls done from its
// own goroutines.
type produceTally struct {
	mu     sync.Mutex
	stderr io.Writer
	total  int
	failed int
}

func (t *produceTally) sent() {
	t.mu.Lock()
	t.total++
	t.mu.Unlock()
}

func (t *produceTally) done(line int, r *kgo.Record, err error) {
	if err == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed++
	where := "topic " + r.Topic
	if r.Partition >= 0 {
		where += fmt.Sprintf(" partition %d", r.Partition)
	}
	fmt.Fprintf(t.stderr, "line %d: %s: %s\n", line, where, cli.OneLine(err))
}

func (t *produceTally) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d records failed", t.failed, t.total)
}
