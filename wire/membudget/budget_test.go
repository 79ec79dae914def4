package membudget

import (
	"context"
	"sync"
	"testing"
	"time"
)

// acquireAsync starts h.Acquire(n) and returns a channel that receives its
// result.
func acquireAsync(ctx context.Context, h *Holder, n int64) <-chan error {
	done := make(chan error, 1)
	go func() { done <- h.Acquire(ctx, n) }()
	return done
}

func requireBlocked(t *testing.T, what string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s returned (%v), want it to wait", what, err)
	case <-time.After(50 * time.Millisecond):
	}
}

func requireGranted(t *testing.T, what string, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still waits", what)
	}
}

func TestAcquireWithinTheLimitDoesNotWait(t *testing.T) {
	b := New(100)
	a, c := b.Holder(), b.Holder()
	if err := a.Acquire(context.Background(), 60); err != nil {
		t.Fatal(err)
	}
	if err := c.Acquire(context.Background(), 40); err != nil {
		t.Fatal(err)
	}
	if b.Used() != 100 || a.Held() != 60 || c.Held() != 40 {
		t.Fatalf("used %d, held %d and %d; want 100, 60 and 40", b.Used(), a.Held(), c.Held())
	}
}

func TestAcquireOverTheLimitWaitsForARelease(t *testing.T) {
	b := New(100)
	a, c := b.Holder(), b.Holder()
	a.Acquire(context.Background(), 80)
	done := acquireAsync(context.Background(), c, 30)
	// a holds bytes and is not waiting: it will release, so c waits.
	requireBlocked(t, "acquiring 30 of 100 with 80 held elsewhere", done)
	a.Release(80)
	requireGranted(t, "acquire after the release", done)
	if b.Used() != 30 {
		t.Fatalf("used %d, want 30", b.Used())
	}
}

func TestOneRequestLargerThanTheWholeBudgetGoesAlone(t *testing.T) {
	b := New(100)
	big := b.Holder()
	if err := big.Acquire(context.Background(), 250); err != nil {
		t.Fatal(err)
	}
	// Others wait until it is done.
	other := b.Holder()
	done := acquireAsync(context.Background(), other, 10)
	requireBlocked(t, "a small acquire while one holder overdraws", done)
	big.ReleaseAll()
	requireGranted(t, "the small acquire after the overdraft ended", done)
}

func TestWhenEveryHolderWaitsTheLongestWaiterOverdraws(t *testing.T) {
	// Three frames each half read, each needing more: none would ever
	// release. The first to wait finishes; the others follow once it
	// releases.
	b := New(90)
	hs := []*Holder{b.Holder(), b.Holder(), b.Holder()}
	for _, h := range hs {
		h.Acquire(context.Background(), 30)
	}
	first := acquireAsync(context.Background(), hs[0], 30)
	requireBlocked(t, "the first waiter while others can still release", first)
	second := acquireAsync(context.Background(), hs[1], 30)
	requireBlocked(t, "the second waiter", second)
	third := acquireAsync(context.Background(), hs[2], 30)
	requireGranted(t, "the longest waiter once every holder waits", first)
	requireBlocked(t, "the second waiter during the overdraft", second)
	if b.Used() != 120 {
		t.Fatalf("used %d during the overdraft, want 120", b.Used())
	}
	// The overdraft holder may take more until it lets go of everything.
	if err := hs[0].Acquire(context.Background(), 30); err != nil {
		t.Fatal(err)
	}
	hs[0].ReleaseAll()
	requireGranted(t, "the second waiter after the overdraft ended", second)
	requireBlocked(t, "the third waiter (the second still holds and may finish)", third)
	hs[1].ReleaseAll()
	requireGranted(t, "the third waiter", third)
}

func TestAHolderBlockedElsewhereIsNotADeadlock(t *testing.T) {
	// A holder that is not waiting for the budget (a client that stopped
	// sending, a request being served) may release later: no overdraft,
	// so the limit holds against slow clients.
	b := New(100)
	slow, fast := b.Holder(), b.Holder()
	slow.Acquire(context.Background(), 90)
	fast.Acquire(context.Background(), 10)
	done := acquireAsync(context.Background(), fast, 10)
	requireBlocked(t, "a waiter while another holder is busy elsewhere", done)
	if b.Used() != 100 {
		t.Fatalf("used %d, want the limit (100)", b.Used())
	}
	slow.ReleaseAll()
	requireGranted(t, "the waiter after the slow holder released", done)
}

func TestCancelledAcquireHoldsNothingMore(t *testing.T) {
	b := New(100)
	a, c := b.Holder(), b.Holder()
	a.Acquire(context.Background(), 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := acquireAsync(ctx, c, 50)
	requireBlocked(t, "acquire over the limit", done)
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("cancelled acquire returned %v, want context.Canceled", err)
	}
	if c.Held() != 0 || b.Used() != 100 || b.Waiting() != 0 {
		t.Fatalf("after the cancel: held %d, used %d, waiting %d; want 0, 100, 0", c.Held(), b.Used(), b.Waiting())
	}
}

func TestForceCountsAgainstOthers(t *testing.T) {
	b := New(100)
	small := b.Holder()
	small.Force(100)
	other := b.Holder()
	done := acquireAsync(context.Background(), other, 1)
	requireBlocked(t, "acquire while forced bytes fill the budget", done)
	small.ReleaseAll()
	requireGranted(t, "acquire after the forced bytes went", done)
}

func TestRaisingTheLimitLetsWaitersThrough(t *testing.T) {
	b := New(10)
	a, c := b.Holder(), b.Holder()
	a.Acquire(context.Background(), 10)
	done := acquireAsync(context.Background(), c, 10)
	requireBlocked(t, "acquire over the limit", done)
	b.SetLimit(20)
	requireGranted(t, "acquire after the limit grew", done)
}

func TestUnboundedBudgetOnlyCounts(t *testing.T) {
	b := New(0)
	h := b.Holder()
	if err := h.Acquire(context.Background(), 1<<40); err != nil {
		t.Fatal(err)
	}
	if b.Used() != 1<<40 {
		t.Fatalf("used %d, want %d", b.Used(), int64(1<<40))
	}
}

func TestConcurrentHoldersNeverPassTheLimitButByOneOverdraft(t *testing.T) {
	const limit, step, rounds = 100, 7, 200
	b := New(limit)
	var wg sync.WaitGroup
	var mu sync.Mutex
	peak := int64(0)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := b.Holder()
			for r := 0; r < rounds; r++ {
				for i := 0; i < 5; i++ {
					if err := h.Acquire(context.Background(), step); err != nil {
						t.Error(err)
						return
					}
				}
				mu.Lock()
				peak = max(peak, b.Used())
				mu.Unlock()
				h.ReleaseAll()
			}
		}()
	}
	wg.Wait()
	if b.Used() != 0 {
		t.Fatalf("used %d after every holder released, want 0", b.Used())
	}
	// One holder may overdraw by at most its own need (5 steps).
	if peak > limit+5*step {
		t.Fatalf("peak %d bytes held, over the limit %d plus one holder's %d", peak, limit, 5*step)
	}
}
