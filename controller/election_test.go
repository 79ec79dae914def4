package controller

import (
	"errors"
	"slices"
	"testing"
)

func liveness(live []int32, opts ...func(*Liveness)) Liveness {
	l := Liveness{Live: map[int32]bool{}, ShuttingDown: map[int32]bool{}, Restarted: map[int32]bool{}}
	for _, id := range live {
		l.Live[id] = true
	}
	for _, o := range opts {
		o(&l)
	}
	return l
}

func state(leader, epoch int32, isr ...int32) LeaderAndISR {
	return LeaderAndISR{Leader: leader, LeaderEpoch: epoch, ISR: isr}
}

func TestReconcileState(t *testing.T) {
	replicas := []int32{1, 2, 3}
	for _, tc := range []struct {
		name    string
		cur     LeaderAndISR
		l       Liveness
		unclean bool
		want    LeaderAndISR
		changed bool
	}{
		{"all alive: nothing to do", state(1, 4, 1, 2, 3), liveness([]int32{1, 2, 3}), false, state(1, 4, 1, 2, 3), false},
		{"leader dies: first live ISR replica in assignment order", state(1, 4, 3, 1, 2), liveness([]int32{2, 3}), false, state(2, 5, 3, 2), true},
		{"follower dies: leaves the ISR, epoch kept", state(1, 4, 1, 2, 3), liveness([]int32{1, 3}), false, state(1, 4, 1, 3), true},
		{"leader dies, the live replica is out of sync: offline, last ISR member kept", state(1, 4, 1), liveness([]int32{2, 3}), false, state(-1, 5, 1), true},
		{"offline stays offline", state(-1, 5, 1), liveness([]int32{2, 3}), false, state(-1, 5, 1), false},
		{"unclean: first live replica with an ISR of itself", state(-1, 5, 1), liveness([]int32{3, 2}), true, state(2, 6, 2), true},
		{"the last ISR member comes back and leads", state(-1, 5, 1), liveness([]int32{1, 2, 3}), false, state(1, 6, 1), true},
		{"everyone dies: the old leader stays in the ISR", state(2, 4, 1, 2, 3), liveness(nil), false, state(-1, 5, 2), true},
		{"a restarted leader hands over to another in-sync replica", state(1, 4, 1, 2, 3), liveness([]int32{1, 2, 3}, func(l *Liveness) { l.Restarted[1] = true }), false, state(2, 5, 2, 3), true},
		{"a restarted sole in-sync leader leads again with a new epoch", state(1, 4, 1), liveness([]int32{1, 2, 3}, func(l *Liveness) { l.Restarted[1] = true }), false, state(1, 5, 1), true},
		{"a broker shutting down is not elected", state(1, 4, 1, 2, 3), liveness([]int32{2, 3}, func(l *Liveness) { l.ShuttingDown[2] = true }), false, state(3, 5, 2, 3), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := ReconcileLeaderAndISR(tc.cur, replicas, tc.l, tc.unclean)
			if changed != tc.changed || got.Leader != tc.want.Leader || got.LeaderEpoch != tc.want.LeaderEpoch || !slices.Equal(got.ISR, tc.want.ISR) {
				t.Fatalf("ReconcileLeaderAndISR(%+v) = %+v, %v; want %+v, %v", tc.cur, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestElectionAPIOutcomes(t *testing.T) {
	replicas := []int32{1, 2, 3}
	all := liveness([]int32{1, 2, 3})
	if _, err := ElectPreferredLeader(state(1, 3, 1, 2), replicas, all); !errors.Is(err, ErrElectionNotNeeded) {
		t.Errorf("preferred leader already leads: %v", err)
	}
	if _, err := ElectPreferredLeader(state(2, 3, 2, 3), replicas, all); !errors.Is(err, ErrPreferredLeaderNotAvailable) {
		t.Errorf("preferred replica out of sync: %v", err)
	}
	if _, err := ElectPreferredLeader(state(2, 3, 1, 2), replicas, liveness([]int32{2, 3})); !errors.Is(err, ErrPreferredLeaderNotAvailable) {
		t.Errorf("preferred replica dead: %v", err)
	}
	if got, err := ElectPreferredLeader(state(2, 3, 1, 2), replicas, all); err != nil || got.Leader != 1 || got.LeaderEpoch != 4 || !slices.Equal(got.ISR, []int32{1, 2}) {
		t.Errorf("preferred election: %+v, %v", got, err)
	}
	if _, err := ElectUncleanLeader(state(2, 3, 2), replicas, all); !errors.Is(err, ErrElectionNotNeeded) {
		t.Errorf("unclean election with a live leader: %v", err)
	}
	if _, err := ElectUncleanLeader(state(-1, 3, 1), replicas, liveness(nil)); !errors.Is(err, ErrEligibleLeadersNotAvailable) {
		t.Errorf("unclean election with no live replica: %v", err)
	}
	if got, err := ElectUncleanLeader(state(-1, 3, 1), replicas, liveness([]int32{3})); err != nil || got.Leader != 3 || !slices.Equal(got.ISR, []int32{3}) {
		t.Errorf("unclean election: %+v, %v", got, err)
	}
}

func TestControlledShutdownState(t *testing.T) {
	replicas := []int32{1, 2, 3}
	l := liveness([]int32{1, 2, 3}, func(l *Liveness) { l.ShuttingDown[1] = true })
	if got, ok := ElectForControlledShutdown(state(1, 3, 1, 2, 3), replicas, 1, l); !ok || got.Leader != 2 || got.LeaderEpoch != 4 || !slices.Equal(got.ISR, []int32{2, 3}) {
		t.Errorf("leader shutting down: %+v %v", got, ok)
	}
	if got, ok := ElectForControlledShutdown(state(2, 3, 2, 1, 3), replicas, 1, l); !ok || got.Leader != 2 || got.LeaderEpoch != 3 || !slices.Equal(got.ISR, []int32{2, 3}) {
		t.Errorf("follower shutting down: %+v %v", got, ok)
	}
	if got, ok := ElectForControlledShutdown(state(1, 3, 1), replicas, 1, l); ok || got.Leader != 1 {
		t.Errorf("sole in-sync leader must keep leading: %+v %v", got, ok)
	}
	if _, ok := ElectForControlledShutdown(state(1, 3, 1), []int32{1}, 1, l); ok {
		t.Error("a single-replica partition has nowhere to go")
	}
}

func TestBrokersRegisteredAfterTheStateWasWrittenCountAsRestarted(t *testing.T) {
	epochs := map[int32]int64{1: 50, 2: 10, 3: 60}
	st := LeaderAndISR{Leader: 1, LeaderEpoch: 4, ISR: []int32{1, 2, 3}}
	l := liveness([]int32{1, 2, 3}).WithRestarts(st, 40, epochs)
	if !l.Restarted[1] || l.Restarted[2] || !l.Restarted[3] {
		t.Fatalf("restarted %v, want 1 and 3", l.Restarted)
	}
	got, changed := ReconcileLeaderAndISR(st, []int32{1, 2, 3}, l, false)
	if !changed || got.Leader != 2 || got.LeaderEpoch != 5 || !slices.Equal(got.ISR, []int32{2}) {
		t.Fatalf("after restarts unseen by the controller: %+v %v", got, changed)
	}
	if l := liveness([]int32{1, 2, 3}).WithRestarts(LeaderAndISR{Leader: 1, ISR: []int32{1}}, 0, epochs); len(l.Restarted) != 0 {
		t.Fatalf("a state of unknown zxid proves nothing: %v", l.Restarted)
	}
}

func TestOnlyRegisteredBrokersJoinTheISR(t *testing.T) {
	registered := func(id int32) (bool, error) { return id != 3, nil }
	if err := CheckISRJoiners([]int32{1}, []int32{1, 2}, registered); err != nil {
		t.Fatalf("a registered broker joining: %v", err)
	}
	if err := CheckISRJoiners([]int32{1}, []int32{1, 3}, registered); !errors.Is(err, ErrInvalidISR) {
		t.Fatalf("an unregistered broker joining: %v, want ErrInvalidISR", err)
	}
	if err := CheckISRJoiners([]int32{1, 3}, []int32{1, 3}, registered); err != nil {
		t.Fatalf("an unregistered broker already in the ISR is the controller's to remove: %v", err)
	}
	boom := errors.New("store down")
	if err := CheckISRJoiners(nil, []int32{2}, func(int32) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Fatalf("lookup error: %v", err)
	}
}

func TestUncleanElectionSettingResolvesTopicThenClusterThenStatic(t *testing.T) {
	on, off := map[string]string{"unclean.leader.election.enable": "true"}, map[string]string{"unclean.leader.election.enable": "false"}
	for _, tc := range []struct {
		topic, defaults map[string]string
		static, want    bool
	}{
		{nil, nil, true, true},
		{nil, on, false, true},
		{off, on, true, false},
		{on, off, false, true},
		{map[string]string{"unclean.leader.election.enable": "maybe"}, nil, true, true},
	} {
		if got := UncleanLeaderElectionEnabled(tc.topic, tc.defaults, tc.static); got != tc.want {
			t.Errorf("topic %v, defaults %v, static %v: %v, want %v", tc.topic, tc.defaults, tc.static, got, tc.want)
		}
	}
}

func TestImbalancedLeadersAboveThePercentageAreDue(t *testing.T) {
	tp := func(p int32) TopicPartition { return TopicPartition{Topic: "t", Partition: p} }
	parts := []PartitionLeadership{
		{tp(0), 1, 1}, {tp(1), 1, 2}, // broker 1: half its partitions led elsewhere
		{tp(2), 2, 2}, {tp(3), 2, 2}, {tp(4), 2, 2}, {tp(5), 2, 2}, {tp(6), 2, 2}, {tp(7), 2, 2},
		{tp(8), 2, 2}, {tp(9), 2, 2}, {tp(10), 2, 2}, {tp(11), 2, 1}, // broker 2: one in ten, at the limit
	}
	if got := ImbalancedLeaders(parts, 10); !slices.Equal(got, []TopicPartition{tp(1)}) {
		t.Fatalf("due %v, want only broker 1's misplaced partition", got)
	}
	if got := ImbalancedLeaders(parts, 0); !slices.Equal(got, []TopicPartition{tp(1), tp(11)}) {
		t.Fatalf("due at 0%% %v", got)
	}
}
