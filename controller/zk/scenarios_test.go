package zk

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/controller/storetest"
)

// The scenarios every clustered store passes (package storetest), here
// against a real ZooKeeper, with checks of the ZooKeeper layout they
// leave behind.
func TestScenarios(t *testing.T) {
	storetest.Run(t, newScenarioCluster, map[string]func(*testing.T, storetest.Cluster){
		"BrokersRegisterAndAgreeOnOneController":     registrationAndControllerZnodes,
		"CreateTopicPlacesReplicasAndElectsLeaders":  topicZnodes,
		"ControllerRoleMovesWhenTheControllerDies":   newControllerEpochZnodes,
		"AlterPartitionWithAStaleEpochIsRefused":     staleISRChangeAfterAnotherWriter,
		"TopicDeletionCompletesThroughTheController": deletedTopicZnodes,
		"ConfigsReachEveryBroker":                    configZnodes,
		"ProducerIDBlocksNeverOverlapAcrossStores":   producerIDBlockZnode,
	})
}

// scenarioCluster is a testCluster as storetest drives it.
type scenarioCluster struct{ *testCluster }

func newScenarioCluster(t *testing.T, n int, opts storetest.Options) storetest.Cluster {
	return scenarioCluster{newCluster(t, n, func(cfg *Config) {
		if opts.AutoLeaderRebalance {
			cfg.AutoLeaderRebalance = true
			cfg.LeaderImbalanceCheckInterval = 200 * time.Millisecond
		}
	})}
}

func (c scenarioCluster) Store(id int32) controller.Store {
	if b := c.brokers[id]; b != nil {
		return b.Store
	}
	return nil
}

func (c scenarioCluster) Running() []int32 { return slices.Sorted(maps.Keys(c.brokers)) }

func (c scenarioCluster) Controller() int32 { return c.controller().cfg.Self.ID }

func (c scenarioCluster) ControllerEpoch() int32 { return c.controller().ctrl.epoch }

func (c scenarioCluster) Kill(id int32) { c.kill(id) }

func (c scenarioCluster) Stop(id int32) {
	c.brokers[id].Close()
	delete(c.brokers, id)
}

func (c scenarioCluster) Start(id int32) controller.Store { return c.start(id).Store }

// AfterLeaderImbalanceCheck: the check runs every 200 ms by itself.
func (c scenarioCluster) AfterLeaderImbalanceCheck() {}

func registrationAndControllerZnodes(t *testing.T, sc storetest.Cluster) {
	c := sc.(scenarioCluster)
	raw := c.raw()
	data, _, err := raw.get("/brokers/ids/2")
	if err != nil {
		t.Fatal(err)
	}
	var reg map[string]any
	json.Unmarshal(data, &reg)
	if reg["version"] != 5.0 || fmt.Sprint(reg["endpoints"]) != "[PLAINTEXT://127.0.0.1:9092]" || reg["host"] != "127.0.0.1" || reg["port"] != 9092.0 || reg["jmx_port"] != -1.0 {
		t.Fatalf("registration %s", data)
	}
	data, _, _ = raw.get("/controller")
	var cn map[string]any
	json.Unmarshal(data, &cn)
	if cn["version"] != 1.0 || cn["brokerid"] != float64(c.Controller()) {
		t.Fatalf("/controller %s", data)
	}
	if data, _, _ := raw.get("/controller_epoch"); string(data) != "1" {
		t.Fatalf("/controller_epoch %q", data)
	}
	id := c.Store(1).ClusterID()
	if data, _, _ := raw.get("/cluster/id"); !strings.Contains(string(data), `"version":"1"`) || !strings.Contains(string(data), id) {
		t.Fatalf("/cluster/id %s", data)
	}
}

func topicZnodes(t *testing.T, sc storetest.Cluster) {
	c := sc.(scenarioCluster)
	created, _ := c.Store(1).Topic("orders")
	raw := c.raw()
	data, _, _ := raw.get("/brokers/topics/orders")
	var tn map[string]any
	json.Unmarshal(data, &tn)
	if tn["version"] != 2.0 || tn["topic_id"] == nil || tn["adding_replicas"] == nil || len(tn["partitions"].(map[string]any)) != 6 {
		t.Fatalf("topic znode %s", data)
	}
	data, _, _ = raw.get("/brokers/topics/orders/partitions/0/state")
	var sn map[string]any
	json.Unmarshal(data, &sn)
	if sn["version"] != 1.0 || sn["leader"] != float64(created.Partitions[0].Leader) || sn["leader_epoch"] != 0.0 || sn["controller_epoch"] != 1.0 || len(sn["isr"].([]any)) != 3 {
		t.Fatalf("state znode %s", data)
	}
	if data, _, _ := raw.get("/config/topics/orders"); string(data) != `{"version":1,"config":{"retention.ms":"1000"}}` {
		t.Fatalf("config znode %s", data)
	}
}

func newControllerEpochZnodes(t *testing.T, sc storetest.Cluster) {
	c := sc.(scenarioCluster)
	raw := c.raw()
	if data, _, _ := raw.get("/controller_epoch"); string(data) != "2" {
		t.Fatalf("/controller_epoch %q", data)
	}
	data, _, _ := raw.get("/brokers/topics/t/partitions/0/state")
	if !strings.Contains(string(data), `"controller_epoch":2`) {
		t.Fatalf("state written by the new controller: %s", data)
	}
}

// staleISRChangeAfterAnotherWriter: someone else changed the state (the
// controller, played by a raw write): the leader's change from the state
// it read fails, and its view shows the new state at once, so that it can
// retry from it.
func staleISRChangeAfterAnotherWriter(t *testing.T, sc storetest.Cluster) {
	c := sc.(scenarioCluster)
	leader := c.brokers[2]
	got, _ := partitionOf(leader, "t", 0)
	raw := c.raw()
	data, st, _ := raw.get("/brokers/topics/t/partitions/0/state")
	changed, _ := decodePartitionState(data, st)
	changed.ISR = []int32{2, 1, 3}
	if _, err := raw.set("/brokers/topics/t/partitions/0/state", changed.encode(), st.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.AlterPartition(testCtx(t), "t", 0, got.LeaderEpoch, got.PartitionEpoch, []int32{2}); !errors.Is(err, controller.ErrStalePartition) {
		t.Fatalf("change from a replaced state: %v", err)
	}
	if now, _ := partitionOf(leader, "t", 0); now.PartitionEpoch != st.Version+1 || len(now.ISR) != 3 {
		t.Fatalf("after a stale change the leader's view shows %+v", now)
	}
}

// deletedTopicZnodes deletes the topic the scenario created again, and
// checks that nothing of it is left in ZooKeeper.
func deletedTopicZnodes(t *testing.T, sc storetest.Cluster) {
	c := sc.(scenarioCluster)
	if err := c.brokers[1].DeleteTopic(testCtx(t), "doomed"); err != nil {
		t.Fatal(err)
	}
	raw := c.raw()
	for _, p := range []string{"/brokers/topics/doomed", "/config/topics/doomed", "/admin/delete_topics/doomed"} {
		if ok, _, err := raw.exists(p); ok || err != nil {
			t.Fatalf("%s still exists (%v)", p, err)
		}
	}
}

func configZnodes(t *testing.T, sc storetest.Cluster) {
	c := sc.(scenarioCluster)
	raw := c.raw()
	for path, want := range map[string]string{
		"/config/topics/t":          `{"version":1,"config":{"retention.ms":"5"}}`,
		"/config/brokers/2":         `{"version":1,"config":{"log.cleaner.threads":"2"}}`,
		"/config/brokers/<default>": `{"version":1,"config":{}}`,
	} {
		if data, _, _ := raw.get(path); string(data) != want {
			t.Errorf("%s: %s, want %s", path, data, want)
		}
	}
	changes, _ := raw.children("/config/changes")
	if len(changes) != 4 {
		t.Fatalf("config change notifications %v, want one per change", changes)
	}
	data, _, _ := raw.get("/config/changes/" + slices.Min(changes))
	if string(data) != `{"entity_path":"topics/t","version":2}` {
		t.Fatalf("notification %s", data)
	}
}

func producerIDBlockZnode(t *testing.T, sc storetest.Cluster) {
	c := sc.(scenarioCluster)
	data, _, _ := c.raw().get(zkProducerIDBlockPath)
	if !strings.Contains(string(data), `"block_start":"`) || !strings.Contains(string(data), `"broker":1`) {
		t.Fatalf("producer id block znode %s", data)
	}
}
