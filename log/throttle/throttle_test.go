package throttle

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestRepeatedWarningsFromOneSourceAreCounted(t *testing.T) {
	var out bytes.Buffer
	log := zerolog.New(&out)
	w := New(time.Minute)
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }
	for i := 0; i < 50; i++ {
		w.Warn(log, "10.0.0.1", "rejected connection", nil)
	}
	w.Warn(log, "10.0.0.2", "rejected connection", nil) // another source is its own
	now = now.Add(time.Minute)
	w.Warn(log, "10.0.0.1", "rejected connection", nil)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines logged, want 3:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[2], `"suppressed":49`) {
		t.Fatalf("the warning after the interval does not count the 49 suppressed: %s", lines[2])
	}
}

func TestErrorsAreThrottledAtTheirOwnLevel(t *testing.T) {
	var out bytes.Buffer
	log := zerolog.New(&out)
	w := New(time.Minute)
	for i := 0; i < 10; i++ {
		w.Error(log, "events-0", "write checkpoint", func(e *zerolog.Event) *zerolog.Event { return e.Str("why", "no space left on device") })
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"level":"error"`) || !strings.Contains(lines[0], "no space left") {
		t.Fatalf("logged %q, want one error line with its fields", out.String())
	}
}
