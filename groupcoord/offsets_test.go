package groupcoord

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestCommittedOffsetsAreReturnedByOffsetFetch(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("g", "a", "t", "u")
	h.formGroup([]*tm{a}, nil)
	for _, c := range []struct {
		topic string
		p     int32
		off   int64
	}{{"t", 1, 7}, {"t", 0, 42}, {"u", 0, 1}, {"t", 0, 43}} {
		wantErr(t, "commit", a.commit(c.topic, c.p, c.off), nil)
	}
	if got := h.fetched("g", "t", 0); got != 43 {
		t.Fatalf("t/0 = %d, want the last commit 43", got)
	}
	if got := h.fetched("g", "t", 9); got != -1 {
		t.Fatalf("uncommitted partition = %d, want -1", got)
	}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 7
	req.Group = "g" // null topics: everything committed
	resp := roundTrip(t, h.c.OffsetFetch(context.Background(), req))
	got := ""
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			got += fmt.Sprintf("%s/%d=%d(%s,%d) ", rt.Topic, p.Partition, p.Offset, *p.Metadata, p.LeaderEpoch)
		}
	}
	if want := "t/0=43(meta,-1) t/1=7(meta,-1) u/0=1(meta,-1) "; got != want {
		t.Fatalf("all offsets:\n got %s\nwant %s", got, want)
	}
}

func TestStandaloneCommitCreatesAnEmptyGroup(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "standalone commit", h.commit("solo", -1, "", nil, "t", 0, 5), nil)
	if got := h.fetched("solo", "t", 0); got != 5 {
		t.Fatalf("fetched %d", got)
	}
	if d := h.describe("solo"); d.ErrorCode != 0 || d.State != "Empty" || d.ProtocolType != "" {
		t.Fatalf("describe: %+v", d)
	}
	// A dynamic member can still form a group there.
	a := h.member("solo", "a", "t")
	h.formGroup([]*tm{a}, nil)
	wantErr(t, "standalone commit to a group with members", h.commit("solo", -1, "", nil, "t", 0, 6), kerr.UnknownMemberID)
	if got := h.fetched("solo", "t", 0); got != 5 {
		t.Fatalf("rejected commit changed the offset to %d", got)
	}
}

func TestOffsetCommitChecksMemberGenerationAndState(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("g", "a", "t")
	h.formGroup([]*tm{a}, nil)
	wantErr(t, "stale generation", h.commit("g", 0, a.id, nil, "t", 0, 1), kerr.IllegalGeneration)
	wantErr(t, "unknown member", h.commit("g", 1, "x", nil, "t", 0, 1), kerr.UnknownMemberID)

	for _, v := range []int16{8, 9} {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = v
		req.Group, req.Generation, req.MemberID = "missing", 3, "m"
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = "t"
		rt.Partitions = []kmsg.OffsetCommitRequestTopicPartition{kmsg.NewOffsetCommitRequestTopicPartition()}
		req.Topics = []kmsg.OffsetCommitRequestTopic{rt}
		want := kerr.IllegalGeneration
		if v >= 9 {
			want = kerr.GroupIDNotFound
		}
		wantErr(t, fmt.Sprintf("v%d generation for a missing group", v), h.c.OffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode, want)
	}
	if h.group("missing") != nil {
		t.Fatal("a commit with a generation must not create a group")
	}

	// A single member's rejoin completes at once: CompletingRebalance.
	a.applyJoin(recv(t, a.joinAsync()))
	wantErr(t, "commit between JoinGroup and SyncGroup", a.commit("t", 0, 1), kerr.RebalanceInProgress)
}

func TestOffsetCommitIsAnsweredOnlyAfterTheAppendSucceeded(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "first commit", h.commit("solo", -1, "", nil, "t", 0, 1), nil)
	release := make(chan struct{})
	h.journal.SetAppendHook(func(int32, []Record) error { <-release; return nil })
	done := make(chan int16, 1)
	go func() { done <- h.commit("solo", -1, "", nil, "t", 0, 2) }()
	parked(t, done)
	if got := h.fetched("solo", "t", 0); got != 1 {
		t.Fatalf("offset visible before it was appended: %d", got)
	}
	close(release)
	wantErr(t, "commit", recv(t, done), nil)
	h.journal.SetAppendHook(nil)
	if got := h.fetched("solo", "t", 0); got != 2 {
		t.Fatalf("fetched %d after the commit", got)
	}
}

func TestOffsetCommitAppendErrorsAreMappedLikeKafka(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "first commit", h.commit("solo", -1, "", nil, "t", 0, 1), nil)
	for _, tc := range []struct {
		err  error
		want *kerr.Error
	}{
		{kerr.NotLeaderForPartition, kerr.NotCoordinator},
		{fmt.Errorf("append: %w", kerr.KafkaStorageError), kerr.NotCoordinator},
		{kerr.NotEnoughReplicas, kerr.CoordinatorNotAvailable},
		{kerr.NotEnoughReplicasAfterAppend, kerr.CoordinatorNotAvailable},
		{kerr.UnknownTopicOrPartition, kerr.CoordinatorNotAvailable},
		{kerr.MessageTooLarge, kerr.InvalidCommitOffsetSize},
		{kerr.RecordListTooLarge, kerr.InvalidCommitOffsetSize},
		{kerr.RequestTimedOut, kerr.RequestTimedOut},
		{context.DeadlineExceeded, kerr.RequestTimedOut},
		{errors.New("disk on fire"), kerr.UnknownServerError},
	} {
		h.journal.SetAppendHook(func(int32, []Record) error { return tc.err })
		wantErr(t, tc.err.Error(), h.commit("solo", -1, "", nil, "t", 0, 99), tc.want)
	}
	h.journal.SetAppendHook(nil)
	if got := h.fetched("solo", "t", 0); got != 1 {
		t.Fatalf("a failed commit changed the offset to %d", got)
	}
}

func TestFailedStoreOfTheAssignmentFailsTheSyncAndRebalances(t *testing.T) {
	h := newHarness(t, nil)
	a, b := h.member("g", "a", "t"), h.member("g", "b", "t")
	ach := a.joinAsync()
	h.waitAwaitingJoin("g", 1)
	bch := b.joinAsync()
	h.waitAwaitingJoin("g", 2)
	h.clock.Advance(6 * time.Second)
	a.applyJoin(recv(t, ach))
	b.applyJoin(recv(t, bch))
	h.journal.SetAppendHook(func(_ int32, recs []Record) error {
		if k, _, _ := decodeKey(recs[0].Key); !k.isOffset {
			return kerr.NotLeaderForPartition
		}
		return nil
	})
	bs := b.syncAsync(nil)
	h.waitAwaitingSync("g", 1)
	wantErr(t, "leader sync", recv(t, a.syncAsync(map[string][]byte{a.id: []byte("A"), b.id: []byte("B")})).ErrorCode, kerr.NotCoordinator)
	wantErr(t, "follower sync", recv(t, bs).ErrorCode, kerr.NotCoordinator)
	if s := h.state("g"); s != "PreparingRebalance" {
		t.Fatalf("state %s, want PreparingRebalance", s)
	}
}

func TestTooLargeOffsetMetadataFailsOnlyItsPartition(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OffsetMetadataMaxBytes = 5 })
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group = "solo"
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	for i, md := range []string{"123456", "ééééé", "12345"} {
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset, p.Metadata = int32(i), 10, strPtr(md)
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = []kmsg.OffsetCommitRequestTopic{rt}
	resp := h.c.OffsetCommit(context.Background(), req)
	// Java counts characters: five é are five, though ten bytes.
	want := []*kerr.Error{kerr.OffsetMetadataTooLarge, nil, nil}
	for i, w := range want {
		wantErr(t, "partition "+itoa(i), resp.Topics[0].Partitions[i].ErrorCode, w)
	}
	if got := h.fetched("solo", "t", 0); got != -1 {
		t.Fatalf("rejected partition committed: %d", got)
	}
	if got := h.fetched("solo", "t", 1); got != 10 {
		t.Fatalf("accepted partition: %d", got)
	}
}

func TestOffsetFetchOfAnUnknownGroupReturnsNoOffsetsWithoutError(t *testing.T) {
	h := newHarness(t, nil)
	if got := h.fetched("nope", "t", 0); got != -1 {
		t.Fatalf("fetched %d", got)
	}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 7
	req.Group = "nope"
	if resp := h.c.OffsetFetch(context.Background(), req); resp.ErrorCode != 0 || len(resp.Topics) != 0 {
		t.Fatalf("all offsets of an unknown group: %s %+v", errName(resp.ErrorCode), resp.Topics)
	}
	if h.group("nope") != nil {
		t.Fatal("OffsetFetch must not create a group")
	}
}

// groupOnOtherPartition finds a group id whose partition differs from id's.
func groupOnOtherPartition(c *Coordinator, id string) string {
	for i := 0; ; i++ {
		other := fmt.Sprintf("other-%d", i)
		if c.PartitionFor(other) != c.PartitionFor(id) {
			return other
		}
	}
}

// groupOnSamePartition finds another group id on id's partition.
func groupOnSamePartition(c *Coordinator, id string) string {
	for i := 0; ; i++ {
		other := fmt.Sprintf("same-%d", i)
		if other != id && c.PartitionFor(other) == c.PartitionFor(id) {
			return other
		}
	}
}

func TestOffsetFetchV8FetchesSeveralGroupsEachWithItsOwnError(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "commit", h.commit("g1", -1, "", nil, "t", 0, 11), nil)
	unowned := groupOnOtherPartition(h.c, "g1")
	h.c.Unload(h.c.PartitionFor(unowned))

	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	req.RequireStable = true
	for _, id := range []string{"g1", "nope", unowned} {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = id
		rt := kmsg.NewOffsetFetchRequestGroupTopic()
		rt.Topic, rt.Partitions = "t", []int32{0}
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{rt}
		req.Groups = append(req.Groups, rg)
	}
	all := kmsg.NewOffsetFetchRequestGroup()
	all.Group = "g1" // null topics
	req.Groups = append(req.Groups, all)

	resp := roundTrip(t, h.c.OffsetFetch(context.Background(), req))
	if len(resp.Groups) != 4 {
		t.Fatalf("%d groups answered", len(resp.Groups))
	}
	offsetOf := func(g kmsg.OffsetFetchResponseGroup) int64 {
		if g.ErrorCode != 0 || len(g.Topics) != 1 || g.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("group %s: %s %+v", g.Group, errName(g.ErrorCode), g.Topics)
		}
		return g.Topics[0].Partitions[0].Offset
	}
	if got := offsetOf(resp.Groups[0]); got != 11 {
		t.Fatalf("g1 = %d", got)
	}
	if got := offsetOf(resp.Groups[1]); got != -1 {
		t.Fatalf("unknown group = %d", got)
	}
	wantErr(t, "group of an unowned partition", resp.Groups[2].ErrorCode, kerr.NotCoordinator)
	if got := offsetOf(resp.Groups[3]); got != 11 {
		t.Fatalf("g1 all = %d", got)
	}
}

func TestOffsetDeleteRefusesTopicsAnActiveConsumerGroupSubscribesTo(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("g", "a", "t")
	h.formGroup([]*tm{a}, nil)
	wantErr(t, "commit t", a.commit("t", 0, 1), nil)
	wantErr(t, "commit old", a.commit("old", 0, 2), nil)

	del := func(group string, tps ...topicPartition) *kmsg.OffsetDeleteResponse {
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group = group
		for _, tp := range tps {
			rt := kmsg.NewOffsetDeleteRequestTopic()
			rt.Topic = tp.topic
			p := kmsg.NewOffsetDeleteRequestTopicPartition()
			p.Partition = tp.partition
			rt.Partitions = []kmsg.OffsetDeleteRequestTopicPartition{p}
			req.Topics = append(req.Topics, rt)
		}
		return roundTrip(t, h.c.OffsetDelete(context.Background(), req))
	}
	resp := del("g", topicPartition{"t", 0}, topicPartition{"old", 0})
	wantErr(t, "group", resp.ErrorCode, nil)
	wantErr(t, "subscribed topic", resp.Topics[0].Partitions[0].ErrorCode, kerr.GroupSubscribedToTopic)
	wantErr(t, "unsubscribed topic", resp.Topics[1].Partitions[0].ErrorCode, nil)
	if h.fetched("g", "t", 0) != 1 || h.fetched("g", "old", 0) != -1 {
		t.Fatal("wrong offsets deleted")
	}
	if !hasTombstone(h.journal, h.c.PartitionFor("g"), offsetKey("g", topicPartition{"old", 0})) {
		t.Fatal("no tombstone for the deleted offset")
	}
	wantErr(t, "unknown group", del("nope", topicPartition{"t", 0}).ErrorCode, kerr.GroupIDNotFound)

	// Once the group is empty everything can go, and with its last
	// offset the group goes too.
	wantErr(t, "leave", a.leave(), nil)
	resp = del("g", topicPartition{"t", 0})
	if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 || h.fetched("g", "t", 0) != -1 {
		t.Fatalf("delete from the empty group: %s", errName(resp.ErrorCode))
	}
	if h.group("g") != nil {
		t.Fatal("an empty group without offsets must be removed")
	}
	if lastGroupRecord(t, h.journal, h.c.PartitionFor("g"), "g") != nil {
		t.Fatal("the removed group's metadata must be tombstoned")
	}

	// A non-empty group of another protocol type keeps its offsets.
	conn := h.member("cg", "w", "t")
	conn.protocols[0].Name = "default"
	h.formGroupOfType([]*tm{conn}, "connect")
	wantErr(t, "commit", conn.commit("x", 0, 1), nil)
	wantErr(t, "non-consumer group", del("cg", topicPartition{"x", 0}).ErrorCode, kerr.NonEmptyGroup)
}

// formGroupOfType forms a one-member group with another protocol type.
func (h *harness) formGroupOfType(members []*tm, protocolType string) {
	h.t.Helper()
	m := members[0]
	req := m.joinRequest()
	req.ProtocolType = protocolType
	resp := h.c.JoinGroup(m.ctx(), req)
	m.id = resp.MemberID
	req = m.joinRequest()
	req.ProtocolType = protocolType
	ch := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { ch <- h.c.JoinGroup(m.ctx(), req) }()
	h.waitAwaitingJoin(m.group, 1)
	h.clock.Advance(h.cfg.GroupInitialRebalanceDelay)
	m.applyJoin(recv(h.t, ch))
	sreq := m.syncRequest(map[string][]byte{m.id: []byte("x")})
	sreq.ProtocolType = strPtr(protocolType)
	if r := h.c.SyncGroup(context.Background(), sreq); r.ErrorCode != 0 {
		h.t.Fatalf("sync: %s", errName(r.ErrorCode))
	}
}

func hasTombstone(j *MemoryJournal, p int32, key []byte) bool {
	for _, r := range j.Records(p) {
		if string(r.Key) == string(key) && r.Value == nil {
			return true
		}
	}
	return false
}

func TestDeleteGroupsDeletesOnlyGroupsWithoutMembers(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("active", "a", "t")
	h.formGroup([]*tm{a}, nil)
	wantErr(t, "commit", h.commit("solo", -1, "", nil, "t", 0, 1), nil)
	gone := h.member("gone", "g", "t")
	h.formGroup([]*tm{gone}, nil)
	wantErr(t, "commit", gone.commit("t", 0, 3), nil)
	wantErr(t, "leave", gone.leave(), nil)

	req := kmsg.NewPtrDeleteGroupsRequest()
	req.Version = 3
	req.Groups = []string{"active", "solo", "nope", "gone", "solo"}
	resp := roundTrip(t, h.c.DeleteGroups(context.Background(), req))
	want := map[string]*kerr.Error{"active": kerr.NonEmptyGroup, "solo": nil, "nope": kerr.GroupIDNotFound, "gone": nil}
	if len(resp.Groups) != len(want) {
		t.Fatalf("%d answers for %d distinct groups", len(resp.Groups), len(want))
	}
	for _, g := range resp.Groups {
		wantErr(t, g.Group, g.ErrorCode, want[g.Group])
		if (g.ErrorCode != 0) != (g.ErrorMessage != nil) {
			t.Fatalf("%s: error message %v with code %s", g.Group, g.ErrorMessage, errName(g.ErrorCode))
		}
	}
	if h.fetched("solo", "t", 0) != -1 || h.fetched("gone", "t", 0) != -1 {
		t.Fatal("offsets of deleted groups are still there")
	}
	if !hasTombstone(h.journal, h.c.PartitionFor("solo"), offsetKey("solo", topicPartition{"t", 0})) {
		t.Fatal("no offset tombstone")
	}
	// Only a group that had a generation has metadata to tombstone.
	if hasTombstone(h.journal, h.c.PartitionFor("solo"), groupKey("solo")) {
		t.Fatal("tombstone for metadata a standalone group never had")
	}
	if !hasTombstone(h.journal, h.c.PartitionFor("gone"), groupKey("gone")) {
		t.Fatal("no group metadata tombstone")
	}
	if d := h.describe("gone"); d.State != "Dead" {
		t.Fatalf("deleted group described as %s", d.State)
	}
}

func retentionHarness(t *testing.T) *harness {
	return newHarness(t, func(c *Config) {
		c.OffsetsRetention = time.Hour
		c.OffsetsRetentionCheckInterval = time.Minute
	})
}

func TestOffsetsOfAnEmptyGroupExpireRetentionAfterItEmptied(t *testing.T) {
	h := retentionHarness(t)
	a := h.member("g", "a", "t")
	a.session = 1800000
	h.formGroup([]*tm{a}, nil)
	wantErr(t, "commit", a.commit("t", 0, 5), nil)
	// Two hours with a live consumer: nothing expires.
	for i := 0; i < 24; i++ {
		h.clock.Advance(5 * time.Minute)
		wantErr(t, "heartbeat", a.heartbeat(), nil)
	}
	if h.fetched("g", "t", 0) != 5 {
		t.Fatal("offset of a live group expired")
	}
	wantErr(t, "leave", a.leave(), nil)
	h.clock.Advance(59 * time.Minute)
	if h.fetched("g", "t", 0) != 5 {
		t.Fatal("offset expired before the retention counted from when the group emptied")
	}
	h.clock.Advance(2 * time.Minute)
	if h.fetched("g", "t", 0) != -1 {
		t.Fatal("offset did not expire")
	}
	if h.group("g") != nil {
		t.Fatal("the empty group without offsets must be gone")
	}
	p := h.c.PartitionFor("g")
	if !hasTombstone(h.journal, p, offsetKey("g", topicPartition{"t", 0})) || !hasTombstone(h.journal, p, groupKey("g")) {
		t.Fatal("expiry must tombstone the offset and the group")
	}
}

func TestStandaloneOffsetsExpireFromTheirCommitTime(t *testing.T) {
	h := retentionHarness(t)
	wantErr(t, "commit 0", h.commit("solo", -1, "", nil, "t", 0, 1), nil)
	h.clock.Advance(30 * time.Minute)
	wantErr(t, "commit 1", h.commit("solo", -1, "", nil, "t", 1, 1), nil)
	h.clock.Advance(31 * time.Minute)
	if h.fetched("solo", "t", 0) != -1 || h.fetched("solo", "t", 1) != 1 {
		t.Fatal("after 61 minutes only the first commit should have expired")
	}
	h.clock.Advance(31 * time.Minute)
	if h.fetched("solo", "t", 1) != -1 || h.group("solo") != nil {
		t.Fatal("the second commit should have expired with its group")
	}
}

func TestStableConsumerGroupExpiresOnlyOffsetsOfTopicsItNoLongerConsumes(t *testing.T) {
	h := retentionHarness(t)
	a := h.member("g", "a", "t")
	a.session = 1800000
	h.formGroup([]*tm{a}, nil)
	wantErr(t, "commit t", a.commit("t", 0, 1), nil)
	wantErr(t, "commit old", a.commit("old", 0, 1), nil)
	for i := 0; i < 13; i++ {
		h.clock.Advance(5 * time.Minute)
		wantErr(t, "heartbeat", a.heartbeat(), nil)
	}
	if h.fetched("g", "old", 0) != -1 || h.fetched("g", "t", 0) != 1 {
		t.Fatal("only the unsubscribed topic's offset should expire")
	}
}

func TestOffsetCommittedWithRetentionTimeExpiresAtItsOwnExpiry(t *testing.T) {
	h := retentionHarness(t)
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 2
	req.Group, req.RetentionTimeMillis = "solo", (10 * time.Minute).Milliseconds()
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = "t"
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Offset = 3
	rt.Partitions = []kmsg.OffsetCommitRequestTopicPartition{p}
	req.Topics = []kmsg.OffsetCommitRequestTopic{rt}
	wantErr(t, "commit", h.c.OffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode, nil)
	var version int16 = -1
	for _, r := range h.journal.Records(h.c.PartitionFor("solo")) {
		if k, _, _ := decodeKey(r.Key); k.isOffset {
			var v kmsg.OffsetCommitValue
			if err := v.ReadFrom(r.Value); err != nil {
				t.Fatal(err)
			}
			version = v.Version
		}
	}
	if version != 1 {
		t.Fatalf("offset value version %d, want 1 (the one with an expire timestamp)", version)
	}
	h.clock.Advance(9 * time.Minute)
	if h.fetched("solo", "t", 0) != 3 {
		t.Fatal("expired early")
	}
	h.clock.Advance(2 * time.Minute)
	if h.fetched("solo", "t", 0) != -1 {
		t.Fatal("offset outlived its own retention time")
	}
}
