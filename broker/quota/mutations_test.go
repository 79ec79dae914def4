package quota

import (
	"testing"
	"time"
)

func TestControllerMutationRateRefusesStrictRequestsOnlyOnceOverAndThrottlesUntilRefilled(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := NewManager(Window{Samples: 2, Size: time.Second})
	m.Reload(NewTable(map[string]map[string]string{"users/<default>": {ControllerMutationRate: "10"}}))
	c := ClientFor("User:alice", "admin")
	// The bucket holds 10/s × 2 × 1 s = 20 partitions; a request under
	// it may take more than is left.
	if m.RecordMutations(c, 15, true, t0) || m.RecordMutations(c, 15, true, t0) {
		t.Fatal("requests made while under the quota were refused")
	}
	if d := m.MutationThrottle(c, t0); d != time.Second {
		t.Fatalf("10 partitions over at 10/s: throttle %v, want 1s", d)
	}
	if !m.RecordMutations(c, 1, true, t0) {
		t.Fatal("a strict request made while over the quota was accepted")
	}
	if m.RecordMutations(c, 1, false, t0) {
		t.Fatal("a request of an old version was refused; old versions are only throttled")
	}
	if m.RecordMutations(c, 1, true, t0.Add(1200*time.Millisecond)) {
		t.Fatal("after the throttle the bucket refilled but the request was refused")
	}
	if m.RecordMutations(ClientFor("User:bob", "x"), 1000, true, t0) {
		t.Fatal("bob has his own bucket")
	}
}
