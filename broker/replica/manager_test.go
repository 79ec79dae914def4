package replica

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/controller"
	plog "github.com/samsa-io/samsa/log"
)

// testTable is a Manager on a fresh log directory with the single-broker
// metadata store, as a broker builds it.
type testTable struct {
	*Manager
	cfg   *config.Broker
	store *controller.LocalStore
}

// newTestTable builds a Manager with the default configuration and
// static overrides ("key=value"). Everything is closed when the test
// ends.
func newTestTable(t testing.TB, overrides ...string) *testTable {
	t.Helper()
	cfg, _, err := config.Load("", append([]string{"log.dirs=" + t.TempDir()}, overrides...))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs, err := plog.OpenManager(plog.ManagerConfig{
		Dirs:                   cfg.LogDirs,
		RetentionCheckInterval: time.Hour,
		FlushCheckInterval:     time.Second,
		Logger:                 zerolog.Nop(),
		Now:                    time.Now,
	})
	if err != nil {
		t.Fatalf("open logs: %v", err)
	}
	self := controller.Broker{ID: cfg.BrokerID, Host: "127.0.0.1", Port: 9092}
	store, err := controller.NewLocalStore(cfg.LogDirs[0], cfg.BrokerID, self, zerolog.Nop())
	if err != nil {
		logs.Close()
		t.Fatalf("open store: %v", err)
	}
	m := New(Options{
		Config: cfg,
		EffectiveConfig: func() *config.Broker {
			return cfg.WithDynamic(store.BrokerConfigs(-1), store.BrokerConfigs(cfg.BrokerID))
		},
		Store:  store,
		Logs:   logs,
		Logger: zerolog.Nop(),
		Now:    time.Now,
	})
	t.Cleanup(func() {
		m.Close()
		if err := logs.Close(); err != nil {
			t.Errorf("close logs: %v", err)
		}
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	if err := m.Sync(); err != nil {
		t.Fatalf("sync: %v", err)
	}
	m.Start()
	return &testTable{Manager: m, cfg: cfg, store: store}
}

// createTopic creates a topic in the store and syncs the table, as
// CreateTopics does.
func (tt *testTable) createTopic(t testing.TB, name string, partitions int32) {
	t.Helper()
	if _, err := tt.store.CreateTopic(context.Background(), controller.CreateTopicRequest{
		Name: name, Partitions: partitions, ReplicationFactor: 1,
	}); err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	if err := tt.Sync(); err != nil {
		t.Fatalf("sync after creating %s: %v", name, err)
	}
}

// setBrokerConfig sets one of this broker's dynamic configs and syncs the
// table, as IncrementalAlterConfigs does.
func (tt *testTable) setBrokerConfig(t testing.TB, key, value string) {
	t.Helper()
	if err := tt.store.SetBrokerConfigs(context.Background(), tt.cfg.BrokerID, map[string]string{key: value}); err != nil {
		t.Fatalf("%s=%s: %v", key, value, err)
	}
	if err := tt.Sync(); err != nil {
		t.Fatalf("sync after %s=%s: %v", key, value, err)
	}
}

// A topic ID (KIP-516) names the topic the table holds under it: none
// once the topic is deleted, the new topic once a topic of the same name
// is created again.
func TestTopicNameResolvesIDsAsTheTableHoldsThem(t *testing.T) {
	m := newTestTable(t)
	m.createTopic(t, "orders", 1)
	m.createTopic(t, "payments", 1)
	first, ok := m.Topic("orders")
	if !ok {
		t.Fatal("orders is not in the table")
	}
	if name, ok := m.TopicName(first.ID); !ok || name != "orders" {
		t.Fatalf("orders' ID names %q (%v)", name, ok)
	}
	if err := m.store.DeleteTopic(context.Background(), "orders"); err != nil {
		t.Fatal(err)
	}
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
	if name, ok := m.TopicName(first.ID); ok {
		t.Fatalf("a deleted topic's ID names %q", name)
	}
	m.createTopic(t, "orders", 1)
	again, _ := m.Topic("orders")
	if again.ID == first.ID {
		t.Fatal("the topic created again kept its old ID")
	}
	if name, ok := m.TopicName(again.ID); !ok || name != "orders" {
		t.Fatalf("the new orders' ID names %q (%v)", name, ok)
	}
	if name, ok := m.TopicName(first.ID); ok {
		t.Fatalf("the old orders' ID names %q", name)
	}
	payments, _ := m.Topic("payments")
	if name, ok := m.TopicName(payments.ID); !ok || name != "payments" {
		t.Fatalf("payments' ID names %q (%v)", name, ok)
	}
}
