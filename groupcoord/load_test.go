package groupcoord

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestReloadRestoresOffsetsAndGroupState(t *testing.T) {
	h := newHarness(t, nil)
	a, b, c := h.member("g", "a", "t"), h.member("g", "b", "t").static("ib"), h.member("g", "c", "t")
	h.formGroup([]*tm{a, b, c}, map[string][]byte{"a": []byte("A"), "b": []byte("B"), "c": []byte("C")})
	wantErr(t, "commit a", a.commit("t", 0, 100), nil)
	wantErr(t, "commit b", b.commit("t", 1, 200), nil)
	wantErr(t, "standalone", h.commit("solo", -1, "", nil, "u", 0, 9), nil)
	// A group that rebalanced twice and emptied, with its offsets deleted:
	// it must not come back.
	gone := h.member("gone", "x", "t")
	h.formGroup([]*tm{gone}, nil)
	wantErr(t, "commit", gone.commit("t", 0, 1), nil)
	wantErr(t, "leave", gone.leave(), nil)
	delReq := kmsg.NewPtrDeleteGroupsRequest()
	delReq.Groups = []string{"gone"}
	wantErr(t, "delete", h.c.DeleteGroups(context.Background(), delReq).Groups[0].ErrorCode, nil)

	// The broker restarts: a new coordinator on the same log.
	h.c.Close()
	h2 := newHarnessOn(t, h.journal, h.clock, nil)
	a.h, b.h, c.h = h2, h2, h2

	if h2.fetched("g", "t", 0) != 100 || h2.fetched("g", "t", 1) != 200 || h2.fetched("solo", "u", 0) != 9 {
		t.Fatal("committed offsets did not survive the restart")
	}
	if h2.group("gone") != nil {
		t.Fatal("a deleted group came back")
	}
	d := h2.describe("g")
	if d.State != "Stable" || d.Protocol != "range" || d.ProtocolType != "consumer" || len(d.Members) != 3 {
		t.Fatalf("restored group: %+v", d)
	}
	for _, m := range d.Members {
		want := map[string]string{a.id: "A", b.id: "B", c.id: "C"}[m.MemberID]
		if want == "" || string(m.MemberAssignment) != want || m.ClientHost != "/127.0.0.1" {
			t.Fatalf("restored member %+v", m)
		}
	}
	if d := h2.describe("solo"); d.State != "Empty" {
		t.Fatalf("standalone group restored as %s", d.State)
	}

	// The members carry on with their generation...
	wantErr(t, "a's heartbeat after reload", a.heartbeat(), nil)
	// ...a restarted static member still gets its partitions back...
	b2 := h2.member("g", "b", "t").static("ib")
	b2.applyJoin(recv(t, b2.joinAsync()))
	if s := recv(t, b2.syncAsync(nil)); s.ErrorCode != 0 || string(s.MemberAssignment) != "B" {
		t.Fatalf("static member after reload: %s %q", errName(s.ErrorCode), s.MemberAssignment)
	}
	// ...and a restored member that stays silent (c) is expired: loading
	// gave it a fresh session deadline.
	for i := 0; i < 3; i++ {
		h2.clock.Advance(3 * time.Second)
		wantErr(t, "a's heartbeat", a.heartbeat(), nil)
		wantErr(t, "b2's heartbeat", b2.heartbeat(), nil)
	}
	h2.clock.Advance(2 * time.Second)
	wantErr(t, "after c's session expired", a.heartbeat(), kerr.RebalanceInProgress)
	if d := h2.describe("g"); len(d.Members) != 2 {
		t.Fatalf("members after c expired: %+v", d.Members)
	}
}

func TestGroupsOfALoadingPartitionAnswerLoadInProgress(t *testing.T) {
	j := NewMemoryJournal()
	release := make(chan struct{})
	var released atomic.Bool
	j.SetReplayHook(func(int32) error {
		<-release
		return nil
	})
	defer func() {
		if !released.Load() {
			close(release)
		}
	}()
	cfg := testConfig(t)
	cfg.Clock = newFakeClock()
	c, err := New(cfg, j)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.PartitionFor("g")
	c.Load(p)
	if owned, loading := c.owns(p); !owned || !loading {
		t.Fatalf("owned %v loading %v", owned, loading)
	}
	ctx := context.Background()

	join := kmsg.NewPtrJoinGroupRequest()
	join.Version = 9
	join.Group, join.SessionTimeoutMillis, join.ProtocolType = "g", 10000, "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	wantErr(t, "join", c.JoinGroup(ctx, join).ErrorCode, kerr.CoordinatorLoadInProgress)

	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID = "g", "m"
	wantErr(t, "heartbeat answers blindly", c.Heartbeat(ctx, hb).ErrorCode, nil)

	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group, sync.MemberID = "g", "m"
	wantErr(t, "sync", c.SyncGroup(ctx, sync).ErrorCode, kerr.RebalanceInProgress)

	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Version = 7
	fetch.Group = "g"
	wantErr(t, "fetch", c.OffsetFetch(ctx, fetch).ErrorCode, kerr.CoordinatorLoadInProgress)

	list := kmsg.NewPtrListGroupsRequest()
	wantErr(t, "list", c.ListGroups(ctx, list).ErrorCode, kerr.CoordinatorLoadInProgress)

	other := groupOnOtherPartition(c, "g")
	join.Group = other
	wantErr(t, "group of a partition not owned", c.JoinGroup(ctx, join).ErrorCode, kerr.NotCoordinator)

	released.Store(true)
	close(release)
	checkFor(t, 5*time.Second, func() error {
		if _, loading := c.owns(p); loading {
			return errors.New("still loading")
		}
		return nil
	})
	join.Group = "g"
	wantErr(t, "join once loaded", c.JoinGroup(ctx, join).ErrorCode, kerr.MemberIDRequired)
}

func TestUnloadAnswersParkedCallsWithNotCoordinatorAndStopsTimers(t *testing.T) {
	h := newHarness(t, nil)
	baseline := h.clock.pending() // the retention sweep
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, nil)
	c := h.member("g", "c", "t")
	join := c.joinAsync() // parks: a and b have not rejoined

	// A second group on the same partition with a parked SyncGroup.
	other := groupOnSamePartition(h.c, "g")
	x, y := h.member(other, "x", "t"), h.member(other, "y", "t")
	xch := x.joinAsync()
	h.waitAwaitingJoin(other, 1)
	ych := y.joinAsync()
	h.waitAwaitingJoin(other, 2)
	h.clock.Advance(6 * time.Second)
	x.applyJoin(recv(t, xch))
	y.applyJoin(recv(t, ych))
	sync := y.syncAsync(nil)
	h.waitAwaitingSync(other, 1)

	h.c.Unload(h.c.PartitionFor("g"))
	wantErr(t, "parked join", recv(t, join).ErrorCode, kerr.NotCoordinator)
	wantErr(t, "parked sync", recv(t, sync).ErrorCode, kerr.NotCoordinator)
	wantErr(t, "heartbeat after unload", a.heartbeat(), kerr.NotCoordinator)
	wantErr(t, "commit after unload", a.commit("t", 0, 1), kerr.NotCoordinator)
	if n := h.clock.pending(); n != baseline {
		t.Fatalf("%d timers still pending after unload, want %d", n, baseline)
	}
}

func TestFailedReplayIsRetriedUntilItSucceeds(t *testing.T) {
	j := NewMemoryJournal()
	var failures atomic.Int32
	j.SetReplayHook(func(int32) error {
		if failures.Add(1) <= 2 {
			return errors.New("log not readable yet")
		}
		return nil
	})
	clock := newFakeClock()
	cfg := testConfig(t)
	cfg.Clock = clock
	cfg.Logger = zerolog.Nop() // the failures are expected
	c, err := New(cfg, j)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Load(0)
	checkFor(t, 5*time.Second, func() error {
		clock.Advance(time.Second)
		if _, loading := c.owns(0); loading {
			return errors.New("still loading")
		}
		return nil
	})
	if failures.Load() != 3 {
		t.Fatalf("%d replays, want 3", failures.Load())
	}
}

func TestCloseStopsEveryTimerAndRefusesRequests(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	h.formGroup([]*tm{a, b}, nil)
	pending := h.c.JoinGroup(context.Background(), h.member("g", "c", "t").joinRequest())
	wantErr(t, "pending member", pending.ErrorCode, kerr.MemberIDRequired)
	h.c.Close()
	if n := h.clock.pending(); n != 0 {
		t.Fatalf("%d timers left after Close", n)
	}
	wantErr(t, "heartbeat after close", a.heartbeat(), kerr.CoordinatorNotAvailable)
	list := kmsg.NewPtrListGroupsRequest()
	wantErr(t, "list after close", h.c.ListGroups(context.Background(), list).ErrorCode, kerr.CoordinatorNotAvailable)
}

func TestPartitionForIsKafkasHashOfTheGroupID(t *testing.T) {
	for _, tc := range []struct {
		s    string
		hash int32
	}{
		{"", 0},
		{"hello", 99162322},
		{"Aa", 2112},
		{"BB", 2112},
		{"polygenelubricants", -2147483648}, // Integer.MIN_VALUE: Utils.abs gives 0
		{"\U0001F600", 1772899},             // a surrogate pair counts as two chars
	} {
		if got := javaHashCode(tc.s); got != tc.hash {
			t.Fatalf("hashCode(%q) = %d, want %d", tc.s, got, tc.hash)
		}
	}
	for _, tc := range []struct {
		group string
		want  int32
	}{{"hello", 22}, {"Aa", 12}, {"polygenelubricants", 0}, {"\U0001F600", 49}} {
		if got := partitionFor(tc.group, 50); got != tc.want {
			t.Fatalf("partitionFor(%q) = %d, want %d", tc.group, got, tc.want)
		}
	}
	if kafkaAbs(-7) != 7 {
		t.Fatal("abs")
	}
}
