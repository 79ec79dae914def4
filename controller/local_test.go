package controller

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var ctx = context.Background()

func openStore(t *testing.T, dir string) *LocalStore {
	t.Helper()
	s, err := NewLocalStore(dir, 1, Broker{ID: 1, Host: "127.0.0.1", Port: 9092}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestTopicsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	created, err := s.CreateTopic(ctx, CreateTopicRequest{Name: "orders", Partitions: 3, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "1000"}})
	if err != nil {
		t.Fatal(err)
	}
	if created.ID.IsZero() || len(created.Partitions) != 3 || created.Partitions[2].Leader != 1 {
		t.Fatalf("created %+v", created)
	}
	if err := s.CreatePartitions(ctx, "orders", 5, nil, false); err != nil {
		t.Fatal(err)
	}
	clusterID := s.ClusterID()
	s.Close()

	r := openStore(t, dir)
	got, ok := r.Topic("orders")
	if !ok || got.ID != created.ID || len(got.Partitions) != 5 || got.Configs["retention.ms"] != "1000" {
		t.Fatalf("after reopen: %+v ok=%v", got, ok)
	}
	if byID, ok := r.TopicByID(created.ID); !ok || byID.Name != "orders" {
		t.Fatalf("TopicByID after reopen: %+v %v", byID, ok)
	}
	if r.ClusterID() != clusterID || len(clusterID) != 22 {
		t.Fatalf("cluster id %q then %q", clusterID, r.ClusterID())
	}
	if err := r.DeleteTopic(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, ok := openStore(t, dir).Topic("orders"); ok {
		t.Fatal("deleted topic is back after reopen")
	}
}

func TestValidateOnlyChangesNothing(t *testing.T) {
	s := openStore(t, t.TempDir())
	if _, err := s.CreateTopic(ctx, CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1, ValidateOnly: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Topic("t"); ok {
		t.Fatal("validate-only created the topic")
	}
	s.CreateTopic(ctx, CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1})
	if err := s.CreatePartitions(ctx, "t", 4, nil, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Topic("t"); len(got.Partitions) != 1 {
		t.Fatalf("validate-only CreatePartitions made %d partitions", len(got.Partitions))
	}
}

func TestCreateTopicErrors(t *testing.T) {
	s := openStore(t, t.TempDir())
	s.CreateTopic(ctx, CreateTopicRequest{Name: "a.b", Partitions: 1, ReplicationFactor: 1})
	for _, tc := range []struct {
		req  CreateTopicRequest
		want error
	}{
		{CreateTopicRequest{Name: "a.b", Partitions: 1, ReplicationFactor: 1}, ErrTopicExists},
		{CreateTopicRequest{Name: "a_b", Partitions: 1, ReplicationFactor: 1}, ErrInvalidTopicName},
		{CreateTopicRequest{Name: "", Partitions: 1, ReplicationFactor: 1}, ErrInvalidTopicName},
		{CreateTopicRequest{Name: ".", Partitions: 1, ReplicationFactor: 1}, ErrInvalidTopicName},
		{CreateTopicRequest{Name: "..", Partitions: 1, ReplicationFactor: 1}, ErrInvalidTopicName},
		{CreateTopicRequest{Name: "has space", Partitions: 1, ReplicationFactor: 1}, ErrInvalidTopicName},
		{CreateTopicRequest{Name: "slash/", Partitions: 1, ReplicationFactor: 1}, ErrInvalidTopicName},
		{CreateTopicRequest{Name: strings.Repeat("x", 250), Partitions: 1, ReplicationFactor: 1}, ErrInvalidTopicName},
		{CreateTopicRequest{Name: "p0", Partitions: 0, ReplicationFactor: 1}, ErrInvalidPartitions},
		{CreateTopicRequest{Name: "r0", Partitions: 1, ReplicationFactor: 0}, ErrInvalidReplication},
		{CreateTopicRequest{Name: "r3", Partitions: 1, ReplicationFactor: 3}, ErrInvalidReplication},
		{CreateTopicRequest{Name: "as1", Assignment: [][]int32{{1, 1}}}, ErrInvalidAssignment},
		{CreateTopicRequest{Name: "as2", Assignment: [][]int32{{7}}}, ErrInvalidAssignment},
		{CreateTopicRequest{Name: "as3", Assignment: [][]int32{{}}}, ErrInvalidAssignment},
	} {
		if _, err := s.CreateTopic(ctx, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("CreateTopic(%q, %d, %d, %v) = %v, want %v", tc.req.Name, tc.req.Partitions, tc.req.ReplicationFactor, tc.req.Assignment, err, tc.want)
		}
	}
	if _, err := s.CreateTopic(ctx, CreateTopicRequest{Name: strings.Repeat("x", 249), Partitions: 1, ReplicationFactor: 1}); err != nil {
		t.Errorf("249-character name: %v", err)
	}
	if _, err := s.CreateTopic(ctx, CreateTopicRequest{Name: "explicit", Assignment: [][]int32{{1}, {1}}}); err != nil {
		t.Errorf("explicit assignment: %v", err)
	}
	if err := s.CreatePartitions(ctx, "a.b", 1, nil, false); !errors.Is(err, ErrInvalidPartitions) {
		t.Errorf("shrinking partitions: %v", err)
	}
	if err := s.CreatePartitions(ctx, "nope", 3, nil, false); !errors.Is(err, ErrUnknownTopic) {
		t.Errorf("unknown topic: %v", err)
	}
	if err := s.CreatePartitions(ctx, "a.b", 3, [][]int32{{1}}, false); !errors.Is(err, ErrInvalidAssignment) {
		t.Errorf("assignment count mismatch: %v", err)
	}
}

func TestProducerIDsNeverRepeat(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	a, _ := s.AllocateProducerIDs(ctx, 1000)
	b, _ := s.AllocateProducerIDs(ctx, 1000)
	s.Close()
	c, _ := openStore(t, dir).AllocateProducerIDs(ctx, 1000)
	if !(b >= a+1000 && c >= b+1000) {
		t.Fatalf("blocks start at %d, %d, %d: they overlap", a, b, c)
	}
}

func TestCorruptOrForeignFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	openStore(t, dir).Close()
	if _, err := NewLocalStore(dir, 2, Broker{ID: 2}, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "broker.id 1") {
		t.Fatalf("another broker's directory: %v", err)
	}
	os.WriteFile(filepath.Join(dir, MetadataFile), []byte("{not json"), 0o644)
	if _, err := NewLocalStore(dir, 1, Broker{ID: 1}, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("corrupt file: %v", err)
	}
}

func TestSubscribersSeeChangesInOrder(t *testing.T) {
	s := openStore(t, t.TempDir())
	var mu sync.Mutex
	var seen []Change
	cancel := s.Subscribe(func(c Change) {
		// Calling back into the store must not deadlock.
		s.Topics()
		mu.Lock()
		seen = append(seen, c)
		mu.Unlock()
	})
	s.CreateTopic(ctx, CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1})
	s.SetTopicConfigs(ctx, "t", map[string]string{"cleanup.policy": "compact"})
	s.SetBrokerConfigs(ctx, -1, map[string]string{"log.retention.ms": "5"})
	s.DeleteTopic(ctx, "t")
	want := []Change{{Kind: TopicCreated, Topic: "t"}, {Kind: TopicConfigChanged, Topic: "t"}, {Kind: BrokerConfigChanged, BrokerID: -1}, {Kind: TopicDeleted, Topic: "t"}}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	s.CreateTopic(ctx, CreateTopicRequest{Name: "after", Partitions: 1, ReplicationFactor: 1})
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(want) {
		t.Fatalf("saw %+v, want %+v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("change %d: %+v, want %+v", i, seen[i], want[i])
		}
	}
	if got := s.BrokerConfigs(-1)["log.retention.ms"]; got != "5" {
		t.Fatalf("broker config %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := openStore(t, t.TempDir())
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := "t" + string(rune('a'+i))
			s.CreateTopic(ctx, CreateTopicRequest{Name: name, Partitions: 2, ReplicationFactor: 1})
			s.Topics()
			s.AllocateProducerIDs(ctx, 10)
			s.CreatePartitions(ctx, name, 3, nil, false)
		}(i)
	}
	wg.Wait()
	if n := len(s.Topics()); n != 8 {
		t.Fatalf("%d topics", n)
	}
}

func TestEntityConfigsSurviveReopenAndKeepOtherKeys(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	changes := make(chan Change, 16)
	s.Subscribe(func(c Change) { changes <- c })
	alice := UserEntity("alice").Path()
	if err := s.AlterEntityConfigs(ctx, alice, map[string]string{"SCRAM-SHA-256": "salt=eA==,stored_key=eA==,server_key=eA==,iterations=4096"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AlterEntityConfigs(ctx, alice, map[string]string{"producer_byte_rate": "1024"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AlterEntityConfigs(ctx, "users/alice/clients/app", map[string]string{"consumer_byte_rate": "10"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-changes; got.Kind != EntityConfigChanged || got.Entity != alice {
		t.Fatalf("first change %+v", got)
	}
	s.Close()

	r := openStore(t, dir)
	if got := r.EntityConfigs(alice); len(got) != 2 || got["producer_byte_rate"] != "1024" {
		t.Fatalf("after reopen: %v", got)
	}
	if err := r.AlterEntityConfigs(ctx, "users/alice/clients/app", nil, []string{"consumer_byte_rate"}); err != nil {
		t.Fatal(err)
	}
	if got := r.ListEntityConfigs(EntityUsers); len(got) != 1 || got[alice] == nil {
		t.Fatalf("users after removing the client entity's last key: %v", got)
	}
	if err := r.AlterEntityConfigs(ctx, "topics/x", map[string]string{"a": "b"}, nil); err == nil {
		t.Fatal("an unknown entity type was accepted")
	}
}
