package compattests

// A full disk, for real: the broker's log.dirs on a small tmpfs, the rest
// of it taken by a filler file. No request that failed to write is
// answered OK, nothing half-made survives a restart, and once space is
// back the broker serves writes again without one (issue 9).

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/log/disktest"
)

// requireStorageError fails unless err is KAFKA_STORAGE_ERROR.
func requireStorageError(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("%s: %v, want KAFKA_STORAGE_ERROR", what, err)
	}
}

func TestAFullDiskIsNeverAnsweredOKLeavesNothingHalfMadeAndWritesResumeWhenSpaceIsBack(t *testing.T) {
	skipOnKfake(t, "fills the broker's file system")
	t.Parallel()
	b := startGroupBroker(t, withDataDir(disktest.MountTmpfs(t, "4m")), withOverride("offsets.topic.num.partitions", "1"))
	adm := b.admin(t)
	createTopic(t, adm, "acked", 1, nil)
	createTopic(t, adm, "spare", 1, nil)
	before := numbered("before", 20)
	produceSync(t, b.client(t), valueRecords("acked", before...)...)
	commit := func(offset int64) error {
		var os kadm.Offsets
		os.Add(kadm.Offset{Topic: "acked", Partition: 0, At: offset, LeaderEpoch: -1})
		resp, err := adm.CommitOffsets(testContext(t, 20*time.Second), "g", os)
		if err == nil {
			err = resp.Error()
		}
		return err
	}
	if err := commit(20); err != nil {
		t.Fatal(err)
	}

	filler := disktest.FillDisk(t, b.dataDir)
	t.Cleanup(func() { os.Remove(filler) })
	ctx := testContext(t, 30*time.Second)

	created, err := adm.CreateTopic(ctx, 2, 1, nil, "new")
	if err == nil {
		err = created.Err
	}
	requireStorageError(t, "CreateTopics on a full disk", err)
	if !strings.Contains(created.ErrMessage, "no space left on device") {
		t.Errorf("CreateTopics message %q does not say why", created.ErrMessage)
	}
	grown, err := adm.CreatePartitions(ctx, 1, "acked")
	if err == nil {
		err = grown["acked"].Err
	}
	requireStorageError(t, "CreatePartitions on a full disk", err)
	retention := []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("1000")}}
	altered, err := adm.AlterTopicConfigsState(ctx, retention, "acked")
	if err == nil {
		err = altered[0].Err
	}
	requireStorageError(t, "AlterConfigs on a full disk", err)
	altered, err = adm.AlterTopicConfigs(ctx, retention, "acked")
	if err == nil {
		err = altered[0].Err
	}
	requireStorageError(t, "IncrementalAlterConfigs on a full disk", err)
	deleted, err := adm.DeleteTopics(ctx, "spare")
	if err == nil {
		err = deleted["spare"].Err
	}
	requireStorageError(t, "DeleteTopics on a full disk", err)

	// Offset commits whose append to __consumer_offsets fails: Kafka's
	// group coordinator answers KAFKA_STORAGE_ERROR as NOT_COORDINATOR.
	// A commit still fits while the last page of the segment has room,
	// so commit until one does not. Sent on a raw connection, as clients
	// retry NOT_COORDINATOR.
	raw := dialRaw(t, b.Addr())
	lastOK := int64(20)
	for offset := int64(21); ; offset++ {
		if offset > 1000 {
			t.Fatal("a thousand offset commits on a full disk were all answered OK")
		}
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version, req.Group, req.Generation = 8, "g", -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = "acked"
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 0, offset
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := raw.roundTrip(req, int32(offset)).(*kmsg.OffsetCommitResponse)
		code := resp.Topics[0].Partitions[0].ErrorCode
		if code == 0 {
			lastOK = offset
			continue
		}
		if code != kerr.NotCoordinator.Code {
			t.Fatalf("offset commit on a full disk: %v, want NOT_COORDINATOR", kerr.ErrorForCode(code))
		}
		t.Logf("offset commits up to %d fitted on the full disk; the next was refused", lastOK)
		break
	}
	requireCommitted := func(want int64) {
		t.Helper()
		fetched, err := adm.FetchOffsets(testContext(t, 20*time.Second), "g")
		if err == nil {
			err = fetched.Error()
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := fetched.Lookup("acked", 0); got.At != want {
			t.Fatalf("committed offset %d, want %d", got.At, want)
		}
	}
	requireCommitted(lastOK)

	// Space back: writes resume without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	createTopic(t, adm, "after", 1, nil)
	after := numbered("after", 5)
	produceSync(t, b.client(t), valueRecords("acked", after...)...)
	if err := commit(2000); err != nil {
		t.Fatalf("offset commit once space is back: %v", err)
	}

	b.Stop()
	b.Restart()
	adm = b.admin(t)
	topics, err := adm.ListTopics(testContext(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"new": 0, "spare": 1, "after": 1, "acked": 1} {
		if td, ok := topics[name]; (want == 0) == ok || ok && len(td.Partitions) != want {
			t.Errorf("after the restart topic %s is %+v (listed %v), want %d partitions", name, td, ok, want)
		}
	}
	entries, err := os.ReadDir(b.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "new-") || strings.HasPrefix(e.Name(), "acked-1") || strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("half-made %s survived the restart", e.Name())
		}
	}
	got := readAll(t, b, "acked")[0]
	want := append(before, after...)
	if len(got) != len(want) {
		t.Fatalf("acked holds %d records after the restart, want the %d acknowledged", len(got), len(want))
	}
	for i, r := range got {
		if string(r.Value) != want[i] {
			t.Fatalf("record %d reads %q, want %q: acknowledged records must stay, in order", i, r.Value, want[i])
		}
	}
	requireCommitted(2000)
}

func TestATopicWhoseLogsCannotBeCreatedIsNotCreatedAndLeavesNoDirectoryAcrossARestart(t *testing.T) {
	skipOnKfake(t, "makes a log directory unwritable")
	t.Parallel()
	// Two log directories; partitions go to the one holding fewer, so a
	// topic of two partitions has one in each. The second becomes
	// immutable, which even root cannot create a directory in.
	first, second := t.TempDir(), t.TempDir()
	b := startBroker(t, withDataDir(first), withOverride("log.dirs", first+","+second), withOverride("num.partitions", "2"))
	adm := b.admin(t)
	clear := disktest.Immutable(t, second)

	// A topic created on first use (auto.create.topics.enable) is taken
	// back the same way; the client may retry.
	c := dialRaw(t, b.Addr())
	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = c.maxVersion(3, 9)
	meta.AllowAutoTopicCreation = true
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("auto")
	meta.Topics = append(meta.Topics, mt)
	got := c.roundTrip(meta, 2).(*kmsg.MetadataResponse)
	if code := got.Topics[0].ErrorCode; code != kerr.KafkaStorageError.Code {
		t.Fatalf("Metadata auto-creating a topic with an unwritable log directory: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(code))
	}

	created, err := adm.CreateTopic(testContext(t, 20*time.Second), 2, 1, nil, "half")
	if err == nil {
		err = created.Err
	}
	requireStorageError(t, "CreateTopics with an unwritable log directory", err)
	createTopic(t, adm, "grow", 1, nil) // in the first directory
	grown, err := adm.CreatePartitions(testContext(t, 20*time.Second), 1, "grow")
	if err == nil {
		err = grown["grow"].Err
	}
	requireStorageError(t, "CreatePartitions with an unwritable log directory", err)

	requireNothingHalfMade := func(when string) {
		t.Helper()
		topics, err := adm.ListTopics(testContext(t, 10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"half", "auto"} {
			if _, ok := topics[name]; ok {
				t.Fatalf("%s: topic %s exists", when, name)
			}
		}
		if td := topics["grow"]; len(td.Partitions) != 1 {
			t.Fatalf("%s: topic grow has %d partitions, want 1", when, len(td.Partitions))
		}
		checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			for _, dir := range []string{first, second} {
				entries, err := os.ReadDir(dir)
				if err != nil {
					return err
				}
				for _, e := range entries {
					if n := e.Name(); strings.HasPrefix(n, "half-") || strings.HasPrefix(n, "auto-") || n == "grow-1" {
						return errorf("%s: %s is in %s", when, n, dir)
					}
				}
			}
			return nil
		})
	}
	requireNothingHalfMade("at once")
	clear()
	b.Stop()
	b.Restart()
	adm = b.admin(t)
	requireNothingHalfMade("after a restart")
	createTopic(t, adm, "half", 2, nil)
	produceSync(t, b.client(t), valueRecords("half", "now it works")...)
}
