package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSummarizeRunsTakesMediansAndRatiosToTheBaseline(t *testing.T) {
	var ms []measurement
	for round, secs := range []float64{1, 2, 4} {
		for _, target := range []string{"samsa", "kfake"} {
			m := measurement{Workload: "produce 100 B", Target: target, Round: round + 1,
				Records: 1_000_000, Bytes: 100_000_000, Elapsed: time.Duration(secs * float64(time.Second)),
				P50: time.Millisecond, P99: 2 * time.Millisecond, P999: 3 * time.Millisecond, CPU: time.Second}
			if target == "kfake" {
				m.Elapsed *= 2
				m.CPU /= 2
			}
			ms = append(ms, m)
		}
	}
	rows := summarizeRuns(ms)
	if len(rows) != 2 || rows[0].Target != "samsa" || rows[1].Target != "kfake" {
		t.Fatalf("rows = %+v, want samsa then kfake", rows)
	}
	s := rows[0]
	if s.RecPerSec != (spread{500_000, 250_000, 1_000_000}) {
		t.Errorf("samsa records/s = %+v", s.RecPerSec)
	}
	if s.MBPerSec.Median != 50 || s.CPUPerM.Median != 1 || s.P99Ms.Median != 2 {
		t.Errorf("samsa MB/s %v, CPU-s/1M %v, p99 %v; want 50, 1, 2", s.MBPerSec.Median, s.CPUPerM.Median, s.P99Ms.Median)
	}
	if s.Baseline != "kfake" || s.RateRatio != 2 || s.CPURatio != 2 {
		t.Errorf("samsa ratios = %q ×%v records/s ×%v CPU, want kfake ×2 ×2", s.Baseline, s.RateRatio, s.CPURatio)
	}
	if rows[1].Baseline != "" {
		t.Errorf("kfake has a baseline: %q", rows[1].Baseline)
	}
}

func TestWriteMarkdownPrintsEveryRowAndTheEnvironment(t *testing.T) {
	rows := []row{{Workload: "produce 100 B", Target: "samsa", RecPerSec: spread{1.64e6, 1.6e6, 1.7e6},
		P50Ms: spread{0.16, 0.16, 0.16}, P99Ms: spread{1.1, 1.1, 1.1}, P999Ms: spread{2, 2, 2}, Baseline: "kfake", RateRatio: 0.88, CPURatio: 2},
		{Workload: "read 1 KiB", Target: "samsa", RecPerSec: spread{9e5, 9e5, 9e5}}}
	var out bytes.Buffer
	writeMarkdown(&out, environment{CPU: "Some CPU", Cores: 2, Go: "go1.26", FranzGo: "v1.22.3", Command: "bench --rounds 3"},
		rows, []readyRow{{Target: "samsa×3 RF 3", Ms: spread{900, 800, 2000}}}, []string{"a note"})
	text := out.String()
	for _, want := range []string{
		"machine: Some CPU, 2 cores; go1.26; franz-go v1.22.3",
		"command: bench --rounds 3",
		"| produce 100 B | samsa | 1.64M (1.60M–1.70M) |",
		"| 0.16 |",
		// A read times no record: its latencies are "–", not zero.
		"| read 1 KiB | samsa | 900k | 0.0 | – | – | – |",
		"vs kfake: ×0.88 records/s, ×2.00 CPU/record",
		"| samsa×3 RF 3 | 900 (800–2000) |",
		"a note",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the table lacks %q:\n%s", want, text)
		}
	}
}

func TestCPUModelIsTheFirstModelName(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: X\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: other\n"
	if got := cpuModel(info); got != "AMD EPYC 7B13" {
		t.Errorf("cpuModel = %q", got)
	}
	if got := cpuModel(""); got != "unknown CPU" {
		t.Errorf("cpuModel(\"\") = %q", got)
	}
}

func TestPayloadTellsRecordsApart(t *testing.T) {
	a, b := make([]byte, 100), make([]byte, 100)
	payload(a, 6)
	payload(b, 12)
	if bytes.Equal(a, b) {
		t.Error("records 6 and 12 have the same payload")
	}
}
