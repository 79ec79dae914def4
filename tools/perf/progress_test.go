package perf

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTheProgressBarFillsWithTheCount(t *testing.T) {
	cases := []struct {
		done, total int64
		want        string
	}{
		{0, 100, "[>                        ]   0% "},
		{50, 100, "[============>            ]  50% "},
		{100, 100, "[=========================] 100% "},
		{7, 0, ""},
	}
	for _, c := range cases {
		if got := bar(c.done, c.total); got != c.want {
			t.Errorf("bar(%d, %d) = %q, want %q", c.done, c.total, got, c.want)
		}
	}
}

func TestOnATerminalProgressIsRedrawnInPlaceAndClearedForTheSummary(t *testing.T) {
	var out lockedBuffer
	r := &reporter{out: &out, terminal: true, interval: time.Hour,
		live:     func(time.Duration) string { return "live" },
		periodic: func(time.Duration) string { return "periodic" }}
	r.start()
	for deadline := time.Now().Add(10 * time.Second); strings.Count(out.String(), "live") < 2 && time.Now().Before(deadline); {
		time.Sleep(barRefresh / 4)
	}
	r.stop()
	got := out.String()
	if !strings.HasPrefix(got, "\r\033[Klive\r\033[Klive") || !strings.HasSuffix(got, "\r\033[K") || strings.Contains(got, "periodic") || strings.Contains(got, "\n") {
		t.Errorf("terminal output %q: want the live line redrawn in place, then the line cleared", got)
	}
}

// lockedBuffer is a buffer the reporter's goroutine writes while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
