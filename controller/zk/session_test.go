package zk

import (
	"fmt"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
)

// The store reports its ZooKeeper session as monitoring reads it:
// connected, not connected while ZooKeeper cannot be reached, connected
// again once it can, closed after Close.
func TestSessionStateFollowsTheZooKeeperConnection(t *testing.T) {
	c := newCluster(t, 1)
	b := c.brokers[1]
	if got := b.SessionService(); got != "zookeeper" {
		t.Errorf("session service %q, want zookeeper", got)
	}
	if got := b.SessionState(); got != controller.SessionConnected {
		t.Fatalf("started: session %s, want %s", got, controller.SessionConnected)
	}
	b.net.cut()
	checkFor(t, 10*time.Second, "the session is no longer connected", func() error {
		if got := b.SessionState(); got == controller.SessionConnected {
			return fmt.Errorf("session %s with ZooKeeper cut off", got)
		}
		return nil
	})
	b.net.heal()
	checkFor(t, 15*time.Second, "the session is connected again", func() error {
		if got := b.SessionState(); got != controller.SessionConnected {
			return fmt.Errorf("session %s after the network healed", got)
		}
		return nil
	})
	b.Close()
	if got := b.SessionState(); got != controller.SessionClosed {
		t.Errorf("closed: session %s, want %s", got, controller.SessionClosed)
	}
}
