package groupcoord

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnCommit is one TxnOffsetCommit of one partition.
type txnCommit struct {
	version    int16
	group      string
	producerID int64
	generation int32
	memberID   string
	instanceID *string
	topic      string
	partition  int32
	offset     int64
	metadata   string
}

func (h *harness) txnCommit(tc txnCommit) int16 {
	h.t.Helper()
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = tc.version
	if req.Version == 0 {
		req.Version = 3
	}
	req.TransactionalID = "txn"
	req.Group, req.ProducerID, req.ProducerEpoch = tc.group, tc.producerID, 0
	req.Generation, req.MemberID, req.InstanceID = tc.generation, tc.memberID, tc.instanceID
	if tc.generation == 0 && tc.memberID == "" {
		req.Generation = -1
	}
	t := kmsg.NewTxnOffsetCommitRequestTopic()
	t.Topic = tc.topic
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.Metadata = tc.partition, tc.offset, &tc.metadata
	t.Partitions = append(t.Partitions, p)
	req.Topics = append(req.Topics, t)
	resp := roundTrip(h.t, h.c.TxnOffsetCommit(context.Background(), req))
	return resp.Topics[0].Partitions[0].ErrorCode
}

// endTxn is the broker's part of ending a transaction on the group's
// __consumer_offsets partition: the marker is appended, then the
// coordinator is told.
func (h *harness) endTxn(group string, producerID int64, commit bool) {
	p := h.c.PartitionFor(group)
	h.journal.AppendMarker(p, producerID, commit)
	h.c.CompleteTransaction(p, producerID, commit)
}

// fetchStable fetches one partition with require_stable (OffsetFetch v7)
// and returns its offset and error.
func (h *harness) fetchStable(group, topic string, partition int32) (int64, int16) {
	h.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 7
	req.Group, req.RequireStable = group, true
	t := kmsg.NewOffsetFetchRequestTopic()
	t.Topic, t.Partitions = topic, []int32{partition}
	req.Topics = []kmsg.OffsetFetchRequestTopic{t}
	resp := h.c.OffsetFetch(context.Background(), req)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("offset fetch: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
	p := resp.Topics[0].Partitions[0]
	return p.Offset, p.ErrorCode
}

func TestTxnOffsetsAreInvisibleUntilTheCommitMarker(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "txn commit", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", offset: 42}), nil)
	if got := h.fetched("g", "t", 0); got != -1 {
		t.Fatalf("a pending transactional offset was fetched: %d", got)
	}
	if off, code := h.fetchStable("g", "t", 0); code != kerr.UnstableOffsetCommit.Code || off != -1 {
		t.Fatalf("require_stable while pending: offset %d, %s", off, errName(code))
	}
	recs := h.journal.Records(h.c.PartitionFor("g"))
	if last := recs[len(recs)-1]; !last.Transactional || last.ProducerID != 7 {
		t.Fatalf("the offset was not written as a transactional record of producer 7: %+v", last)
	}

	h.endTxn("g", 7, true)
	if got := h.fetched("g", "t", 0); got != 42 {
		t.Fatalf("after the commit marker: %d, want 42", got)
	}
	if off, code := h.fetchStable("g", "t", 0); code != 0 || off != 42 {
		t.Fatalf("require_stable after the commit: offset %d, %s", off, errName(code))
	}
}

func TestAbortMarkerDropsTxnOffsetsAndKeepsTheCommittedOne(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "plain commit", h.commit("g", -1, "", nil, "t", 0, 10), nil)
	wantErr(t, "txn commit", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", offset: 42}), nil)
	if got := h.fetched("g", "t", 0); got != 10 {
		t.Fatalf("without require_stable the last committed offset is returned: got %d", got)
	}
	h.endTxn("g", 7, false)
	if off, code := h.fetchStable("g", "t", 0); code != 0 || off != 10 {
		t.Fatalf("after the abort: offset %d, %s; want 10", off, errName(code))
	}
}

func TestCommittedTxnOffsetWinsOnlyOverPlainCommitsWrittenBeforeIt(t *testing.T) {
	h := newHarness(t, nil)
	// t/0: the plain commit comes after the transactional one and wins.
	wantErr(t, "txn t/0", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", offset: 42}), nil)
	wantErr(t, "plain t/0", h.commit("g", -1, "", nil, "t", 0, 50), nil)
	// t/1: the plain commit comes first; the transactional one replaces it.
	wantErr(t, "plain t/1", h.commit("g", -1, "", nil, "t", 1, 50), nil)
	wantErr(t, "txn t/1", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", partition: 1, offset: 42}), nil)
	h.endTxn("g", 7, true)
	if a, b := h.fetched("g", "t", 0), h.fetched("g", "t", 1); a != 50 || b != 42 {
		t.Fatalf("t/0 = %d (want 50, the later plain commit), t/1 = %d (want 42, the later txn commit)", a, b)
	}
	// A reload orders them the same way from the log.
	h.c.Close()
	h2 := newHarnessOn(t, h.journal, h.clock, nil)
	if a, b := h2.fetched("g", "t", 0), h2.fetched("g", "t", 1); a != 50 || b != 42 {
		t.Fatalf("after reload t/0 = %d, t/1 = %d; want 50 and 42", a, b)
	}
}

func TestTxnOffsetCommitFencesZombiesByMemberAndGeneration(t *testing.T) {
	h := newHarness(t, nil)
	a := h.member("g", "a", "t").static("ia")
	h.formGroup([]*tm{a}, nil)
	commit := func(tc txnCommit) int16 {
		tc.group, tc.producerID, tc.topic = "g", 7, "t"
		return h.txnCommit(tc)
	}
	wantErr(t, "unknown member", commit(txnCommit{generation: a.generation, memberID: "zombie"}), kerr.UnknownMemberID)
	wantErr(t, "old generation", commit(txnCommit{generation: a.generation - 1, memberID: a.id}), kerr.IllegalGeneration)
	wantErr(t, "instance id of another member", commit(txnCommit{generation: a.generation, memberID: "zombie", instanceID: strPtr("ia")}), kerr.FencedInstanceID)
	wantErr(t, "the current member", commit(txnCommit{generation: a.generation, memberID: a.id, instanceID: strPtr("ia")}), nil)
	// Before KIP-447 a transactional commit names no member, and a group
	// with members accepts it (OffsetCommit would not).
	wantErr(t, "v2 without a member", commit(txnCommit{version: 2}), nil)

	wantErr(t, "a generation for a group that does not exist",
		h.txnCommit(txnCommit{group: "none", producerID: 7, generation: 3, memberID: "m", topic: "t"}), kerr.IllegalGeneration)
	if h.group("none") != nil {
		t.Fatal("a refused commit created a group")
	}
	wantErr(t, "no generation for a group that does not exist",
		h.txnCommit(txnCommit{group: "simple", producerID: 7, topic: "t"}), nil)
	if h.state("simple") != "Empty" {
		t.Fatalf("the commit should create an Empty group, it is %s", h.state("simple"))
	}
	wantErr(t, "empty group id", h.txnCommit(txnCommit{group: "", producerID: 7, topic: "t"}), kerr.InvalidGroupID)
}

func TestTxnOffsetCommitChecksMetadataSizeAndPartitionsLikeOffsetCommit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OffsetMetadataMaxBytes = 4 })
	wantErr(t, "too large", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", metadata: "12345"}), kerr.OffsetMetadataTooLarge)
	wantErr(t, "fits", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", partition: 1, metadata: "1234"}), nil)
}

func TestTxnOffsetCommitAppendFailureLeavesNothingPending(t *testing.T) {
	h := newHarness(t, nil)
	h.journal.SetAppendHook(func(int32, []Record) error { return kerr.NotEnoughReplicas })
	wantErr(t, "failed append", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", offset: 1}), kerr.CoordinatorNotAvailable)
	h.journal.SetAppendHook(nil)
	if _, code := h.fetchStable("g", "t", 0); code != 0 {
		t.Fatalf("a failed transactional commit left a pending offset: %s", errName(code))
	}
}

func TestReloadAppliesMarkersInTheLogAndKeepsOpenTransactionsPending(t *testing.T) {
	h := newHarness(t, nil)
	other := groupOnSamePartition(h.c, "g")
	wantErr(t, "committed txn", h.txnCommit(txnCommit{group: "g", producerID: 1, topic: "t", partition: 0, offset: 5}), nil)
	wantErr(t, "committed txn, second group", h.txnCommit(txnCommit{group: other, producerID: 1, topic: "t", offset: 8}), nil)
	h.endTxn("g", 1, true)
	wantErr(t, "aborted txn", h.txnCommit(txnCommit{group: "g", producerID: 2, topic: "t", partition: 1, offset: 6}), nil)
	h.endTxn("g", 2, false)
	wantErr(t, "open txn", h.txnCommit(txnCommit{group: "g", producerID: 3, topic: "t", partition: 2, offset: 7}), nil)
	// A transaction of a group that exists only through it.
	wantErr(t, "open txn, new group", h.txnCommit(txnCommit{group: "only-txn", producerID: 4, topic: "t", offset: 9}), nil)

	h.c.Close()
	h2 := newHarnessOn(t, h.journal, h.clock, nil)
	if a, b := h2.fetched("g", "t", 0), h2.fetched(other, "t", 0); a != 5 || b != 8 {
		t.Fatalf("committed transaction after reload: %d and %d, want 5 and 8", a, b)
	}
	if got := h2.fetched("g", "t", 1); got != -1 {
		t.Fatalf("aborted transaction after reload: %d", got)
	}
	if _, code := h2.fetchStable("g", "t", 2); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("open transaction after reload: %s, want UNSTABLE_OFFSET_COMMIT", errName(code))
	}
	if _, code := h2.fetchStable("only-txn", "t", 0); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("open transaction of a group with no other record: %s", errName(code))
	}
	// The open transactions end after the reload.
	h2.endTxn("g", 3, true)
	h2.endTxn("only-txn", 4, true)
	if a, b := h2.fetched("g", "t", 2), h2.fetched("only-txn", "t", 0); a != 7 || b != 9 {
		t.Fatalf("open transactions committed after reload: %d and %d, want 7 and 9", a, b)
	}
}

func TestMarkerReportedWhileThePartitionLoadsIsAppliedOnceLoaded(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "txn", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", offset: 42}), nil)
	p := h.c.PartitionFor("g")
	h.c.Unload(p)

	release := make(chan struct{})
	h.journal.SetReplayHook(func(int32) error {
		<-release
		return nil
	})
	h.c.Load(p)
	// The replay has not read the log yet, but the marker it will read is
	// not there: it is written, and reported, while the partition loads.
	h.c.CompleteTransaction(p, 7, true)
	close(release)
	checkFor(t, 5*time.Second, func() error {
		if _, loading := h.c.owns(p); loading {
			return errors.New("still loading")
		}
		return nil
	})
	if got := h.fetched("g", "t", 0); got != 42 {
		t.Fatalf("the marker reported during the load was lost: %d", got)
	}
}

func TestTxnOffsetCommitOfALoadingPartitionAnswersOldClientsCoordinatorNotAvailable(t *testing.T) {
	j := NewMemoryJournal()
	release := make(chan struct{})
	j.SetReplayHook(func(int32) error {
		<-release
		return nil
	})
	cfg := testConfig(t)
	cfg.Clock = newFakeClock()
	c, err := New(cfg, j)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer close(release) // before Close, which waits for the load
	h := &harness{t: t, c: c, journal: j, cfg: cfg}
	c.Load(c.PartitionFor("g"))
	wantErr(t, "v1", h.txnCommit(txnCommit{version: 1, group: "g", producerID: 7, topic: "t"}), kerr.CoordinatorNotAvailable)
	wantErr(t, "v2", h.txnCommit(txnCommit{version: 2, group: "g", producerID: 7, topic: "t"}), kerr.CoordinatorLoadInProgress)
	wantErr(t, "group of a partition not owned",
		h.txnCommit(txnCommit{group: groupOnOtherPartition(c, "g"), producerID: 7, topic: "t"}), kerr.NotCoordinator)
}

func TestPendingTxnOffsetsOutliveRetentionUntilTheirTransactionEnds(t *testing.T) {
	h := retentionHarness(t)
	wantErr(t, "plain", h.commit("solo", -1, "", nil, "t", 0, 1), nil)
	wantErr(t, "txn", h.txnCommit(txnCommit{group: "solo", producerID: 7, topic: "t", offset: 2}), nil)
	wantErr(t, "txn only", h.txnCommit(txnCommit{group: "txn-only", producerID: 8, topic: "t", offset: 3}), nil)
	h.clock.Advance(2 * time.Hour)
	if got := h.fetched("solo", "t", 0); got != 1 {
		t.Fatalf("an offset with a pending transactional offset expired: %d", got)
	}
	if h.group("txn-only") == nil {
		t.Fatal("a group whose only offsets are pending was deleted")
	}
	h.endTxn("solo", 7, false)
	h.endTxn("txn-only", 8, false)
	h.clock.Advance(2 * time.Minute)
	if got := h.fetched("solo", "t", 0); got != -1 {
		t.Fatalf("the offset did not expire once its transaction ended: %d", got)
	}
	if h.group("solo") != nil || h.group("txn-only") != nil {
		t.Fatal("groups left without offsets should be gone")
	}
}

func TestDeleteGroupsDropsPendingTxnOffsets(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "txn", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", offset: 42}), nil)
	del := kmsg.NewPtrDeleteGroupsRequest()
	del.Groups = []string{"g"}
	wantErr(t, "delete", h.c.DeleteGroups(context.Background(), del).Groups[0].ErrorCode, nil)
	if !hasTombstone(h.journal, h.c.PartitionFor("g"), offsetKey("g", topicPartition{"t", 0})) {
		t.Fatal("the pending offset's partition was not tombstoned")
	}
	h.endTxn("g", 7, true)
	if got := h.fetched("g", "t", 0); got != -1 {
		t.Fatalf("the commit marker brought a deleted offset back: %d", got)
	}
	h.c.Close()
	h2 := newHarnessOn(t, h.journal, h.clock, nil)
	if got := h2.fetched("g", "t", 0); got != -1 || h2.group("g") != nil {
		t.Fatalf("the deleted group's transactional offset came back on reload: %d", got)
	}
}

func TestOffsetDeleteDropsPendingTxnOffsets(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "plain", h.commit("g", -1, "", nil, "t", 0, 1), nil)
	wantErr(t, "txn", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", partition: 1, offset: 42}), nil)
	req := kmsg.NewPtrOffsetDeleteRequest()
	req.Group = "g"
	rt := kmsg.NewOffsetDeleteRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetDeleteRequestTopicPartition()
	rp.Partition = 1
	rt.Partitions = []kmsg.OffsetDeleteRequestTopicPartition{rp}
	req.Topics = []kmsg.OffsetDeleteRequestTopic{rt}
	resp := h.c.OffsetDelete(context.Background(), req)
	wantErr(t, "offset delete", resp.ErrorCode, nil)
	wantErr(t, "offset delete t/1", resp.Topics[0].Partitions[0].ErrorCode, nil)
	if _, code := h.fetchStable("g", "t", 1); code != 0 {
		t.Fatalf("the pending offset survived OffsetDelete: %s", errName(code))
	}
	h.endTxn("g", 7, true)
	if got := h.fetched("g", "t", 1); got != -1 {
		t.Fatalf("the commit marker brought a deleted offset back: %d", got)
	}
}

func TestOffsetFetchOfAllPartitionsWithRequireStableFlagsPendingOnes(t *testing.T) {
	h := newHarness(t, nil)
	wantErr(t, "plain 0", h.commit("g", -1, "", nil, "t", 0, 1), nil)
	wantErr(t, "plain 1", h.commit("g", -1, "", nil, "t", 1, 1), nil)
	wantErr(t, "txn 1", h.txnCommit(txnCommit{group: "g", producerID: 7, topic: "t", partition: 1, offset: 42}), nil)
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 7
	req.Group, req.RequireStable = "g", true
	resp := h.c.OffsetFetch(context.Background(), req)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("fetch all: %+v", resp.Topics)
	}
	p0, p1 := resp.Topics[0].Partitions[0], resp.Topics[0].Partitions[1]
	if p0.ErrorCode != 0 || p0.Offset != 1 || p1.ErrorCode != kerr.UnstableOffsetCommit.Code || p1.Offset != -1 {
		t.Fatalf("fetch all with require_stable: t/0 %d %s, t/1 %d %s", p0.Offset, errName(p0.ErrorCode), p1.Offset, errName(p1.ErrorCode))
	}
}

func TestConcurrentTxnCommitsAndMarkersLeaveWhatAReloadRebuilds(t *testing.T) {
	h := newHarness(t, nil)
	const producers, rounds = 8, 20
	var wg sync.WaitGroup
	for pid := int64(1); pid <= producers; pid++ {
		wg.Add(1)
		go func(pid int64) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				part := int32(r % 3)
				if code := h.txnCommit(txnCommit{group: "g", producerID: pid, topic: "t", partition: part, offset: pid*1000 + int64(r)}); code != 0 {
					t.Errorf("producer %d: %s", pid, errName(code))
					return
				}
				if r%4 == 0 {
					if code := h.commit("g", -1, "", nil, "t", part, -int64(r)); code != 0 {
						t.Errorf("plain commit: %s", errName(code))
						return
					}
				}
				h.endTxn("g", pid, r%3 != 0)
			}
		}(pid)
	}
	wg.Wait()
	before := make(map[int32]int64)
	for p := int32(0); p < 3; p++ {
		off, code := h.fetchStable("g", "t", p)
		if code != 0 {
			t.Fatalf("t/%d still unstable after every transaction ended: %s", p, errName(code))
		}
		before[p] = off
	}
	h.c.Close()
	h2 := newHarnessOn(t, h.journal, h.clock, nil)
	for p := int32(0); p < 3; p++ {
		if off, code := h2.fetchStable("g", "t", p); code != 0 || off != before[p] {
			t.Fatalf("t/%d: %d before the reload, %d (%s) after", p, before[p], off, errName(code))
		}
	}
}
