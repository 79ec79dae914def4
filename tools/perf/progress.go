package perf

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// barRefresh is how often the live progress bar is redrawn.
const barRefresh = 200 * time.Millisecond

// reporter shows a run's progress until stop: on a terminal, one line
// redrawn in place (live); elsewhere, a line every interval (periodic).
type reporter struct {
	out      io.Writer
	terminal bool
	interval time.Duration
	periodic func(window time.Duration) string
	live     func(elapsed time.Duration) string

	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

func (r *reporter) start() {
	r.quit, r.done = make(chan struct{}), make(chan struct{})
	go r.run()
}

func (r *reporter) run() {
	defer close(r.done)
	every := r.interval
	if r.terminal {
		every = barRefresh
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	begin, last := time.Now(), time.Now()
	for {
		select {
		case <-r.quit:
			if r.terminal {
				fmt.Fprint(r.out, "\r\033[K") // the summary takes the bar's place
			}
			return
		case now := <-tick.C:
			if r.terminal {
				fmt.Fprint(r.out, "\r\033[K"+r.live(now.Sub(begin)))
			} else {
				fmt.Fprintln(r.out, r.periodic(now.Sub(last)))
			}
			last = now
		}
	}
}

// stop ends the reporting and waits until the last line is out.
func (r *reporter) stop() {
	r.stopOnce.Do(func() { close(r.quit) })
	<-r.done
}

// bar draws done out of total as [=====>    ] 42%; an unknown total
// (0) draws no bar.
func bar(done, total int64) string {
	const width = 25
	if total <= 0 {
		return ""
	}
	frac := min(float64(done)/float64(total), 1)
	filled := int(frac * width)
	head := ""
	if filled < width {
		head = ">"
	}
	return fmt.Sprintf("[%s%s%s] %3.0f%% ", strings.Repeat("=", filled), head,
		strings.Repeat(" ", max(0, width-filled-len(head))), frac*100)
}
