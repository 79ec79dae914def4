package memcluster

import (
	"testing"

	"github.com/samsa-io/samsa/controller"
)

// A Store's session state reads as a ZooKeeper client's would: connected,
// disconnected while cut off, expired once its session ended, connected
// again when it rejoins, closed at the end.
func TestSessionStateFollowsPauseExpiryResumeAndClose(t *testing.T) {
	c := newCluster(t, 2)
	s := c.stores[2]
	step := func(what, want string) {
		t.Helper()
		if got := s.SessionState(); got != want {
			t.Errorf("%s: session %s, want %s", what, got, want)
		}
	}
	if got := s.SessionService(); got != "embedded" {
		t.Errorf("session service %q, want embedded", got)
	}
	step("joined", controller.SessionConnected)
	if err := c.e.Pause(2); err != nil {
		t.Fatal(err)
	}
	step("paused", controller.SessionDisconnected)
	if err := c.e.Expire(2); err != nil {
		t.Fatal(err)
	}
	step("paused past its session timeout", controller.SessionExpired)
	if err := c.e.Resume(2); err != nil {
		t.Fatal(err)
	}
	step("resumed", controller.SessionConnected)
	s.Close()
	step("closed", controller.SessionClosed)
}
