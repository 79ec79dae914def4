package compattests

import (
	"strings"
	"testing"
	"time"
)

func TestBrokerWritesReadyFileLogsAddressAndExitsCleanlyOnSigterm(t *testing.T) {
	skipOnKfake(t, "process behaviour")
	t.Parallel()
	b := startBroker(t)
	if !strings.HasPrefix(b.Addr(), "127.0.0.1:") {
		t.Errorf("ready file holds %q, want the 127.0.0.1 listener", b.Addr())
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if want := "samsa broker listening on " + b.Addr(); !strings.Contains(b.output(), want) {
			return errorf("broker output does not contain %q", want)
		}
		return nil
	})
	// Metadata advertises the address clients bootstrapped from.
	brokers, err := b.admin(t).ListBrokers(testContext(t, 10*time.Second))
	if err != nil || len(brokers) != 1 {
		t.Fatalf("ListBrokers = %v, %v", brokers, err)
	}
	if got := brokers[0]; got.Host != "127.0.0.1" || !strings.HasSuffix(b.Addr(), ":"+itoa(got.Port)) {
		t.Errorf("metadata advertises %s:%d, want %s", got.Host, got.Port, b.Addr())
	}
	b.Stop() // asserts exit status 0 within 20s
}
