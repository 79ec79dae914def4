package quota

import "time"

// Window is how rates are measured: quota.window.num samples of
// quota.window.size.seconds each (Kafka's defaults: 11 of 1 s).
type Window struct {
	Samples int
	Size    time.Duration
}

// DefaultWindow is Kafka's quota.window.num and quota.window.size.seconds
// defaults.
var DefaultWindow = Window{Samples: 11, Size: time.Second}

func (w Window) normalized() Window {
	if w.Samples < 1 {
		w.Samples = DefaultWindow.Samples
	}
	if w.Size <= 0 {
		w.Size = DefaultWindow.Size
	}
	return w
}

// sample is one window's total, started at start.
type sample struct {
	start time.Time
	total float64
	used  bool
}

// Rate is Kafka's sampled Rate: values recorded into the current sample,
// samples older than Samples × Size forgotten, and the rate the sum of
// the live samples over the time they span, counted as at least
// Samples-1 windows so that the first values of a new client are spread
// over a full measurement window rather than read as a burst.
type Rate struct {
	window  Window
	samples []sample
	current int
}

// NewRate returns an empty rate measured over w.
func NewRate(w Window) *Rate {
	w = w.normalized()
	return &Rate{window: w, samples: make([]sample, w.Samples)}
}

// Record adds v at now.
func (r *Rate) Record(now time.Time, v float64) {
	cur := &r.samples[r.current]
	if !cur.used || now.Sub(cur.start) >= r.window.Size {
		r.current = (r.current + 1) % len(r.samples)
		cur = &r.samples[r.current]
		*cur = sample{start: now, used: true}
	}
	cur.total += v
}

// Measure returns the rate per second at now.
func (r *Rate) Measure(now time.Time) float64 {
	total, span := r.totalAndSpan(now)
	if span <= 0 {
		return 0
	}
	return total / span.Seconds()
}

// totalAndSpan returns the sum of the live samples and the window they
// are measured over (Kafka's Rate.windowSize).
func (r *Rate) totalAndSpan(now time.Time) (float64, time.Duration) {
	expiry := time.Duration(len(r.samples)) * r.window.Size
	var total float64
	var oldest time.Time
	for i := range r.samples {
		s := &r.samples[i]
		if !s.used {
			continue
		}
		if now.Sub(s.start) >= expiry {
			*s = sample{}
			continue
		}
		total += s.total
		if oldest.IsZero() || s.start.Before(oldest) {
			oldest = s.start
		}
	}
	if oldest.IsZero() {
		oldest = now
	}
	return total, r.span(now, oldest)
}

func (r *Rate) span(now, oldest time.Time) time.Duration {
	elapsed := now.Sub(oldest)
	full := int(elapsed / r.window.Size)
	if minFull := len(r.samples) - 1; full < minFull {
		elapsed += time.Duration(minFull-full) * r.window.Size
	}
	return elapsed
}

// ThrottleTime returns how long a client measured by r must wait for its
// rate to come back to bound at now, Kafka's
// (observed - bound) / bound × window; zero when it is within bound.
func (r *Rate) ThrottleTime(now time.Time, bound float64) time.Duration {
	total, span := r.totalAndSpan(now)
	if span <= 0 || bound <= 0 && total <= 0 {
		return 0
	}
	observed := total / span.Seconds()
	if observed <= bound {
		return 0
	}
	if bound <= 0 {
		// A zero quota: wait out a whole window.
		return span
	}
	ms := (observed - bound) / bound * float64(span.Milliseconds())
	return time.Duration(ms+0.5) * time.Millisecond
}
