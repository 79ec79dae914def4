package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/groupcoord"
	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/recordbatch"
)

// txnOffsetCommitForTest commits one offset of topic t/0 in a transaction
// of the producer, retrying while the coordinator loads.
func txnOffsetCommitForTest(t *testing.T, b *Broker, producerID int64, offset int64) int16 {
	t.Helper()
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = 3
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = "txn", "g", producerID, 0
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, offset
	rt.Partitions = []kmsg.TxnOffsetCommitRequestTopicPartition{rp}
	req.Topics = []kmsg.TxnOffsetCommitRequestTopic{rt}
	var code int16
	checkForTxn(t, func() error {
		code = serve(t, b, req).(*kmsg.TxnOffsetCommitResponse).Topics[0].Partitions[0].ErrorCode
		if code == kerr.CoordinatorLoadInProgress.Code || code == kerr.NotCoordinator.Code {
			return fmt.Errorf("coordinator not ready: %v", kerr.ErrorForCode(code))
		}
		return nil
	})
	return code
}

// stableOffsetForTest fetches t/0 of group g with require_stable, retrying
// while the coordinator loads.
func stableOffsetForTest(t *testing.T, b *Broker) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version, req.Group, req.RequireStable = 7, "g", true
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic, ft.Partitions = "t", []int32{0}
	req.Topics = []kmsg.OffsetFetchRequestTopic{ft}
	var p kmsg.OffsetFetchResponseTopicPartition
	checkForTxn(t, func() error {
		resp := serve(t, b, req).(*kmsg.OffsetFetchResponse)
		if resp.ErrorCode != 0 {
			return fmt.Errorf("offset fetch: %v", kerr.ErrorForCode(resp.ErrorCode))
		}
		p = resp.Topics[0].Partitions[0]
		return nil
	})
	return p.Offset, p.ErrorCode
}

func checkForTxn(t *testing.T, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reloadOffsetsPartition moves the coordination of partition 0 away and
// back, as a leadership change does: the groups are replayed from the log.
func reloadOffsetsPartition(b *Broker) {
	b.groups.Unload(0)
	b.groups.Load(0)
}

func TestTxnOffsetCommitsOfOneProducerAreWrittenInSequenceAndSurviveAReload(t *testing.T) {
	b := newTestBrokerWith(t, "offsets.topic.num.partitions=1")
	createTopicForTest(t, b, "t", 1, nil)
	if err := b.ensureOffsetsTopic(context.Background()); err != nil {
		t.Fatal(err)
	}
	const producerID = 1000
	// Batches of the same size from the same producer: a log that saw
	// them with the same sequence would take the second for a retry.
	for i, off := range []int64{10, 20} {
		if code := txnOffsetCommitForTest(t, b, producerID, off); code != 0 {
			t.Fatalf("txn commit %d: %v", i, kerr.ErrorForCode(code))
		}
	}
	if _, code := stableOffsetForTest(t, b); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("require_stable while the transaction is open: %v", kerr.ErrorForCode(code))
	}

	p, err := b.replicas.Lookup(groupcoord.OffsetsTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	var headers []recordbatch.Header
	readAllBatches(t, p.Log(), func(h recordbatch.Header) { headers = append(headers, h) })
	if n := len(headers); n != 2 || !headers[0].Transactional() || headers[0].ProducerID != producerID ||
		headers[0].BaseSequence != 0 || headers[1].BaseSequence != 1 {
		t.Fatalf("batches in %s: %+v", groupcoord.OffsetsTopic, headers)
	}

	// A reload replays the open transaction as pending, and the sequence
	// carries on after it.
	reloadOffsetsPartition(b)
	if _, code := stableOffsetForTest(t, b); code != kerr.UnstableOffsetCommit.Code {
		t.Fatalf("require_stable after reload: %v", kerr.ErrorForCode(code))
	}
	if code := txnOffsetCommitForTest(t, b, producerID, 30); code != 0 {
		t.Fatalf("txn commit after reload: %v", kerr.ErrorForCode(code))
	}

	b.offsetsMarkerWritten(0, producerID, true)
	if off, code := stableOffsetForTest(t, b); code != 0 || off != 30 {
		t.Fatalf("after the commit marker: offset %d, %v", off, kerr.ErrorForCode(code))
	}
}

func TestReplayOfOffsetsSeesTransactionMarkersInTheLog(t *testing.T) {
	b := newTestBrokerWith(t, "offsets.topic.num.partitions=1")
	createTopicForTest(t, b, "t", 1, nil)
	if err := b.ensureOffsetsTopic(context.Background()); err != nil {
		t.Fatal(err)
	}
	const producerID = 2000
	if code := txnOffsetCommitForTest(t, b, producerID, 7); code != 0 {
		t.Fatalf("txn commit: %v", kerr.ErrorForCode(code))
	}
	// The COMMIT marker, as WriteTxnMarkers has the broker write it; the
	// coordinator is not told, so only the replay can find it.
	p, err := b.replicas.LookupLeader(groupcoord.OffsetsTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.replicas.AppendMarkerAsLeader(p, plog.TxnMarker{ProducerID: producerID, Commit: true}, time.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	reloadOffsetsPartition(b)
	if off, code := stableOffsetForTest(t, b); code != 0 || off != 7 {
		t.Fatalf("after replaying the commit marker: offset %d, %v", off, kerr.ErrorForCode(code))
	}
}

// readAllBatches calls fn with the header of every batch of the log.
func readAllBatches(t *testing.T, l *plog.Log, fn func(recordbatch.Header)) {
	t.Helper()
	offsets := l.Offsets()
	rr, err := l.Read(offsets.LogStartOffset, 1<<20, offsets.LogEndOffset)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Release()
	buf := make([]byte, rr.Size)
	if _, err := rr.File.ReadAt(buf, rr.Position); err != nil {
		t.Fatal(err)
	}
	for len(buf) >= recordbatch.HeaderSize {
		h, err := recordbatch.ParseHeader(buf)
		if err != nil {
			t.Fatal(err)
		}
		fn(h)
		buf = buf[h.TotalSize():]
	}
}
