package wire

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// warnLimiter keeps one misbehaving client from flooding the log: of the
// warnings with the same key (a message and a client address) it lets one
// through per interval and counts the rest, which the next one reports as
// "suppressed".
type warnLimiter struct {
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

// maxWarnKeys bounds the memory of the limiter: past it, entries older
// than an interval are dropped, and if none is, all are.
const maxWarnKeys = 4096

func newWarnLimiter(interval time.Duration) *warnLimiter {
	return &warnLimiter{interval: interval, now: time.Now, seen: make(map[warnKey]*warnState)}
}

// warn logs msg at WARN level with the fields fill adds, unless the same
// msg from the same source was logged less than an interval ago.
func (w *warnLimiter) warn(log zerolog.Logger, source, msg string, fill func(*zerolog.Event) *zerolog.Event) {
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
	e := log.Warn()
	if fill != nil {
		e = fill(e)
	}
	if suppressed > 0 {
		e = e.Int("suppressed", suppressed).Dur("in_last", w.interval)
	}
	e.Msg(msg)
}

func (w *warnLimiter) pruneLocked(now time.Time) {
	for k, st := range w.seen {
		if now.Sub(st.last) >= w.interval {
			delete(w.seen, k)
		}
	}
	if len(w.seen) >= maxWarnKeys {
		clear(w.seen)
	}
}
