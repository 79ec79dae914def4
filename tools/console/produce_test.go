package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/tools/cli"
)

// headerString is a record's headers as k=v pairs, for comparing.
func headerString(r *kgo.Record) string {
	var pairs []string
	for _, h := range r.Headers {
		v := string(h.Value)
		if h.Value == nil {
			v = "<null>"
		}
		pairs = append(pairs, h.Key+"="+v)
	}
	return strings.Join(pairs, ",")
}

func nullable(b []byte) string {
	if b == nil {
		return "<null>"
	}
	return string(b)
}

func TestProduceSendsEachLineAsARecordWithKeysAndHeaders(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "produce-keys", 1, nil)
	input := "h1:a,h2:b\tk1:one\n\tk2:two:with:colons\n\tnokey\n"
	res := mustSucceed(t, c, input, "produce", "--topic", "produce-keys",
		"--property", "parse.headers=true", "--key-separator", ":", "--property", "ignore.error=true",
		"--header", "source=cli")
	if res.stdout != "" || res.stderr != "" {
		t.Errorf("a successful produce printed stdout %q, stderr %q; want nothing", res.stdout, res.stderr)
	}
	got := readAll(t, c, "produce-keys", 3)
	want := []struct{ key, value, headers string }{
		{"k1", "one", "h1=a,h2=b,source=cli"},
		{"k2", "two:with:colons", "source=cli"},
		{"<null>", "nokey", "source=cli"}, // ignore.error: a line without the separator is all value
	}
	for i, w := range want {
		r := got[i]
		if nullable(r.Key) != w.key || string(r.Value) != w.value || headerString(r) != w.headers {
			t.Errorf("record %d: key %q value %q headers %q; want key %q value %q headers %q",
				i, nullable(r.Key), r.Value, headerString(r), w.key, w.value, w.headers)
		}
	}
}

func TestProduceReadsKafkasPropertiesWithTheirSeparatorsAndNullMarker(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "produce-props", 1, nil)
	input := "a=1;b=NULL|key1=>value1\n|NULL=>NULL\n"
	mustSucceed(t, c, input, "produce", "--topic", "produce-props",
		"--property", "parse.key=true", "--property", "key.separator==>",
		"--property", "parse.headers=true", "--property", "headers.delimiter=|",
		"--property", "headers.separator=;", "--property", "headers.key.separator==",
		"--property", "null.marker=NULL")
	got := readAll(t, c, "produce-props", 2)
	if r := got[0]; string(r.Key) != "key1" || string(r.Value) != "value1" || headerString(r) != "a=1,b=<null>" {
		t.Errorf("record 0: key %q value %q headers %q; want key1, value1, a=1,b=<null>", r.Key, r.Value, headerString(r))
	}
	if r := got[1]; r.Key != nil || r.Value != nil || len(r.Headers) != 0 {
		t.Errorf("record 1: key %q value %q headers %q; want both null and no headers", nullable(r.Key), nullable(r.Value), headerString(r))
	}
}

func TestProduceStopsAtALineWithoutItsKeySeparator(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "produce-badline", 1, nil)
	res := samsa(t, c, "k:v\nnokey\nk2:v2\n", "produce", "--topic", "produce-badline", "--key-separator", ":")
	if res.code != 1 {
		t.Fatalf("exit status %d; want 1 (stderr %q)", res.code, res.stderr)
	}
	if want := `samsa produce: no key separator ":" found on line 2 "nokey"`; !strings.Contains(res.stderr, want) {
		t.Errorf("stderr %q; want it to say %q", res.stderr, want)
	}
	// As Kafka's producer, the lines before the bad one were sent.
	if got := readAll(t, c, "produce-badline", 1); string(got[0].Value) != "v" {
		t.Errorf("first record %q; want v", got[0].Value)
	}
}

func TestProducePartitionPutsEveryRecordInIt(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "produce-partition", 3, nil)
	mustSucceed(t, c, "k1:a\nk2:b\nk3:c\nk4:d\n", "produce", "--topic", "produce-partition", "--partition", "2", "--key-separator", ":")
	for _, r := range readAll(t, c, "produce-partition", 4) {
		if r.Partition != 2 {
			t.Errorf("record %s=%s in partition %d; want 2", r.Key, r.Value, r.Partition)
		}
	}
}

func TestProduceToAPartitionTheTopicDoesNotHaveFails(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "produce-nopartition", 1, nil)
	res := samsa(t, c, "a\n", "produce", "--topic", "produce-nopartition", "--partition", "5")
	if res.code != 1 || !strings.Contains(res.stderr, "line 1: topic produce-nopartition partition 5:") {
		t.Errorf("exit status %d, stderr %q; want 1 and a line 1 error naming partition 5", res.code, res.stderr)
	}
}

func TestProduceDeliversWithEveryAcksAndCompression(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	cases := [][]string{
		{"--acks", "all", "--compression", "gzip"},
		{"--acks", "-1", "--compression-codec", "snappy"},
		{"--acks", "1", "--compression", "lz4"},
		{"--request-required-acks", "1", "--compression", "zstd", "--linger-ms", "5"},
		{"--acks", "0", "--compression", "none", "--linger-ms", "0"},
	}
	for i, flags := range cases {
		t.Run(strings.Join(flags, " "), func(t *testing.T) {
			topic := fmt.Sprintf("produce-codec-%d", i)
			createTopic(t, c, topic, 1, nil)
			value := strings.Repeat("compressible ", 100)
			mustSucceed(t, c, value+"\n"+value+"\n", append([]string{"produce", "--topic", topic}, flags...)...)
			for _, r := range readAll(t, c, topic, 2) {
				if string(r.Value) != value {
					t.Errorf("value of %d bytes came back as %d bytes", len(value), len(r.Value))
				}
			}
		})
	}
}

func TestProduceRefusesAnUnknownCodecOrAcksAsUsage(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	for _, flags := range [][]string{{"--compression", "brotli"}, {"--acks", "2"}, {"--property", "parse.kee=true"}, {"--header", "novalue"}} {
		res := samsa(t, c, "a\n", append([]string{"produce", "--topic", "produce-usage"}, flags...)...)
		if res.code != 2 {
			t.Errorf("%v: exit status %d (stderr %q); want 2", flags, res.code, res.stderr)
		}
	}
}

func TestProduceSendsALineUpToKafkasMaxRequestSizeAndFailsALargerOne(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "produce-large", 1, nil)
	large := strings.Repeat("x", 1_000_100) // over kgo's default batch limit, under Kafka's 1 MiB
	tooLarge := strings.Repeat("y", 2<<20)
	res := samsa(t, c, "first\n"+large+"\n"+tooLarge+"\nlast\n", "produce", "--topic", "produce-large")
	if res.code != 1 {
		t.Fatalf("exit status %d; want 1 for the record that failed (stderr %q)", res.code, res.stderr)
	}
	if !strings.Contains(res.stderr, "line 3: topic produce-large") || !strings.Contains(res.stderr, "MESSAGE_TOO_LARGE") {
		t.Errorf("stderr %q; want line 3's MESSAGE_TOO_LARGE error", res.stderr)
	}
	if !strings.Contains(res.stderr, "1 of 4 records failed") {
		t.Errorf("stderr %q; want the count of failed records", res.stderr)
	}
	got := readAll(t, c, "produce-large", 3)
	if string(got[0].Value) != "first" || !bytes.Equal(got[1].Value, []byte(large)) || string(got[2].Value) != "last" {
		t.Errorf("records of %d, %d and %d bytes; want first, the %d-byte line, last", len(got[0].Value), len(got[1].Value), len(got[2].Value), len(large))
	}
}

func TestProduceToAMissingTopicCreatesItWhenTheBrokerAutoCreates(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	mustSucceed(t, c, "hello\n", "produce", "--topic", "produce-autocreated")
	if got := readAll(t, c, "produce-autocreated", 1); string(got[0].Value) != "hello" {
		t.Errorf("record %q; want hello", got[0].Value)
	}
}

// bufferedHook counts the records a producer took.
type bufferedHook struct{ count atomic.Int32 }

func (h *bufferedHook) OnProduceRecordBuffered(*kgo.Record) { h.count.Add(1) }

func TestProduceDeliversWhatItReadWhenInterrupted(t *testing.T) {
	t.Parallel()
	c := startBroker(t, nil)
	createTopic(t, c, "produce-interrupted", 1, nil)
	// A terminal: lines arrive, and then nothing, until Ctrl-C.
	stdin, typing := io.Pipe()
	defer typing.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	buffered := &bufferedHook{}
	env := &cli.Env{Stdin: stdin, Stdout: &stdout, Stderr: &stderr, ClientOpts: []kgo.Opt{kgo.WithHooks(buffered)}}
	done := make(chan int, 1)
	go func() {
		done <- samsaEnv(ctx, c, env, "produce", "--topic", "produce-interrupted", "--linger-ms", "60000")
	}()
	if _, err := io.WriteString(typing, "typed\nbefore ctrl-c\n"); err != nil {
		t.Fatal(err)
	}
	// As a user who sees the lines taken, and then presses Ctrl-C (a
	// line still in the reader when Ctrl-C comes is lost, as in Kafka).
	checkFor(t, 5*time.Second, "both lines given to the producer", func() bool { return buffered.count.Load() == 2 })
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit status %d after Ctrl-C; want 0 (stderr %q)", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the producer did not end within 10 s of Ctrl-C, with stdin still open")
	}
	got := readAll(t, c, "produce-interrupted", 2)
	if string(got[0].Value) != "typed" || string(got[1].Value) != "before ctrl-c" {
		t.Errorf("records %q, %q; want the two lines typed before Ctrl-C, delivered despite the minute's linger", got[0].Value, got[1].Value)
	}
}
