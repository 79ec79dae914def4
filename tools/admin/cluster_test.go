package admin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/samsa-io/samsa/broker/embedded"
)

// clusterDoc is `cluster -o json`, as a script reads it.
type clusterDoc struct {
	ClusterID  string `json:"cluster_id"`
	Controller int32  `json:"controller"`
	Brokers    []struct {
		ID   int32   `json:"id"`
		Host string  `json:"host"`
		Port int32   `json:"port"`
		Rack *string `json:"rack"`
	} `json:"brokers"`
}

// startRackedCluster is three brokers, 1 and 2 in racks of their own and
// 3 in none.
func startRackedCluster(t *testing.T) *embedded.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	c, err := embedded.Start(ctx, embedded.Config{Brokers: 3, BrokerOverrides: map[int32]map[string]string{
		1: {"broker.rack": "rack-a"},
		2: {"broker.rack": "rack-b"},
	}})
	if err != nil {
		t.Fatalf("start 3 brokers: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestClusterShowsItsIDTheControllerAndEveryBrokerWithItsRack(t *testing.T) {
	c := startRackedCluster(t)
	s := c.Seeds()
	id, controller := c.ClusterID(), c.ControllerID()
	if id == "" || controller < 1 {
		t.Fatalf("the cluster reports ID %q and controller %d", id, controller)
	}

	want := []string{
		"Cluster ID: " + id,
		fmt.Sprintf("Controller: %d", controller),
		"",
		"BROKER ADDRESS RACK",
		"1 " + c.Broker(1).Addr() + " rack-a",
		"2 " + c.Broker(2).Addr() + " rack-b",
		"3 " + c.Broker(3).Addr() + " -",
	}
	if got := lines(ok(t, s, "cluster")); !slices.Equal(got, want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var doc clusterDoc
	decode(t, ok(t, s, "-o", "json", "cluster"), &doc)
	if doc.ClusterID != id || doc.Controller != controller || len(doc.Brokers) != 3 {
		t.Fatalf("JSON %+v: want cluster %s, controller %d, 3 brokers", doc, id, controller)
	}
	for i, b := range doc.Brokers {
		addr := fmt.Sprintf("%s:%d", b.Host, b.Port)
		if b.ID != int32(i+1) || addr != c.Broker(b.ID).Addr() {
			t.Errorf("JSON broker %d: id %d at %s, want broker %d at %s", i, b.ID, addr, i+1, c.Broker(int32(i+1)).Addr())
		}
	}
	if r := doc.Brokers[0].Rack; r == nil || *r != "rack-a" {
		t.Errorf("JSON broker 1's rack %v, want rack-a", r)
	}
	if r := doc.Brokers[2].Rack; r != nil {
		t.Errorf("JSON broker 3's rack %q, want null (it has none)", *r)
	}

	// A broker gone is gone from the list; the controller moves if it was
	// the one.
	gone := int32(3)
	if controller == 3 {
		gone = 2
	}
	if err := c.Kill(gone); err != nil {
		t.Fatal(err)
	}
	checkFor(t, "the cluster without the killed broker", func() error {
		var doc clusterDoc
		decode(t, ok(t, c.Seeds(), "-o", "json", "cluster"), &doc)
		var ids []int32
		for _, b := range doc.Brokers {
			ids = append(ids, b.ID)
		}
		if len(ids) != 2 || slices.Contains(ids, gone) || doc.Controller != c.ControllerID() {
			return fmt.Errorf("brokers %v, controller %d (the cluster's is %d)", ids, doc.Controller, c.ControllerID())
		}
		return nil
	})
}

// The marks and filters of describe, on partitions whose placement the
// test chooses (--replica-assignment), after a broker is killed:
// kafka-topics.sh's --under-replicated-partitions,
// --unavailable-partitions and the min.insync.replicas ones.
func TestTopicsDescribeMarksAndFiltersPartitionsAfterABrokerDies(t *testing.T) {
	c := startCluster(t, 3)
	s := c.Seeds()
	// spread: every partition on two brokers, two of them on broker 3.
	ok(t, s, "topics", "create", "spread", "--replica-assignment", "1:2,2:3,3:1", "--config", "min.insync.replicas=2")
	// lonely: its one partition on broker 3 only.
	ok(t, s, "topics", "create", "lonely", "--replica-assignment", "3")
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.WaitInSync(ctx, "spread", "lonely"); err != nil {
		t.Fatal(err)
	}

	healthy := lines(ok(t, s, "topics", "describe", "spread", "lonely", "--under-replicated-partitions"))
	if len(healthy) != 1 {
		t.Errorf("--under-replicated-partitions of an in-sync cluster:\n%s\nwant the header only", strings.Join(healthy, "\n"))
	}

	if err := c.Kill(3); err != nil {
		t.Fatal(err)
	}
	s = c.Seeds()
	// The ensemble ends a killed broker's session at once, and the
	// controller takes it out of every ISR it was in.
	var doc describeDoc
	checkFor(t, "broker 3 out of every ISR", func() error {
		decode(t, ok(t, s, "-o", "json", "topics", "describe", "lonely", "spread"), &doc)
		for _, d := range doc.Topics {
			for _, p := range d.Partitions {
				if slices.Contains(p.ISR, 3) && p.Leader != -1 {
					return fmt.Errorf("%s-%d: leader %d, ISR %v", d.Name, p.Partition, p.Leader, p.ISR)
				}
				if p.Leader == 3 {
					return fmt.Errorf("%s-%d still led by broker 3", d.Name, p.Partition)
				}
			}
		}
		return nil
	})

	type marks struct {
		leader                                        int32
		offline                                       []int32
		underReplicated, offlineMark, atMin, underMin bool
	}
	got := map[string]marks{}
	for _, d := range doc.Topics {
		for _, p := range d.Partitions {
			got[fmt.Sprintf("%s-%d", d.Name, p.Partition)] = marks{p.Leader, p.OfflineReplicas, p.UnderReplicated, p.Offline, p.AtMinISR, p.UnderMinISR}
		}
	}
	check := func(name string, under, offline, underMin bool) {
		t.Helper()
		m := got[name]
		if m.underReplicated != under || m.offlineMark != offline || m.underMin != underMin {
			t.Errorf("%s: %+v; want under-replicated %v, offline %v, under min ISR %v", name, m, under, offline, underMin)
		}
		if !slices.Equal(m.offline, []int32{3}) {
			t.Errorf("%s: offline replicas %v, want [3]", name, m.offline)
		}
	}
	if m := got["spread-0"]; m.underReplicated || m.offlineMark || !m.atMin || len(m.offline) != 0 {
		t.Errorf("spread-0 (on 1 and 2): %+v; want healthy, at min ISR 2", m)
	}
	check("spread-1", true, false, true)
	check("spread-2", true, false, true)
	check("lonely-0", false, true, true)
	if l := got["lonely-0"].leader; l != -1 {
		t.Errorf("lonely-0's leader %d, want none (-1)", l)
	}

	// The table marks them; the filters keep only what they name, in one
	// table with the topic in front, as kafka-topics.sh.
	table := lines(ok(t, s, "topics", "describe", "lonely"))
	if len(table) != 3 || table[2] != "0 none 3 3 3 offline" {
		t.Errorf("describe lonely:\n%s\nwant partition 0: no leader, ISR and offline replica 3, marked offline", strings.Join(table, "\n"))
	}
	// After the kill: spread-1 is led by 2 alone, spread-2 by 1 alone.
	for _, c := range []struct {
		flag string
		want []string
	}{
		{"--under-replicated-partitions", []string{
			"spread 1 2 2,3 2 3 under-replicated,under-min-isr",
			"spread 2 1 3,1 1 3 under-replicated,under-min-isr",
		}},
		{"--unavailable-partitions", []string{"lonely 0 none 3 3 3 offline"}},
		{"--under-min-isr-partitions", []string{
			"lonely 0 none 3 3 3 offline",
			"spread 1 2 2,3 2 3 under-replicated,under-min-isr",
			"spread 2 1 3,1 1 3 under-replicated,under-min-isr",
		}},
		// lonely's ISR keeps its last member, 3, as Kafka's does: one, its
		// min.insync.replicas.
		{"--at-min-isr-partitions", []string{"lonely 0 none 3 3 3 offline", "spread 0 1 1,2 1,2 - -"}},
	} {
		want := append([]string{"TOPIC PARTITION LEADER REPLICAS ISR OFFLINE STATUS"}, c.want...)
		if got := lines(ok(t, s, "topics", "describe", c.flag)); !slices.Equal(got, want) {
			t.Errorf("describe %s:\n%s\nwant:\n%s", c.flag, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
