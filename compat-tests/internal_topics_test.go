package compattests

// Internal topics as Kafka protects them: DeleteRecords refuses them, but
// DeleteTopics deletes them (only ACLs protect them in Kafka). Deleting
// __consumer_offsets loses every committed offset, as in Kafka; the
// coordinator unloads its groups and the next FindCoordinator creates the
// topic again, so groups carry on.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDeletingConsumerOffsetsLosesCommittedOffsetsAndGroupsWorkAgain(t *testing.T) {
	skipOnKfake(t, "kfake keeps offsets outside a __consumer_offsets topic")
	t.Parallel()
	b := startGroupBroker(t, withOverride("offsets.topic.num.partitions", "3"))
	adm := b.admin(t)
	createTopic(t, adm, "events", 1, nil)
	produceSync(t, b.client(t), valueRecords("events", numbered("first", 10)...)...)

	committed := func(group string) (int64, error) {
		fetched, err := adm.FetchOffsets(testContext(t, 20*time.Second), group)
		if err == nil {
			err = fetched.Error()
		}
		if err != nil {
			return 0, err
		}
		o, ok := fetched.Lookup("events", 0)
		if !ok {
			return -1, nil
		}
		return o.At, nil
	}
	requireCommitted := func(group string, want int64) {
		t.Helper()
		checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
			got, err := committed(group)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("group %s: committed offset %d, want %d", group, got, want)
			}
			return nil
		})
	}

	// A group member that keeps consuming and committing what it polled,
	// through the deletion.
	member := b.client(t,
		kgo.ConsumerGroup("g"),
		kgo.ConsumeTopics("events"),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			fetches := member.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			fetches.EachError(func(topic string, p int32, err error) {
				t.Logf("member: fetch %s/%d: %v", topic, p, err)
			})
			// Commits fail while the coordinator is gone; the next poll
			// tries again.
			if err := member.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
				t.Logf("member: commit: %v (retried)", err)
			}
		}
	}()
	requireCommitted("g", 10)
	// A group without members, whose offsets nothing commits again.
	var idle kadm.Offsets
	idle.Add(kadm.Offset{Topic: "events", Partition: 0, At: 7, LeaderEpoch: -1})
	if resp, err := adm.CommitOffsets(testContext(t, 20*time.Second), "idle", idle); err != nil || resp.Error() != nil {
		t.Fatalf("commit for group idle: %v %v", err, resp.Error())
	}
	requireCommitted("idle", 7)

	deleted, err := adm.DeleteTopics(testContext(t, 20*time.Second), "__consumer_offsets")
	if err == nil {
		err = deleted.Error()
	}
	if err != nil {
		t.Fatalf("delete __consumer_offsets: %v (Kafka's DeleteTopics does not protect internal topics)", err)
	}
	// The next FindCoordinator creates the topic again, empty: what the
	// group committed is gone, as in Kafka, until the member commits
	// again.
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		topics, err := adm.ListTopics(testContext(t, 10*time.Second), "__consumer_offsets")
		if err != nil {
			return err
		}
		if td := topics["__consumer_offsets"]; td.Err != nil || !td.IsInternal || len(td.Partitions) != 3 {
			return fmt.Errorf("__consumer_offsets is %+v", td)
		}
		return nil
	})
	requireCommitted("idle", -1)

	// The member carries on: new records are consumed and committed.
	produceSync(t, b.client(t), valueRecords("events", numbered("second", 5)...)...)
	requireCommitted("g", 15)
	cancel()
	<-done
	member.Close() // leaves the group

	// A new member of the group starts from the committed offset.
	late := b.client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("events"), kgo.DisableAutoCommit())
	produceSync(t, b.client(t), valueRecords("events", "third")...)
	pctx := testContext(t, 30*time.Second)
	for {
		fetches := late.PollFetches(pctx)
		if pctx.Err() != nil {
			t.Fatal("the new member read nothing")
		}
		if recs := fetches.Records(); len(recs) > 0 {
			if recs[0].Offset != 15 || string(recs[0].Value) != "third" {
				t.Fatalf("the new member starts at offset %d (%q), want 15, the committed offset", recs[0].Offset, recs[0].Value)
			}
			break
		}
	}
}

// commitOneRecord has group "g" read the one record of a new topic
// "events" and commit offset 1: the commit creates __consumer_offsets.
func commitOneRecord(t *testing.T, b *testBroker) {
	t.Helper()
	createTopic(t, b.admin(t), "events", 1, nil)
	produceSync(t, b.client(t), valueRecords("events", "a")...)
	cl := b.client(t, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("events"), kgo.DisableAutoCommit())
	pctx := testContext(t, 30*time.Second)
	for polled := 0; polled == 0; {
		if pctx.Err() != nil {
			t.Fatal("the group member read nothing")
		}
		polled = len(cl.PollFetches(pctx).Records())
	}
	if err := cl.CommitUncommittedOffsets(pctx); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteRecordsOfAnInternalTopicIsRefusedAsInKafka(t *testing.T) {
	skipOnKfake(t, "kfake keeps offsets outside a __consumer_offsets topic")
	t.Parallel()
	b := startGroupBroker(t)
	adm := b.admin(t)
	commitOneRecord(t, b) // creates __consumer_offsets
	offsets, err := adm.ListEndOffsets(testContext(t, 10*time.Second), "__consumer_offsets")
	if err != nil {
		t.Fatal(err)
	}
	toDelete := offsets.Offsets()
	resp, err := adm.DeleteRecords(testContext(t, 10*time.Second), toDelete)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, partitions := range resp {
		for _, r := range partitions {
			n++
			if !errors.Is(r.Err, kerr.InvalidTopicException) || r.LowWatermark > 0 {
				t.Errorf("DeleteRecords of %s-%d: %v (low watermark %d), want INVALID_TOPIC_EXCEPTION", r.Topic, r.Partition, r.Err, r.LowWatermark)
			}
		}
	}
	if n == 0 {
		t.Fatal("DeleteRecords answered no partition")
	}
}

func TestProduceToAnInternalTopicIsRefusedAsInKafka(t *testing.T) {
	// Kafka refuses appends to internal topics with INVALID_TOPIC_EXCEPTION
	// unless the client ID is its admin tools' "__admin_client": a client
	// writing garbage to __consumer_offsets would break every group.
	skipOnKfake(t, "kfake accepts produce to __consumer_offsets")
	t.Parallel()
	b := startGroupBroker(t)
	adm := b.admin(t)
	commitOneRecord(t, b)
	ends, err := adm.ListEndOffsets(testContext(t, 10*time.Second), "__consumer_offsets")
	if err != nil {
		t.Fatal(err)
	}

	// A stock producer is refused.
	producer := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RetryTimeout(2*time.Second))
	res := producer.ProduceSync(testContext(t, 10*time.Second), &kgo.Record{Topic: "__consumer_offsets", Partition: 0, Key: []byte("junk"), Value: []byte("junk")})
	if err := res.FirstErr(); !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatalf("produce to __consumer_offsets: %v, want INVALID_TOPIC_EXCEPTION", err)
	}
	after, err := adm.ListEndOffsets(testContext(t, 10*time.Second), "__consumer_offsets")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if a, _ := after.Lookup(o.Topic, o.Partition); a.Offset != o.Offset {
			t.Errorf("%s-%d grew from %d to %d after a refused produce", o.Topic, o.Partition, o.Offset, a.Offset)
		}
	})
	// The group still reads its committed offset.
	fetched, err := adm.FetchOffsets(testContext(t, 10*time.Second), "g")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := fetched.Lookup("events", 0); !ok || o.At != 1 {
		t.Fatalf("the group's committed offset is %+v, want 1", o)
	}

	// Kafka's admin client ID may write, as Kafka lets its own tools. (To
	// __transaction_state, internal by its name whoever creates it, as in
	// Kafka: a record of no key is no offset commit to break a group.)
	createTopic(t, adm, "__transaction_state", 1, nil)
	c := dialRaw(t, b.Addr())
	version := c.maxVersion(0, 9)
	refused := partitionResult(t, c.roundTrip(produceRequest(version, "__transaction_state", recordBatch("plain")), 3))
	if refused.ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("produce to __transaction_state: %v, want INVALID_TOPIC_EXCEPTION", kerr.ErrorForCode(refused.ErrorCode))
	}
	req := produceRequest(version, "__transaction_state", recordBatch("admin"))
	raw := frameWithClientID(req.Key(), version, 2, req.IsFlexible(), "__admin_client", req.AppendTo(nil))
	c.write(raw)
	_, body, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	if req.IsFlexible() {
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("produce to __transaction_state as __admin_client: %v, want success", kerr.ErrorForCode(code))
	}
}
