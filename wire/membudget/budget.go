// Package membudget bounds the memory that many independent holders (the
// request frames being read and served, the buffers of decompressions)
// keep at once, so that no client can make the broker allocate more than
// a configured number of bytes by what it sends.
//
// A Budget has a limit in bytes. A Holder takes bytes from it as it needs
// them (Acquire), waiting while they do not fit, and gives them back when
// done (Release). Bytes are taken as they are needed, not as they are
// claimed: a frame that claims 100 MiB and sends 1 MiB holds 1 MiB.
//
// Waiting could deadlock: when every holder is waiting for more, none will
// release. The Budget breaks that by letting one holder at a time (the
// one that has waited longest) overdraw until it releases everything, so
// the bytes held never exceed the limit plus what one holder needs: a
// request larger than the whole budget is still served, alone.
//
// Holders are cheap; a Holder is used by one goroutine at a time.
package membudget

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Budget is a bound on bytes held at once. The zero value is not usable;
// call New.
type Budget struct {
	mu        sync.Mutex
	limit     int64 // <= 0: no bound, bytes are only counted
	used      int64
	holders   int       // holders with bytes held
	waiters   []*waiter // in arrival order
	overdraft *Holder   // the holder allowed past the limit, if any
}

type waiter struct {
	h     *Holder
	n     int64
	ready chan struct{} // closed once the bytes were granted
}

// New returns a budget of limit bytes; limit <= 0 means unbounded.
func New(limit int64) *Budget {
	return &Budget{limit: limit}
}

// SetLimit changes the limit (a dynamic config). Waiters that now fit are
// let through.
func (b *Budget) SetLimit(limit int64) {
	b.mu.Lock()
	b.limit = limit
	b.wakeLocked()
	b.mu.Unlock()
}

// Limit returns the limit in bytes (<= 0: unbounded).
func (b *Budget) Limit() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit
}

// Used returns the bytes held now.
func (b *Budget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Waiting returns how many holders wait for bytes now.
func (b *Budget) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}

// Holder returns a new holder with nothing held.
func (b *Budget) Holder() *Holder { return &Holder{b: b} }

// Holder holds bytes of a Budget.
type Holder struct {
	b    *Budget
	held int64
}

// Held returns the bytes h holds.
func (h *Holder) Held() int64 { return h.held }

// Acquire takes n more bytes, waiting until they fit under the limit (or
// h may overdraw, see the package doc). It returns ctx's error if ctx ends
// first, holding no more than before.
func (h *Holder) Acquire(ctx context.Context, n int64) error {
	if n <= 0 {
		return nil
	}
	b := h.b
	b.mu.Lock()
	if len(b.waiters) == 0 && b.grantableLocked(h, n) {
		b.takeLocked(h, n)
		b.mu.Unlock()
		return nil
	}
	w := &waiter{h: h, n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.wakeLocked() // this waiter may complete a deadlock
	b.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready:
			// Granted meanwhile: keep it; the caller releases what it
			// holds when it gives up.
			return nil
		default:
		}
		b.removeWaiterLocked(w)
		b.wakeLocked() // the waiters left may now be deadlocked
		return ctx.Err()
	}
}

// TryAcquire takes n more bytes if they fit now (and no one is waiting
// ahead), and reports whether it did.
func (h *Holder) TryAcquire(n int64) bool {
	if n <= 0 {
		return true
	}
	b := h.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.waiters) == 0 && b.grantableLocked(h, n) {
		b.takeLocked(h, n)
		return true
	}
	return false
}

// Force takes n bytes without waiting, even past the limit. Callers use it
// for small amounts that must never wait (a connection's first small
// request); the bytes still count against everyone else.
func (h *Holder) Force(n int64) {
	if n <= 0 {
		return
	}
	h.b.mu.Lock()
	h.b.takeLocked(h, n)
	h.b.mu.Unlock()
}

// Release gives back n bytes (at most what h holds).
func (h *Holder) Release(n int64) {
	n = min(n, h.held)
	if n <= 0 {
		return
	}
	b := h.b
	b.mu.Lock()
	h.held -= n
	b.used -= n
	if h.held == 0 {
		b.holders--
		if b.overdraft == h {
			b.overdraft = nil
		}
	}
	b.wakeLocked()
	b.mu.Unlock()
	if n >= collectAfter {
		collectSoon()
	}
}

// collectAfter is how many bytes released at once prompt a garbage
// collection (see collectSoon).
const collectAfter = 16 << 20

// ReleaseAll gives back everything h holds.
func (h *Holder) ReleaseAll() { h.Release(h.held) }

func (b *Budget) grantableLocked(h *Holder, n int64) bool {
	return b.limit <= 0 || b.used+n <= b.limit || b.overdraft == h
}

func (b *Budget) takeLocked(h *Holder, n int64) {
	if h.held == 0 {
		b.holders++
	}
	h.held += n
	b.used += n
}

// wakeLocked grants every waiter that fits, in arrival order, and breaks
// a deadlock: when every holder is waiting (none will release) and no one
// overdraws yet, the longest waiter may overdraw.
func (b *Budget) wakeLocked() {
	for {
		granted := false
		for i := 0; i < len(b.waiters); i++ {
			w := b.waiters[i]
			if !b.grantableLocked(w.h, w.n) {
				continue
			}
			b.grantLocked(i)
			granted = true
			i--
		}
		if len(b.waiters) == 0 || b.overdraft != nil {
			return
		}
		waitingHolders := 0
		for _, w := range b.waiters {
			if w.h.held > 0 {
				waitingHolders++
			}
		}
		if waitingHolders < b.holders {
			if !granted {
				return
			}
			continue
		}
		b.overdraft = b.waiters[0].h
		b.grantLocked(0)
	}
}

func (b *Budget) grantLocked(i int) {
	w := b.waiters[i]
	b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
	b.takeLocked(w.h, w.n)
	close(w.ready)
}

func (b *Budget) removeWaiterLocked(w *waiter) {
	for i, x := range b.waiters {
		if x == w {
			b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
			return
		}
	}
}

// Go's collector paces itself by the live heap it last measured: after a
// burst that held hundreds of MiB (a large request, a flood of partial
// frames), it would let the heap grow to twice that burst before
// collecting again, so the next burst would take fresh memory instead of
// the freed one. A collection right after large releases measures the
// small live heap again, and the next burst reuses what the last freed.
// It runs in the background, at most once per collectInterval.
const collectInterval = time.Second

var lastCollect atomic.Int64 // unix nanoseconds of the last scheduled collection

func collectSoon() {
	now := time.Now().UnixNano()
	last := lastCollect.Load()
	if now-last < int64(collectInterval) || !lastCollect.CompareAndSwap(last, now) {
		return
	}
	go runtime.GC()
}
