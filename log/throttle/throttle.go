// Package throttle keeps repeated log lines from flooding a broker's log:
// of the lines with the same key (a message and a source: a client
// address, a partition) it lets one through per interval and counts the
// rest, which the next line it lets through reports as "suppressed". A
// client that retries in a loop, or a disk that stays full, costs a line
// every few seconds, not thousands.
package throttle

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Throttle lets one line per key and interval through. It is safe for
// concurrent use.
type Throttle struct {
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	seen map[warnKey]*warnState
}

type warnKey struct {
	msg    string
	source string
}

type warnState struct {
	last       time.Time
	suppressed int
}

// maxWarnKeys bounds the memory of the throttle: past it, entries older
// than an interval are dropped, and if none is, all are.
const maxWarnKeys = 4096

// New returns a throttle that lets a line per key through every interval.
func New(interval time.Duration) *Throttle {
	return &Throttle{interval: interval, now: time.Now, seen: make(map[warnKey]*warnState)}
}

// Warn logs msg at WARN level with the fields fill adds, unless the same
// msg from the same source was logged less than an interval ago.
func (w *Throttle) Warn(log zerolog.Logger, source, msg string, fill func(*zerolog.Event) *zerolog.Event) {
	w.log(log.Warn, source, msg, fill)
}

// Error is Warn at ERROR level.
func (w *Throttle) Error(log zerolog.Logger, source, msg string, fill func(*zerolog.Event) *zerolog.Event) {
	w.log(log.Error, source, msg, fill)
}

func (w *Throttle) log(level func() *zerolog.Event, source, msg string, fill func(*zerolog.Event) *zerolog.Event) {
	now := w.now()
	key := warnKey{msg: msg, source: source}
	w.mu.Lock()
	st, ok := w.seen[key]
	if ok && now.Sub(st.last) < w.interval {
		st.suppressed++
		w.mu.Unlock()
		return
	}
	suppressed := 0
	if ok {
		suppressed = st.suppressed
		st.last, st.suppressed = now, 0
	} else {
		if len(w.seen) >= maxWarnKeys {
			w.pruneLocked(now)
		}
		w.seen[key] = &warnState{last: now}
	}
	w.mu.Unlock()
	e := level()
	if fill != nil {
		e = fill(e)
	}
	if suppressed > 0 {
		e = e.Int("suppressed", suppressed).Dur("in_last", w.interval)
	}
	e.Msg(msg)
}

func (w *Throttle) pruneLocked(now time.Time) {
	for k, st := range w.seen {
		if now.Sub(st.last) >= w.interval {
			delete(w.seen, k)
		}
	}
	if len(w.seen) >= maxWarnKeys {
		clear(w.seen)
	}
}
