package mirror

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// report logs a progress line: records and bytes mirrored since the last
// one, their rate, and the mirror's lag on the source. The final line
// (at a clean stop) gives the totals of the run instead.
func (m *mirror) report(ctx context.Context, final bool) {
	now := time.Now()
	lagText := "unknown"
	if lag, err := m.sourceLag(ctx); err != nil {
		if ctx.Err() == nil { // else the mirror is stopping: the final line follows
			m.logf("lag: %v", err)
		}
	} else {
		m.lag = lag
		lagText = fmt.Sprint(lag)
	}
	if final {
		elapsed := now.Sub(m.started)
		m.logf("stopped after %s: %d records (%s) in %d topics, %s, %d group offsets synced, lag %s",
			elapsed.Round(time.Millisecond), m.records, formatBytes(m.bytes), len(m.topics),
			rate(m.records, m.bytes, elapsed), m.groupOffsets, lagText)
		return
	}
	window := now.Sub(m.lastReport)
	m.logf("%d records in %s (%s), %d in total, %d topics, lag %s",
		m.records-m.lastRecords, window.Round(time.Millisecond), rate(m.records-m.lastRecords, m.bytes-m.lastBytes, window),
		m.records, len(m.topics), lagText)
	m.lastReport, m.lastRecords, m.lastBytes = now, m.records, m.bytes
}

// sourceLag is how many source records of the mirrored topics the mirror
// has not committed: each partition's end offset less its group's
// committed offset (less its start offset, when nothing is committed).
func (m *mirror) sourceLag(ctx context.Context) (int64, error) {
	if len(m.topics) == 0 {
		return 0, nil
	}
	topics := slices.Sorted(maps.Keys(m.topics))
	ends, err := m.srcAdm.ListEndOffsets(ctx, topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return -1, fmt.Errorf("list source end offsets: %w", err)
	}
	starts, err := m.srcAdm.ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return -1, fmt.Errorf("list source start offsets: %w", err)
	}
	committed, err := m.srcAdm.FetchOffsetsForTopics(ctx, m.cfg.Group, topics...)
	if err == nil {
		err = committed.Error()
	}
	if err != nil {
		return -1, fmt.Errorf("fetch the offsets of group %s: %w", m.cfg.Group, err)
	}
	var lag int64
	ends.Each(func(end kadm.ListedOffset) {
		from := int64(0)
		if s, ok := starts.Lookup(end.Topic, end.Partition); ok {
			from = s.Offset
		}
		if c, ok := committed.Lookup(end.Topic, end.Partition); ok && c.Err == nil && c.At >= 0 {
			from = max(from, c.At)
		}
		lag += max(end.Offset-from, 0)
	})
	return lag, nil
}

// rate is records and MB (10^6 bytes, as Kafka's perf tools count) per
// second over d.
func rate(records, bytes int64, d time.Duration) string {
	if d <= 0 {
		return "0.0 records/s, 0.00 MB/s"
	}
	return fmt.Sprintf("%.1f records/s, %.2f MB/s", float64(records)/d.Seconds(), float64(bytes)/1e6/d.Seconds())
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
