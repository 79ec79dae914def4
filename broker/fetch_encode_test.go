package broker

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	plog "github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/wire"
)

// flattenParts materialises wire parts into bytes, reading file ranges.
func flattenParts(t testing.TB, parts []wire.Part) []byte {
	t.Helper()
	var out []byte
	for _, p := range parts {
		if p.File == nil {
			out = append(out, p.Bytes...)
			continue
		}
		buf := make([]byte, p.Length)
		if _, err := p.File.ReadAt(buf, p.FileOffset); err != nil {
			t.Fatalf("read file part: %v", err)
		}
		out = append(out, buf...)
	}
	return out
}

// TestFetchResponseEncodingMatchesKmsgForEveryVersion checks the
// sendfile-friendly encoder byte for byte against kmsg's own encoder.
func TestFetchResponseEncodingMatchesKmsgForEveryVersion(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "segment"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	content := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	for version := int16(4); version <= 18; version++ {
		topics := []fetchTopicResult{
			{topic: "alpha", topicID: [16]byte{1, 2, 3}, partitions: []fetchPartitionResult{
				{partition: 0, highWatermark: 10, lastStableOffset: 10, logStartOffset: 2, preferredReadReplica: -1, currentLeaderID: -1,
					records: plog.ReadResult{File: f, Position: 4, Size: 20}},
				{partition: 1, errorCode: 6, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, preferredReadReplica: -1,
					currentLeaderID: 3, currentLeaderEpoch: 7},
			}},
			{topic: "beta", topicID: [16]byte{9}, partitions: []fetchPartitionResult{
				{partition: 5, highWatermark: 1, lastStableOffset: 1, logStartOffset: 0, preferredReadReplica: -1, currentLeaderID: -1},
				{partition: 6, highWatermark: 9, lastStableOffset: 4, logStartOffset: 0, preferredReadReplica: -1, currentLeaderID: -1,
					abortedTxns: []plog.AbortedTxn{{ProducerID: 7, FirstOffset: 1}, {ProducerID: 8, FirstOffset: 3}}},
				{partition: 7, highWatermark: 9, lastStableOffset: 9, logStartOffset: 0, preferredReadReplica: -1, currentLeaderID: -1,
					abortedTxns: []plog.AbortedTxn{}},
			}},
		}
		rack := "r1"
		nodes := []nodeEndpoint{{id: 3, host: "h3", port: 9093, rack: &rack}, {id: 4, host: "h4", port: 9094}}
		got := flattenParts(t, encodeFetchResponse(version, 0, 42, topics, nodes))

		want := kmsg.NewPtrFetchResponse()
		want.Version = version
		want.SessionID = 42
		for _, tr := range topics {
			kt := kmsg.NewFetchResponseTopic()
			kt.Topic, kt.TopicID = tr.topic, tr.topicID
			for _, pr := range tr.partitions {
				kp := kmsg.NewFetchResponseTopicPartition()
				kp.Partition, kp.ErrorCode = pr.partition, pr.errorCode
				kp.HighWatermark, kp.LastStableOffset, kp.LogStartOffset = pr.highWatermark, pr.lastStableOffset, pr.logStartOffset
				kp.PreferredReadReplica = pr.preferredReadReplica
				if pr.abortedTxns != nil {
					kp.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
					for _, a := range pr.abortedTxns {
						ka := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
						ka.ProducerID, ka.FirstOffset = a.ProducerID, a.FirstOffset
						kp.AbortedTransactions = append(kp.AbortedTransactions, ka)
					}
				}
				if pr.currentLeaderID >= 0 {
					kp.CurrentLeader.LeaderID, kp.CurrentLeader.LeaderEpoch = pr.currentLeaderID, pr.currentLeaderEpoch
				}
				kp.RecordBatches = []byte{}
				if pr.records.Size > 0 {
					kp.RecordBatches = content[pr.records.Position : pr.records.Position+pr.records.Size]
				}
				kt.Partitions = append(kt.Partitions, kp)
			}
			want.Topics = append(want.Topics, kt)
		}
		if version >= 16 {
			for _, n := range nodes {
				kb := kmsg.NewFetchResponseBroker()
				kb.NodeID, kb.Host, kb.Port, kb.Rack = n.id, n.host, n.port, n.rack
				want.Brokers = append(want.Brokers, kb)
			}
		}
		wantBytes := want.AppendTo(nil)
		if !bytes.Equal(got, wantBytes) {
			t.Fatalf("v%d: encoding differs from kmsg\n got %x\nwant %x", version, got, wantBytes)
		}
		decoded := kmsg.NewPtrFetchResponse()
		decoded.Version = version
		if err := decoded.ReadFrom(got); err != nil {
			t.Fatalf("v%d: kmsg cannot decode: %v", version, err)
		}
		if string(decoded.Topics[0].Partitions[0].RecordBatches) != string(content[4:24]) {
			t.Fatalf("v%d: records = %q", version, decoded.Topics[0].Partitions[0].RecordBatches)
		}
	}
}
