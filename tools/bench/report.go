package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// row is one workload against one target over the rounds.
type row struct {
	Workload  string  `json:"workload"`
	Target    string  `json:"target"`
	Rounds    int     `json:"rounds"`
	RecPerSec spread  `json:"records_per_sec"`
	MBPerSec  spread  `json:"mb_per_sec"`
	P50Ms     spread  `json:"p50_ms"`
	P99Ms     spread  `json:"p99_ms"`
	P999Ms    spread  `json:"p99_9_ms"`
	CPUPerM   spread  `json:"broker_cpu_s_per_million_records"`
	CPUPerGiB spread  `json:"broker_cpu_s_per_gib"`
	Baseline  string  `json:"baseline,omitempty"` // the target the ratios compare with
	RateRatio float64 `json:"records_per_sec_ratio,omitempty"`
	CPURatio  float64 `json:"cpu_per_record_ratio,omitempty"`
}

// baselines names, per target, the target its ratios are taken against.
var baselines = map[string]string{
	"samsa":        "kfake",
	"samsa×3 RF 3": "samsa×3 RF 1",
}

// summarizeRuns groups ms by workload and target, in the order each first
// appears, into medians and ranges, and takes each row's ratios to its
// baseline's medians.
func summarizeRuns(ms []measurement) []row {
	type key struct{ w, t string }
	var order []key
	groups := map[key][]measurement{}
	for _, m := range ms {
		k := key{m.Workload, m.Target}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], m)
	}
	of := func(g []measurement, f func(measurement) float64) spread {
		xs := make([]float64, len(g))
		for i, m := range g {
			xs[i] = f(m)
		}
		return spreadOf(xs)
	}
	msOf := func(d time.Duration) float64 { return d.Seconds() * 1000 }
	var rows []row
	index := map[key]int{}
	for _, k := range order {
		g := groups[k]
		index[k] = len(rows)
		rows = append(rows, row{
			Workload:  k.w,
			Target:    k.t,
			Rounds:    len(g),
			RecPerSec: of(g, func(m measurement) float64 { return float64(m.Records) / m.Elapsed.Seconds() }),
			MBPerSec:  of(g, func(m measurement) float64 { return float64(m.Bytes) / 1e6 / m.Elapsed.Seconds() }),
			P50Ms:     of(g, func(m measurement) float64 { return msOf(m.P50) }),
			P99Ms:     of(g, func(m measurement) float64 { return msOf(m.P99) }),
			P999Ms:    of(g, func(m measurement) float64 { return msOf(m.P999) }),
			CPUPerM:   of(g, func(m measurement) float64 { return m.CPU.Seconds() / float64(m.Records) * 1e6 }),
			CPUPerGiB: of(g, func(m measurement) float64 { return m.CPU.Seconds() / float64(m.Bytes) * (1 << 30) }),
		})
	}
	for i := range rows {
		r := &rows[i]
		b, ok := baselines[r.Target]
		if !ok {
			continue
		}
		j, ok := index[key{r.Workload, b}]
		if !ok {
			continue
		}
		r.Baseline = b
		r.RateRatio = ratio(r.RecPerSec.Median, rows[j].RecPerSec.Median)
		r.CPURatio = ratio(r.CPUPerM.Median, rows[j].CPUPerM.Median)
	}
	return rows
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// readyRow is the time from CreateTopics returning to the first acks=all
// write's acknowledgement, over the rounds.
type readyRow struct {
	Target string `json:"target"`
	Ms     spread `json:"ms"`
}

// writeMarkdown prints the header lines and the tables.
func writeMarkdown(w io.Writer, env environment, rows []row, ready []readyRow, notes []string) {
	fmt.Fprintf(w, "machine: %s, %d cores; %s; franz-go %s (kgo and kfake)\n", env.CPU, env.Cores, env.Go, env.FranzGo)
	fmt.Fprintf(w, "command: %s\n\n", env.Command)
	fmt.Fprintln(w, "| workload | target | records/s | MB/s | p50 ms | p99 ms | p99.9 ms | broker CPU-s / 1M rec | broker CPU-s / GiB | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Workload, r.Target,
			fmtSpread(r.RecPerSec, fmtCount), fmtSpread(r.MBPerSec, fmtFixed1),
			fmtLatency(r.P50Ms), fmtLatency(r.P99Ms), fmtLatency(r.P999Ms),
			fmtSpread(r.CPUPerM, fmtMs), fmtSpread(r.CPUPerGiB, fmtMs), fmtRatio(r))
	}
	if len(ready) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| CreateTopics returned → first acks=all write acknowledged | ms |")
		fmt.Fprintln(w, "|---|---|")
		for _, r := range ready {
			fmt.Fprintf(w, "| %s | %s |\n", r.Target, fmtSpread(r.Ms, fmtMs))
		}
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
}

// fmtSpread prints "median (min–max)", or the median alone for one round.
func fmtSpread(s spread, f func(float64) string) string {
	if s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
}

// fmtLatency prints a latency spread, or "–" for a workload that times
// no record (a read).
func fmtLatency(s spread) string {
	if s == (spread{}) {
		return "–"
	}
	return fmtSpread(s, fmtMs)
}

func fmtRatio(r row) string {
	if r.Baseline == "" {
		return ""
	}
	return fmt.Sprintf("vs %s: ×%.2f records/s, ×%.2f CPU/record", r.Baseline, r.RateRatio, r.CPURatio)
}

// fmtCount prints a rate with three significant digits: 812k, 1.64M.
func fmtCount(x float64) string {
	switch {
	case x >= 1e6:
		return trimSig(x/1e6) + "M"
	case x >= 1e3:
		return trimSig(x/1e3) + "k"
	}
	return trimSig(x)
}

func trimSig(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func fmtFixed1(x float64) string { return fmt.Sprintf("%.1f", x) }

// fmtMs prints small figures with two significant decimals at least.
func fmtMs(x float64) string {
	if x != 0 && math.Abs(x) < 0.1 {
		return fmt.Sprintf("%.3f", x)
	}
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// environment is what the figures were taken on.
type environment struct {
	CPU     string `json:"cpu"`
	Cores   int    `json:"cores"`
	Go      string `json:"go"`
	FranzGo string `json:"franz_go"`
	Command string `json:"command"`
}

// cpuModel returns the first "model name" of /proc/cpuinfo's text.
func cpuModel(cpuinfo string) string {
	for line := range strings.Lines(cpuinfo) {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
