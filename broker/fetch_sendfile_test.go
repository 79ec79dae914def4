package broker

import (
	"bytes"
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

// A follower's Fetch (replica_id >= 0) answers its records as a file
// range of the leader's segment, as a consumer's does, so they reach the
// socket by sendfile (wire's writeResponse) and never pass through the
// broker's memory; the rest of the response is bytes.
func TestFollowerAndConsumerFetchesCarryRecordsAsFileRanges(t *testing.T) {
	b := newTestBroker(t)
	const follower = 99
	p := ledWithFollower(t, b, "replicated", follower)
	var written []byte
	for i, values := range [][]string{{"a", "b"}, {"c"}, {"d", "e", "f"}} {
		batch := encodeBatch(-1, -1, -1, 1000+int64(i), values...)
		if _, _, err := b.replicas.AppendAsLeader(p, batch, 1000, false); err != nil {
			t.Fatal(err)
		}
		written = append(written, batch...) // offsets and epoch set in place
	}

	for _, tc := range []struct {
		name      string
		replicaID int32
		offset    int64
	}{{"follower", follower, 0}, {"consumer", -1, 0}} {
		if tc.replicaID < 0 {
			// A consumer reads up to the high watermark: the follower's
			// fetch at the log end offset moved it there.
			if err := b.replicas.FollowerFetched(p, follower, 6, b.now()); err != nil {
				t.Fatal(err)
			}
		}
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxBytes, req.MaxWaitMillis = 12, tc.replicaID, 1<<20, 0
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "replicated"
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = tc.offset, 1<<20, 1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := b.ServeKafka(context.Background(), &wire.Conn{}, &wire.Request{APIKey: 1, APIVersion: 12, KnownKey: true, Body: req.AppendTo(nil)})
		if err != nil || resp == nil {
			t.Fatalf("%s fetch: %v", tc.name, err)
		}
		var files int
		var fileBytes []byte
		for _, part := range resp.Parts {
			if part.File == nil {
				if bytes.Contains(part.Bytes, written[:61]) {
					t.Errorf("%s fetch: a byte part holds a batch", tc.name)
				}
				continue
			}
			files++
			buf := make([]byte, part.Length)
			if _, err := part.File.ReadAt(buf, part.FileOffset); err != nil {
				t.Fatal(err)
			}
			fileBytes = append(fileBytes, buf...)
		}
		if files != 1 || !bytes.Equal(fileBytes, written) {
			t.Errorf("%s fetch: %d file parts with %d bytes; want one with the %d bytes of the three batches", tc.name, files, len(fileBytes), len(written))
		}
		var fr kmsg.FetchResponse
		fr.Version = 12
		if err := fr.ReadFrom(flattenParts(t, resp.Parts)); err != nil {
			t.Fatalf("%s fetch: %v", tc.name, err)
		}
		if got := fr.Topics[0].Partitions[0]; got.ErrorCode != 0 || !bytes.Equal(got.RecordBatches, written) {
			t.Errorf("%s fetch: error %d, %d bytes of records; want the %d written", tc.name, got.ErrorCode, len(got.RecordBatches), len(written))
		}
		if resp.Done != nil {
			resp.Done()
		}
	}
}
