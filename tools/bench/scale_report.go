package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// scaleRow is one figure of `bench scale`: what was measured, beside the
// issue's target for it and whether it holds.
type scaleRow struct {
	Figure   string  `json:"figure"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"` // Measured as a number, in Unit
	Unit     string  `json:"unit"`
	Target   string  `json:"target,omitempty"`
	Verdict  string  `json:"verdict,omitempty"` // PASS or FAIL; none for a figure without a target
}

const (
	pass = "PASS"
	fail = "FAIL"
)

func verdict(ok bool) string {
	if ok {
		return pass
	}
	return fail
}

// durationRow is a time with an upper bound; limit 0 is no target.
func durationRow(figure string, d, limit time.Duration) scaleRow {
	r := scaleRow{Figure: figure, Measured: fmtDuration(d), Value: d.Seconds(), Unit: "s"}
	if limit > 0 {
		r.Target = "< " + fmtDuration(limit)
		r.Verdict = verdict(d < limit)
	}
	return r
}

// bytesRow is a size with an upper bound; limit 0 is no target.
func bytesRow(figure string, b, limit int64) scaleRow {
	r := scaleRow{Figure: figure, Measured: fmtBytes(b), Value: float64(b), Unit: "bytes"}
	if limit > 0 {
		r.Target = "< " + fmtBytes(limit)
		r.Verdict = verdict(b < limit)
	}
	return r
}

// coreShareRow is CPU time used over a wall-clock window, as a share of
// one core, against limit percent.
func coreShareRow(figure string, cpu, wall time.Duration, limit float64) scaleRow {
	pct := 0.0
	if wall > 0 {
		pct = cpu.Seconds() / wall.Seconds() * 100
	}
	return scaleRow{Figure: figure, Measured: fmt.Sprintf("%.2f%% of a core (%v CPU in %v)", pct, cpu, wall.Round(time.Millisecond)),
		Value: pct, Unit: "% of a core", Target: fmt.Sprintf("< %g%% of a core", limit), Verdict: verdict(pct < limit)}
}

// fmtDuration prints a duration to the millisecond above a second and
// to the tenth of a millisecond below.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", d.Seconds()*1000)
}

// fmtBytes prints a size in binary units: 500 MiB, 10.0 GiB.
func fmtBytes(b int64) string {
	x := float64(b)
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", x/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", x/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", x/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// parseSize reads a size as the flags take it: a whole number of bytes,
// or one with a unit, binary (KiB, MiB, GiB) or decimal (kB, MB, GB).
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range units {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	x, err := strconv.ParseFloat(t, 64)
	if err != nil || x < 0 || math.IsInf(x, 0) || math.IsNaN(x) || x*mult > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q: want bytes, e.g. 10GiB, 512MiB or 4096", s)
	}
	return int64(x * mult), nil
}

// sizeFlag is a flag.Value holding a size (parseSize).
type sizeFlag struct{ n *int64 }

func (f sizeFlag) String() string {
	if f.n == nil {
		return ""
	}
	return fmtBytes(*f.n)
}

func (f sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f.n = n
	return nil
}

// rssSample is the broker's resident set size at one moment of a
// sustained load, and the bytes it stored by then.
type rssSample struct {
	At     time.Duration `json:"at_ns"` // since the load began
	RSS    int64         `json:"rss"`
	Anon   int64         `json:"rss_anon"`
	File   int64         `json:"rss_file"`
	Stored int64         `json:"stored"`
}

// rssTrend is what the samples of a sustained load say about memory.
type rssTrend struct {
	Start, End, Max int64
	// PerGiB is the least-squares slope of RSS against bytes stored:
	// bytes of RSS gained per GiB stored; AnonPerGiB and FilePerGiB split
	// it into anonymous and file-backed memory.
	PerGiB, AnonPerGiB, FilePerGiB float64
	// Judged is false with fewer than rssMinSamples samples; Flat is then
	// meaningless.
	Judged bool
	// Flat holds when the peak of the later half of the samples is within
	// rssSlack of the peak of the earlier half: the broker's memory does
	// not grow with the data it stores. Peaks, not single samples, because
	// a Go heap between collections is a sawtooth.
	Flat bool
}

const rssMinSamples = 4

// rssSlack is how far the later half's peak may rise over the earlier
// half's before RSS counts as growing: 10% of it, or 16 MiB if more, about
// what one garbage collection cycle's swing and the page cache's share of
// a broker's mappings move it by.
func rssSlack(earlierPeak int64) int64 { return max(earlierPeak/10, 16<<20) }

func trendOf(samples []rssSample) rssTrend {
	var t rssTrend
	if len(samples) == 0 {
		return t
	}
	t.Start, t.End = samples[0].RSS, samples[len(samples)-1].RSS
	for _, s := range samples {
		t.Max = max(t.Max, s.RSS)
	}
	t.PerGiB = slopePerGiB(samples, func(s rssSample) int64 { return s.RSS })
	t.AnonPerGiB = slopePerGiB(samples, func(s rssSample) int64 { return s.Anon })
	t.FilePerGiB = slopePerGiB(samples, func(s rssSample) int64 { return s.File })
	if len(samples) < rssMinSamples {
		return t
	}
	half := len(samples) / 2
	var earlier, later int64
	for _, s := range samples[:half] {
		earlier = max(earlier, s.RSS)
	}
	for _, s := range samples[half:] {
		later = max(later, s.RSS)
	}
	t.Judged = true
	t.Flat = later <= earlier+rssSlack(earlier)
	return t
}

// slopePerGiB is the least-squares slope of y(sample) in bytes over the
// bytes stored in GiB; 0 when stored did not change.
func slopePerGiB(samples []rssSample, y func(rssSample) int64) float64 {
	n := float64(len(samples))
	var sx, sy, sxx, sxy float64
	for _, s := range samples {
		x, y := float64(s.Stored)/(1<<30), float64(y(s))
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	if den := n*sxx - sx*sx; den > 0 {
		return (n*sxy - sx*sy) / den
	}
	return 0
}

// fmtSignedBytes is fmtBytes of a figure that may be negative.
func fmtSignedBytes(x float64) string {
	if x < 0 {
		return "-" + fmtBytes(int64(-x))
	}
	return fmtBytes(int64(x))
}

// rssRow is a process's resident memory against limit (0: no target),
// with its anonymous and file-backed parts.
func rssRow(figure string, p rssParts, limit int64) scaleRow {
	r := bytesRow(figure, p.Total, limit)
	r.Measured += fmt.Sprintf(" (anonymous %s, file-backed %s)", fmtBytes(p.Anon), fmtBytes(p.File))
	return r
}

// trendRows are the sustained load's memory figures.
func trendRows(label string, t rssTrend) []scaleRow {
	r := scaleRow{Figure: label + ": RSS after the first tenth / end / max",
		Measured: fmt.Sprintf("%s / %s / %s", fmtBytes(t.Start), fmtBytes(t.End), fmtBytes(t.Max)),
		Value:    float64(t.Max), Unit: "bytes", Target: "flat (later half's peak within max(10%, 16 MiB) of the earlier half's)"}
	if t.Judged {
		r.Verdict = verdict(t.Flat)
	} else {
		r.Measured += fmt.Sprintf(" (fewer than %d samples: not judged)", rssMinSamples)
	}
	slope := scaleRow{Figure: label + ": RSS growth per GiB stored",
		Measured: fmt.Sprintf("%s / GiB (anonymous %s, file-backed %s)",
			fmtSignedBytes(t.PerGiB), fmtSignedBytes(t.AnonPerGiB), fmtSignedBytes(t.FilePerGiB)),
		Value: t.PerGiB, Unit: "bytes per GiB"}
	return []scaleRow{r, slope}
}

// writeScaleMarkdown prints the header lines and the table.
func writeScaleMarkdown(w io.Writer, env environment, rows []scaleRow, notes []string) {
	fmt.Fprintf(w, "machine: %s, %d cores; %s; franz-go %s\n", env.CPU, env.Cores, env.Go, env.FranzGo)
	fmt.Fprintf(w, "command: %s\n\n", env.Command)
	fmt.Fprintln(w, "| figure | measured | target | |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rows {
		target := r.Target
		if target == "" {
			target = "–"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Figure, r.Measured, target, r.Verdict)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
	}
}
