package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseSizeReadsBinaryAndDecimalUnits(t *testing.T) {
	for in, want := range map[string]int64{
		"4096": 4096, "10GiB": 10 << 30, "512MiB": 512 << 20, "16KiB": 16 << 10, "1.5GiB": 3 << 29,
		"20MB": 20_000_000, "2kB": 2000, " 3 MiB ": 3 << 20, "7B": 7,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "GiB", "-1GiB", "10XB", "1e30GiB", "NaN"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseScaleOptionsDefaultsAreTheIssuesTargets(t *testing.T) {
	o, err := parseScaleOptions(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.partitions != 10_000 || o.data != 10<<30 || o.idle != 10*time.Second || o.sustain != 5*time.Minute ||
		strings.Join(o.phases, ",") != "partitions,kill,sustain" {
		t.Errorf("defaults = %+v", o)
	}
	o, err = parseScaleOptions([]string{"--phases", "kill,kill", "--data", "1GiB"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.runs("kill") || o.runs("sustain") || len(o.phases) != 1 || o.data != 1<<30 {
		t.Errorf("--phases kill,kill --data 1GiB = %+v", o)
	}
}

func TestParseScaleOptionsRejectsWhatCannotRun(t *testing.T) {
	for _, args := range [][]string{
		{"--phases", "partitions,restart"},
		{"--data-record-size", "8"},
		{"--data-record-size", "1MiB"},
		{"--data", "1KiB"}, // less than one record
		{"--partitions", "0"},
		{"--sustain", "0s"},
		{"-o", "yaml"},
		{"stray"},
	} {
		if _, err := parseScaleOptions(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseScaleOptions(%q) succeeded, want an error", args)
		}
	}
}

// samplesOf makes one sample a second, stored growing by 100 MiB each.
func samplesOf(rss ...int64) []rssSample {
	s := make([]rssSample, len(rss))
	for i, r := range rss {
		s[i] = rssSample{At: time.Duration(i) * time.Second, RSS: r, Stored: int64(i) * 100 << 20}
	}
	return s
}

func TestTrendOfASawtoothIsFlat(t *testing.T) {
	const mib = 1 << 20
	tr := trendOf(samplesOf(60*mib, 80*mib, 62*mib, 79*mib, 61*mib, 80*mib, 60*mib, 78*mib))
	if !tr.Judged || !tr.Flat {
		t.Errorf("trend = %+v, want judged flat", tr)
	}
	if tr.Start != 60*mib || tr.End != 78*mib || tr.Max != 80*mib {
		t.Errorf("start/end/max = %d/%d/%d", tr.Start, tr.End, tr.Max)
	}
	if math.Abs(tr.PerGiB) > 10*mib {
		t.Errorf("slope %f bytes per GiB for a sawtooth", tr.PerGiB)
	}
}

func TestTrendOfRSSGrowingWithDataIsNotFlat(t *testing.T) {
	const mib = 1 << 20
	// 50 MiB plus 10 MiB per sample, 100 MiB stored: 102.4 MiB per GiB.
	var rss []int64
	for i := range 10 {
		rss = append(rss, 50*mib+int64(i)*10*mib)
	}
	tr := trendOf(samplesOf(rss...))
	if !tr.Judged || tr.Flat {
		t.Errorf("trend = %+v, want judged growing", tr)
	}
	if want := 102.4 * mib; math.Abs(tr.PerGiB-want) > want/100 {
		t.Errorf("slope %f bytes per GiB, want %f", tr.PerGiB, want)
	}
}

func TestTrendOfTooFewSamplesIsNotJudged(t *testing.T) {
	tr := trendOf(samplesOf(10<<20, 900<<20))
	if tr.Judged {
		t.Errorf("trend of 2 samples = %+v, want not judged", tr)
	}
	rows := trendRows("load", tr)
	if rows[0].Verdict != "" || !strings.Contains(rows[0].Measured, "not judged") {
		t.Errorf("rows = %+v", rows)
	}
	if tr := trendOf(nil); tr.Judged || tr.Max != 0 {
		t.Errorf("trend of none = %+v", tr)
	}
}

func TestAfterWarmUpDropsTheLoadsFirstTenth(t *testing.T) {
	s := samplesOf(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	got := afterWarmUp(s, 10*time.Second)
	if len(got) != 11 || got[0].RSS != 2 {
		t.Errorf("afterWarmUp kept %d samples from RSS %d, want 11 from 2", len(got), got[0].RSS)
	}
	if got := afterWarmUp(s[:1], 100*time.Second); got != nil {
		t.Errorf("afterWarmUp of samples all in the warm-up = %v", got)
	}
}

func metadataOf(topic string, leaders ...int32) *kmsg.MetadataResponse {
	resp := kmsg.NewPtrMetadataResponse()
	rt := kmsg.NewMetadataResponseTopic()
	rt.Topic = kmsg.StringPtr(topic)
	for i, l := range leaders {
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Partition, p.Leader = int32(i), l
		rt.Partitions = append(rt.Partitions, p)
	}
	resp.Topics = append(resp.Topics, rt)
	return resp
}

func TestLeadersMissingWantsALeaderForEveryPartition(t *testing.T) {
	if err := leadersMissing(metadataOf("t", 1, 1, 1), map[string]int{"t": 3}); err != nil {
		t.Errorf("all led: %v", err)
	}
	if err := leadersMissing(metadataOf("t", 1, -1, 1), map[string]int{"t": 3}); err == nil {
		t.Error("a partition without a leader was accepted")
	}
	if err := leadersMissing(metadataOf("t", 1, 1), map[string]int{"t": 3}); err == nil {
		t.Error("2 of 3 partitions were accepted")
	}
	if err := leadersMissing(metadataOf("t", 1), map[string]int{"t": 1, "u": 1}); err == nil {
		t.Error("a topic missing from the answer was accepted")
	}
	resp := metadataOf("t", 1)
	resp.Topics[0].ErrorCode = 3 // UNKNOWN_TOPIC_OR_PARTITION
	if err := leadersMissing(resp, map[string]int{"t": 1}); err == nil {
		t.Error("a topic with an error code was accepted")
	}
	resp = metadataOf("t", 1)
	resp.Topics[0].Partitions[0].ErrorCode = 5 // LEADER_NOT_AVAILABLE
	if err := leadersMissing(resp, map[string]int{"t": 1}); err == nil {
		t.Error("a partition with an error code was accepted")
	}
	if err := leadersMissing(kmsg.NewPtrMetadataResponse(), nil); err != nil {
		t.Errorf("no topics asked: %v", err)
	}
}

func TestCheckEndsAtLeastFindsAnAcknowledgedOffsetMissing(t *testing.T) {
	acked := map[int32]int64{0: 9, 1: 4}
	if err := checkEndsAtLeast(map[int32]int64{0: 10, 1: 7}, acked); err != nil {
		t.Errorf("ends past the acknowledged offsets: %v", err)
	}
	if err := checkEndsAtLeast(map[int32]int64{0: 9, 1: 7}, acked); err == nil || !strings.Contains(err.Error(), "partition 0") {
		t.Errorf("partition 0 ending at its last acknowledged offset: %v", err)
	}
	if err := checkEndsAtLeast(map[int32]int64{0: 10}, acked); err == nil || !strings.Contains(err.Error(), "partition 1") {
		t.Errorf("partition 1 missing: %v", err)
	}
	if err := checkEndsAtLeast(map[int32]int64{}, uniformEnds(5, 0)); err == nil || !strings.Contains(err.Error(), "and 2 more") {
		t.Errorf("five partitions missing: %v", err)
	}
}

func TestCheckRecordTellsTheWrittenRecordFromAnyOther(t *testing.T) {
	body := recordBody(64)
	v := make([]byte, 64)
	putRecordHeader(v, 3, 41)
	copy(v[recordHeader:], body)
	if err := checkRecord(v, 3, 41, body); err != nil {
		t.Errorf("the record written: %v", err)
	}
	if err := checkRecord(v, 3, 42, body); err == nil {
		t.Error("record 41 accepted at offset 42")
	}
	if err := checkRecord(v, 2, 41, body); err == nil {
		t.Error("partition 3's record accepted on partition 2")
	}
	if err := checkRecord(v[:63], 3, 41, body); err == nil {
		t.Error("a short record accepted")
	}
	v[50] ^= 1
	if err := checkRecord(v, 3, 41, body); err == nil {
		t.Error("a corrupt body accepted")
	}
}

func TestScaleRowsJudgeAgainstTheirTargets(t *testing.T) {
	for _, c := range []struct {
		r    scaleRow
		want string
	}{
		{durationRow("x", 1500*time.Millisecond, 2*time.Second), pass},
		{durationRow("x", 2*time.Second, 2*time.Second), fail},
		{durationRow("x", time.Hour, 0), ""},
		{bytesRow("x", 499<<20, 500<<20), pass},
		{bytesRow("x", 600<<20, 500<<20), fail},
		{coreShareRow("x", 100*time.Millisecond, 10*time.Second, 2), pass}, // 1%
		{coreShareRow("x", 300*time.Millisecond, 10*time.Second, 2), fail}, // 3%
	} {
		if c.r.Verdict != c.want {
			t.Errorf("%+v: verdict %q, want %q", c.r, c.r.Verdict, c.want)
		}
	}
}

func TestWriteScaleMarkdownPrintsEachFigureBesideItsTarget(t *testing.T) {
	var out bytes.Buffer
	writeScaleMarkdown(&out, environment{CPU: "cpu", Cores: 2, Go: "go", FranzGo: "v1", Command: "bench scale"},
		[]scaleRow{durationRow("create", 3*time.Second, 2*time.Second), bytesRow("RSS", 11<<20, 0)}, []string{"a note"})
	for _, want := range []string{"| create | 3.00 s | < 2.00 s | FAIL |", "| RSS | 11.0 MiB | – |  |", "a note", "command: bench scale"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFmtIntSeparatesThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567"} {
		if got := fmtInt(n); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestBenchScaleSmokeRunsEveryPhase runs every phase small (200
// partitions, 32 MiB killed, 3 s of load): brokers start, restart and
// recover, the acknowledged records are found, and the table has each
// figure. It asserts no speed: that is the report's business.
func TestBenchScaleSmokeRunsEveryPhase(t *testing.T) {
	bin := samsaForSmoke(t)
	o, err := parseScaleOptions([]string{"--samsa", bin, "--partitions", "200", "--idle", "300ms",
		"--data", "32MiB", "--check-last", "64", "--sustain", "3s", "--sample", "300ms", "--sustain-rate", "2MiB",
		"--serve-timeout", "1m", "--dir", t.TempDir()}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	if err := runScale(ctx, o, &out, &log); err != nil {
		t.Fatalf("bench scale: %v\n%s", err, log.String())
	}
	t.Logf("%s", out.String())
	for _, want := range []string{
		"| create 200 partitions: CreateTopics sent → answered |",
		"| create 200 partitions: sent → every partition acknowledged a write |",
		"| restart holding 200 partitions: exec → Metadata names every leader |",
		"| restart holding 200 partitions: idle CPU afterwards |",
		": acknowledged records kept | every partition ends past its last acknowledged offset; the last 64 acknowledged records of each read back intact (256) | none lost | PASS |",
		"| sustained load, 3s at 2.0 MiB/s",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMissingFromISRWantsTheBrokerInEveryPartitionsISR(t *testing.T) {
	resp := metadataOf("t", 1, 2, 3)
	for i := range resp.Topics[0].Partitions {
		resp.Topics[0].Partitions[i].ISR = []int32{1, 2, 3}
	}
	if err := missingFromISR(resp, "t", 3, 2); err != nil {
		t.Errorf("in every ISR: %v", err)
	}
	resp.Topics[0].Partitions[1].ISR = []int32{1, 3}
	if err := missingFromISR(resp, "t", 3, 2); err == nil || !strings.Contains(err.Error(), "2 of 3") {
		t.Errorf("out of one ISR: %v", err)
	}
	if err := missingFromISR(resp, "u", 3, 2); err == nil {
		t.Error("a topic missing from the answer was accepted")
	}
}

// TestBenchScaleSmokeOnACluster runs the partitions phase small on three
// brokers and ZooKeeper (--cluster), skipped without ZooKeeper.
func TestBenchScaleSmokeOnACluster(t *testing.T) {
	bin := samsaForSmoke(t)
	o, err := parseScaleOptions([]string{"--samsa", bin, "--phases", "partitions", "--cluster", "--partitions", "30",
		"--idle", "300ms", "--serve-timeout", "1m", "--dir", t.TempDir()}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, log bytes.Buffer
	if err := runScale(ctx, o, &out, &log); err != nil {
		t.Fatalf("bench scale: %v\n%s", err, log.String())
	}
	t.Logf("%s", out.String())
	if strings.Contains(out.String(), "three-broker cluster skipped") {
		t.Skip("no ZooKeeper")
	}
	for _, want := range []string{
		"| 3 brokers, create 30 partitions RF 3: sent → every partition acknowledged a write |",
		"| 3 brokers, restart one (not the controller) holding 30 partitions: exec → back in every partition's ISR |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestStopRowFailsABrokerThatHadToBeKilled(t *testing.T) {
	if r := stopRow("restart", 300*time.Millisecond, true); r.Verdict != pass || r.Measured != "300.0 ms" {
		t.Errorf("clean stop: %+v", r)
	}
	if r := stopRow("restart", 5*time.Minute, false); r.Verdict != fail || !strings.Contains(r.Measured, "killed") {
		t.Errorf("killed: %+v", r)
	}
}
