package controller

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/samsa-io/samsa/log/disktest"
)

func TestEveryChangeOnAFullDiskFailsWithErrStorageAndChangesNothing(t *testing.T) {
	dir := disktest.MountTmpfs(t, "1m")
	s := openStore(t, dir)
	before, err := s.CreateTopic(ctx, CreateTopicRequest{Name: "before", Partitions: 2, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	filler := disktest.FillDisk(t, dir)

	requireStorageError := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrStorage) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("%s on a full disk: %v, want ErrStorage wrapping ENOSPC", what, err)
		}
	}
	_, err = s.CreateTopic(ctx, CreateTopicRequest{Name: "new", Partitions: 1, ReplicationFactor: 1})
	requireStorageError("CreateTopic", err)
	requireStorageError("CreatePartitions", s.CreatePartitions(ctx, "before", 4, nil, false))
	requireStorageError("SetTopicConfigs", s.SetTopicConfigs(ctx, "before", map[string]string{"retention.ms": "1"}))
	requireStorageError("SetBrokerConfigs", s.SetBrokerConfigs(ctx, 1, map[string]string{"log.retention.ms": "1"}))
	requireStorageError("DeleteTopic", s.DeleteTopic(ctx, "before"))
	_, err = s.AllocateProducerIDs(ctx, 10)
	requireStorageError("AllocateProducerIDs", err)

	check := func(s *LocalStore, when string) {
		t.Helper()
		if _, ok := s.Topic("new"); ok {
			t.Fatalf("%s: the topic whose creation failed exists", when)
		}
		got, ok := s.Topic("before")
		if !ok || got.ID != before.ID || len(got.Partitions) != 2 || len(got.Configs) != 0 {
			t.Fatalf("%s: topic before is %+v (exists %v), want it unchanged", when, got, ok)
		}
		if len(s.BrokerConfigs(1)) != 0 {
			t.Fatalf("%s: broker configs %v, want none", when, s.BrokerConfigs(1))
		}
	}
	check(s, "in memory")
	if _, err := os.Stat(filepath.Join(dir, MetadataFile+".tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed write left its temporary file: %v", err)
	}
	s.Close()
	s = openStore(t, dir)
	check(s, "after reopening")

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTopic(ctx, CreateTopicRequest{Name: "new", Partitions: 1, ReplicationFactor: 1}); err != nil {
		t.Fatalf("CreateTopic once space is back: %v", err)
	}
}

func TestRemoveNewPartitionsTakesBackOnlyThePartitionsJustAdded(t *testing.T) {
	s := openStore(t, t.TempDir())
	created, err := s.CreateTopic(ctx, CreateTopicRequest{Name: "t", Partitions: 2, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePartitions(ctx, "t", 5, nil, false); err != nil {
		t.Fatal(err)
	}
	other := created.ID
	other[0]++
	for _, bad := range []struct {
		id          TopicID
		from, count int32
	}{
		{other, 2, 5},      // another incarnation of the name
		{created.ID, 2, 6}, // the topic grew again meanwhile
		{created.ID, 0, 5}, // every partition
	} {
		if err := s.RemoveNewPartitions(ctx, "t", bad.id, bad.from, bad.count); err == nil {
			t.Fatalf("RemoveNewPartitions(%v, %d, %d) succeeded", bad.id, bad.from, bad.count)
		}
	}
	if err := s.RemoveNewPartitions(ctx, "t", created.ID, 2, 5); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Topic("t"); len(got.Partitions) != 2 {
		t.Fatalf("topic has %d partitions after taking back 3 of 5, want 2", len(got.Partitions))
	}
}

func TestInternalFollowsTheTopicNameAsInKafka(t *testing.T) {
	s := openStore(t, t.TempDir())
	for name, internal := range map[string]bool{"__consumer_offsets": true, "__transaction_state": true, "__other": false, "orders": false} {
		got, err := s.CreateTopic(ctx, CreateTopicRequest{Name: name, Partitions: 1, ReplicationFactor: 1, Internal: !internal})
		if err != nil {
			t.Fatal(err)
		}
		if got.Internal != internal {
			t.Errorf("%s: Internal %v, want %v", name, got.Internal, internal)
		}
	}
}
