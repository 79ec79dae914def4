package quota

import (
	"net/netip"
	"testing"
	"time"
)

func TestBrokerOverItsConnectionCreationRatePausesItsListenerAtMostAWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewConnectionRates(Window{Samples: 2, Size: time.Second})
	r.Set(10, nil)
	ip := netip.MustParseAddr("10.0.0.1")
	var paused time.Duration
	for i := range 20 {
		pause, closeAfter := r.Accepted("PLAINTEXT", ip, t0)
		if closeAfter != 0 {
			t.Fatalf("connection %d refused for %v with no IP quota", i, closeAfter)
		}
		if i < 10 && pause != 0 {
			t.Fatalf("connection %d of a burst of 10 at 10/s paused the listener %v", i, pause)
		}
		paused = pause
	}
	if paused != time.Second {
		t.Fatalf("after 20 connections in an instant at 10/s the pause is %v, want the 1s window cap", paused)
	}
}

func TestAddressOverItsConnectionCreationRateHasNewConnectionsClosed(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewConnectionRates(Window{Samples: 2, Size: time.Second})
	r.Set(1<<31-1, map[string]map[string]string{
		"ips/10.0.0.1":    {ConnectionCreationRate: "3"},
		"ips/<default>":   {ConnectionCreationRate: "100"},
		"ips/not-an-addr": {ConnectionCreationRate: "1"},
	})
	limited, other := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	var refused int
	for range 10 {
		if _, closeAfter := r.Accepted("PLAINTEXT", limited, t0); closeAfter > 0 {
			refused++
		}
		if _, closeAfter := r.Accepted("PLAINTEXT", other, t0); closeAfter > 0 {
			t.Fatalf("an address under the 100/s default was refused")
		}
	}
	if refused != 7 {
		t.Fatalf("10 connections at once from an address allowed 3/s: %d refused, want 7", refused)
	}
	// Refused connections are not counted: a second later the address
	// is back under its rate.
	if _, closeAfter := r.Accepted("PLAINTEXT", limited, t0.Add(2*time.Second)); closeAfter != 0 {
		t.Fatalf("two seconds later the address is still refused for %v", closeAfter)
	}
}

func TestListenerRateBoundsItsListenerAndTheBrokerRateSparesTheInterBrokerOne(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewConnectionRates(Window{Samples: 2, Size: time.Second})
	r.Set(10, nil)
	r.SetListeners(map[string]int32{"EXTERNAL": 2}, "INTERNAL")
	ip := netip.MustParseAddr("10.0.0.1")
	var paused int
	for range 5 {
		if pause, _ := r.Accepted("EXTERNAL", ip, t0); pause > 0 {
			paused++
		}
	}
	if paused != 3 {
		t.Fatalf("5 connections at once on a listener allowed 2/s: %d paused it, want 3", paused)
	}
	// The inter-broker listener is spared the broker-wide 10/s.
	for i := range 30 {
		if pause, _ := r.Accepted("INTERNAL", ip, t0); pause > 0 {
			t.Fatalf("inter-broker connection %d paused for %v", i, pause)
		}
	}
	// Another listener without its own rate meets the broker-wide one,
	// which counted the 5 EXTERNAL connections but not the INTERNAL ones.
	var clientPaused int
	for range 10 {
		if pause, _ := r.Accepted("CLIENTS", ip, t0); pause > 0 {
			clientPaused++
		}
	}
	if clientPaused != 5 {
		t.Fatalf("10 more connections on top of 5 at 10/s broker-wide: %d paused, want 5", clientPaused)
	}
}
