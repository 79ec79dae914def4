package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func TestParseArgsDefaults(t *testing.T) {
	cfg, err := parseArgs([]string{"--brokers", "127.0.0.1:9092"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		brokers:     []string{"127.0.0.1:9092"},
		topic:       "samsa-bench",
		partitions:  6,
		replication: -1,
		records:     1000000,
		recordSize:  100,
		producers:   1,
		linger:      5 * time.Millisecond,
		batchMax:    1 << 20,
		acks:        "all",
		compression: "none",
		consume:     true,
	}
	if !equalConfig(cfg, want) {
		t.Fatalf("defaults = %+v\nwant       %+v", cfg, want)
	}
}

func TestParseArgsEveryFlag(t *testing.T) {
	cfg, err := parseArgs(strings.Fields(
		"--brokers a:1,b:2 --topic t --partitions 3 --replication-factor 1 --records 500 --record-size 8 "+
			"--producers 4 --linger 0s --batch-max 16KB --acks 0 --compression zstd --consume=false"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		brokers: []string{"a:1", "b:2"}, topic: "t", partitions: 3, replication: 1, records: 500, recordSize: 8,
		producers: 4, linger: 0, batchMax: 16 << 10, acks: "0", compression: "zstd", consume: false,
	}
	if !equalConfig(cfg, want) {
		t.Fatalf("parsed %+v\nwant   %+v", cfg, want)
	}
	if cfg, _ := parseArgs([]string{"--brokers", "x:1", "--acks", "-1"}, io.Discard); cfg.acks != "all" {
		t.Errorf("--acks -1 parsed as %q, want all", cfg.acks)
	}
}

func TestParseArgsRejectsBadInput(t *testing.T) {
	for _, args := range []string{
		"",                                   // no --brokers
		"--brokers ,",                        // empty list
		"--brokers x:1 --acks 2",             // no such acks
		"--brokers x:1 --compression brotli", // no such codec
		"--brokers x:1 --batch-max 1XB",
		"--brokers x:1 --batch-max -5",
		"--brokers x:1 --records 0",
		"--brokers x:1 --partitions 0",
		"--brokers x:1 --producers 0",
		"--brokers x:1 --records 2 --producers 3",
		"--brokers x:1 --replication-factor 0",
		"--brokers x:1 --record-size -1",
		"--brokers x:1 stray",
		"--no-such-flag",
	} {
		if _, err := parseArgs(strings.Fields(args), io.Discard); err == nil {
			t.Errorf("parseArgs(%q) accepted it", args)
		}
	}
	if _, err := parseArgs([]string{"--help"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v, want flag.ErrHelp", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "16384": 16384, "100B": 100, "16KB": 16384, "16kb": 16384, "16KiB": 16384, "16K": 16384,
		"1MB": 1 << 20, "1MiB": 1 << 20, "2M": 2 << 20, "1GB": 1 << 30, " 3 MB ": 3 << 20,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "1.5MB", "-1", "1TB", "99999999999GB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted it", in)
		}
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		ds := make([]time.Duration, len(ns))
		for i, n := range ns {
			ds[i] = time.Duration(n) * time.Millisecond
		}
		return ds
	}
	hundred := make([]time.Duration, 100) // 1ms … 100ms
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	thousand := make([]time.Duration, 1000) // 1 … 1000
	for i := range thousand {
		thousand[i] = time.Duration(i + 1)
	}
	for _, c := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 0, 7 * time.Millisecond},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 100, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2), 51, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 75, 3 * time.Millisecond},
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 90, 90 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.9, 100 * time.Millisecond},
		{hundred, 100, 100 * time.Millisecond},
		{thousand, 99.9, 999},
		{thousand, 99, 990},
	} {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("percentile(%d samples, %v) = %v, want %v", len(c.sorted), c.p, got, c.want)
		}
	}
}

func TestSummarizeDoesNotNeedSortedInputOrChangeIt(t *testing.T) {
	in := []time.Duration{5, 1, 4, 2, 3}
	s := summarize(in)
	if s.n != 5 || s.p50 != 3 || s.p90 != 5 || s.max != 5 {
		t.Errorf("summarize = %+v", s)
	}
	if in[0] != 5 || in[1] != 1 {
		t.Errorf("summarize sorted its input in place: %v", in)
	}
	if s := summarize(nil); s != (summary{}) {
		t.Errorf("summarize(nil) = %+v, want zero", s)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", 821557: "821,557"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestRunAgainstInProcessBroker runs a tiny benchmark end to end against
// kfake, to catch a run that hangs or miscounts.
func TestRunAgainstInProcessBroker(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, extra := range [][]string{
		{"--acks", "all", "--compression", "lz4", "--producers", "2"},
		{"--acks", "1", "--record-size", "4", "--topic", "tiny"},
		{"--acks", "0", "--consume=false", "--topic", "fire-and-forget"},
	} {
		args := append([]string{"--brokers", c.ListenAddrs()[0], "--replication-factor", "1",
			"--records", "3000", "--partitions", "3", "--linger", "1ms"}, extra...)
		cfg, err := parseArgs(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		var out bytes.Buffer
		err = run(ctx, cfg, &out)
		cancel()
		if err != nil {
			t.Fatalf("%v: %v\n%s", extra, err, out.String())
		}
		report := out.String()
		t.Logf("%v:\n%s", extra, report)
		rows := reportRows(report)
		if cell(rows, "produce", 0) != "3000" || cell(rows, "ack", 5) != "3000" || !strings.Contains(report, "(3 partitions)") {
			t.Errorf("%v: report lacks the produce row of 3000 records, the ack latency row or the partition count", extra)
		}
		if _, ok := rows["consume"]; ok != cfg.consume {
			t.Errorf("%v: consume row present = %v, want %v", extra, ok, cfg.consume)
		}
		if cfg.consume && (cell(rows, "consume", 0) != "3000" || cell(rows, "end-to-end", 5) != "3000") {
			t.Errorf("%v: consume row %v and end-to-end row %v, want 3000 records and samples", extra, rows["consume"], rows["end-to-end"])
		}
	}
}

// reportRows maps the first word of each report line to the other words.
func reportRows(report string) map[string][]string {
	rows := map[string][]string{}
	for _, line := range strings.Split(report, "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			rows[f[0]] = f[1:]
		}
	}
	return rows
}

// cell is word i of a report row, or "" if there is none.
func cell(rows map[string][]string, row string, i int) string {
	if i < len(rows[row]) {
		return rows[row][i]
	}
	return ""
}

func equalConfig(a, b config) bool { return reflect.DeepEqual(a, b) }
