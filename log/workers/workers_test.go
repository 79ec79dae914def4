package workers

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every item is run once, with at most n calls at a time.
func TestEachRunsEveryItemOnceNAtATime(t *testing.T) {
	items := make([]int, 200)
	for i := range items {
		items[i] = i
	}
	var mu sync.Mutex
	seen := make(map[int]int)
	var running, most atomic.Int32
	Each(items, 8, nil, func(i int) {
		now := running.Add(1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		mu.Lock()
		seen[i]++
		mu.Unlock()
	})
	if len(seen) != len(items) {
		t.Fatalf("%d items run, want %d", len(seen), len(items))
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("item %d run %d times", i, n)
		}
	}
	if m := most.Load(); m > 8 || m < 2 {
		t.Errorf("%d calls at once, want 2 to 8", m)
	}
}

// Once stop reports true no more items are handed out.
func TestEachStopsHandingOutItems(t *testing.T) {
	items := make([]int, 100)
	var ran atomic.Int32
	Each(items, 4, func() bool { return ran.Load() >= 10 }, func(int) { ran.Add(1) })
	if n := ran.Load(); n < 10 || n > 10+4+1 {
		t.Errorf("%d items run after stop at 10, want 10 to 15", n)
	}
}
