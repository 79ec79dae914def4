package zk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	gozk "github.com/go-zookeeper/zk"
	"github.com/samsa-io/samsa/controller"
)

func TestEntityConfigsAreKafkasZnodesWithSanitizedNames(t *testing.T) {
	c := newCluster(t, 1)
	b := c.brokers[1]
	if err := b.AlterEntityConfigs(testCtx(t), controller.UserClientEntity("alice@example.com", "app 1*").Path(), map[string]string{"producer_byte_rate": "1024"}, nil); err != nil {
		t.Fatal(err)
	}
	raw := c.raw()
	data, _, err := raw.get("/config/users/alice%40example.com/clients/app%201%2A")
	if err != nil {
		t.Fatalf("the znode Kafka's tools read: %v", err)
	}
	var node struct {
		Version int               `json:"version"`
		Config  map[string]string `json:"config"`
	}
	if err := json.Unmarshal(data, &node); err != nil || node.Version != 1 || node.Config["producer_byte_rate"] != "1024" {
		t.Fatalf("znode %s: %v", data, err)
	}
	names, err := raw.children(zkConfigChangesPath)
	if err != nil {
		t.Fatal(err)
	}
	var notified bool
	for _, n := range names {
		d, _, _ := raw.get(zkConfigChangesPath + "/" + n)
		notified = notified || strings.Contains(string(d), `"entity_path":"users/alice%40example.com/clients/app%201%2A"`)
	}
	if !notified {
		t.Errorf("no /config/changes notification names the entity among %v", names)
	}
}

func TestEntityConfigsWrittenByKafkasToolsAreSeen(t *testing.T) {
	// Broker 1 watches them being written; broker 2 starts after and
	// reads them.
	c := newCluster(t, 1)
	raw := c.raw()
	// As kafka-configs.sh --zookeeper writes them.
	for path, data := range map[string]string{
		"/config/users/bob":             `{"version":1,"config":{"SCRAM-SHA-512":"salt=eA==,stored_key=eA==,server_key=eA==,iterations=8192"}}`,
		"/config/users/%3Cdefault%3E":   `{"version":1,"config":{}}`,
		"/config/clients/%3Cdefault%3E": `{"version":1,"config":{}}`,
		"/config/clients/batch":         `{"version":1,"config":{"consumer_byte_rate":"4096"}}`,
	} {
		if err := raw.ensure(path[:strings.LastIndexByte(path, '/')]); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.create(path, []byte(data), 0); err != nil {
			t.Fatal(err)
		}
	}
	c.start(2)
	c.everyBroker("entities read at start", func(b *testBroker) error {
		if got := b.EntityConfigs("users/bob"); got["SCRAM-SHA-512"] == "" {
			return fmt.Errorf("users/bob %v", got)
		}
		if got := b.ListEntityConfigs(controller.EntityClients); len(got) != 1 || got["clients/batch"]["consumer_byte_rate"] != "4096" {
			return fmt.Errorf("clients %v", got)
		}
		return nil
	})
	// A user created later by another writer, with a per-client entity.
	if err := raw.ensure("/config/users/carol/clients"); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.create("/config/users/carol/clients/etl", []byte(`{"version":1,"config":{"request_percentage":"25"}}`), 0); err != nil {
		t.Fatal(err)
	}
	c.everyBroker("a user's client entity created later", func(b *testBroker) error {
		if got := b.EntityConfigs("users/carol/clients/etl"); got["request_percentage"] != "25" {
			return fmt.Errorf("users/carol/clients/etl %v", got)
		}
		return nil
	})
	if err := raw.delete("/config/clients/batch", -1); err != nil {
		t.Fatal(err)
	}
	c.everyBroker("a deleted entity gone", func(b *testBroker) error {
		if got := b.ListEntityConfigs(controller.EntityClients); len(got) != 0 {
			return fmt.Errorf("clients %v", got)
		}
		return nil
	})
}

func TestSanitizeEntityNameIsKafkasSanitizer(t *testing.T) {
	for name, want := range map[string]string{
		"alice":            "alice",
		"a.b-c_d":          "a.b-c_d",
		"user@example.com": "user%40example.com",
		"app 1*":           "app%201%2A",
		"x/y~":             "x%2Fy%7E",
		"<default>":        "<default>",
		"é":                "%C3%A9",
	} {
		got := sanitizeEntityName(name)
		if got != want {
			t.Errorf("sanitize(%q) = %q, want %q", name, got, want)
		}
		if back := desanitizeEntityName(got); back != name {
			t.Errorf("desanitize(%q) = %q, want %q", got, back, name)
		}
	}
}

func TestControllerPurgesChangeNotificationsOlderThanFifteenMinutes(t *testing.T) {
	// The brokers' clock runs 20 minutes ahead, so notifications written
	// now are past Kafka's 15-minute expiry when the controller starts.
	c := newCluster(t, 0, func(cfg *Config) { cfg.Now = func() time.Time { return time.Now().Add(20 * time.Minute) } })
	raw := c.raw()
	if _, err := raw.conn.Create(raw.root, nil, 0, gozk.WorldACL(gozk.PermAll)); err != nil && !errors.Is(err, gozk.ErrNodeExists) {
		t.Fatal(err)
	}
	dirs := []string{zkConfigChangesPath, zkACLChangesPath, zkExtendedACLChangesPath}
	for _, dir := range dirs {
		if err := raw.ensure(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.create(dir+"/old_", []byte("x"), gozk.FlagSequence); err != nil {
			t.Fatal(err)
		}
	}
	c.start(1)
	checkFor(t, 10*time.Second, "expired notifications purged", func() error {
		for _, dir := range dirs {
			names, err := raw.children(dir)
			if err != nil {
				return err
			}
			if len(names) != 0 {
				return fmt.Errorf("%s still holds %v", dir, names)
			}
		}
		return nil
	})
}
