package embedded

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

// pollInterval is how often the Wait methods look again.
const pollInterval = 10 * time.Millisecond

// ControllerID is the broker holding the controller role, -1 while none
// does (no broker is connected to the ensemble). A paused controller
// keeps the role until its session expires, as in ZooKeeper mode.
func (c *Cluster) ControllerID() int32 {
	if c.ensemble != nil {
		return c.ensemble.ControllerID()
	}
	if s := c.brokers[0].runningStore(); s != nil {
		return s.ControllerID()
	}
	return -1
}

// Partition is a partition's replicas, leader, leader epoch and ISR as
// the cluster's metadata holds them (the ensemble's, or a single
// broker's store while it runs); false when the topic or partition is
// unknown.
func (c *Cluster) Partition(topic string, partition int32) (controller.Partition, bool) {
	t, ok := c.topic(topic)
	if !ok || partition < 0 || int(partition) >= len(t.Partitions) {
		return controller.Partition{}, false
	}
	return t.Partitions[partition], true
}

// LeaderOf is the partition's leader, -1 when it has none or is unknown.
func (c *Cluster) LeaderOf(topic string, partition int32) int32 {
	if p, ok := c.Partition(topic, partition); ok {
		return p.Leader
	}
	return -1
}

func (c *Cluster) topic(name string) (controller.Topic, bool) {
	if c.ensemble != nil {
		return c.ensemble.Topic(name)
	}
	if s := c.brokers[0].runningStore(); s != nil {
		return s.Topic(name)
	}
	return controller.Topic{}, false
}

// WaitForLeader waits until the partition has a leader that runs and is
// not paused, which has taken up the leadership (it answers ListOffsets
// at its leader epoch, its high watermark known), and which every broker
// that runs and is not paused names in Metadata, so that a client
// bootstrapping from any of them finds it. It returns the leader's
// broker.id, or ctx's error with what it was still waiting for.
func (c *Cluster) WaitForLeader(ctx context.Context, topic string, partition int32) (int32, error) {
	var leader int32 = -1
	err := poll(ctx, func() error {
		p, ok := c.Partition(topic, partition)
		if !ok {
			return fmt.Errorf("%s-%d does not exist", topic, partition)
		}
		if err := c.serving(ctx, topic, p); err != nil {
			return err
		}
		leader = p.Leader
		return c.agree(ctx, topic, map[int32]controller.Partition{partition: p}, false)
	})
	if err != nil {
		return -1, fmt.Errorf("embedded: wait for a leader of %s-%d: %w", topic, partition, err)
	}
	return leader, nil
}

// WaitInSync waits until every partition of the topics has a serving
// leader (as WaitForLeader) and all its replicas in its ISR, and every
// broker that runs and is not paused reports so in Metadata: the state
// after which a test's reads see every acknowledged record whichever
// broker they go to. It returns ctx's error with what it was still
// waiting for.
func (c *Cluster) WaitInSync(ctx context.Context, topics ...string) error {
	err := poll(ctx, func() error {
		for _, name := range topics {
			t, ok := c.topic(name)
			if !ok {
				return fmt.Errorf("topic %s does not exist", name)
			}
			want := map[int32]controller.Partition{}
			for _, p := range t.Partitions {
				if !sameSet(p.ISR, p.Replicas) {
					return fmt.Errorf("%s-%d has replicas %v and ISR %v", name, p.Partition, p.Replicas, p.ISR)
				}
				if err := c.serving(ctx, name, p); err != nil {
					return err
				}
				want[p.Partition] = p
			}
			if err := c.agree(ctx, name, want, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("embedded: wait for %v to be in sync: %w", topics, err)
	}
	return nil
}

// poll calls fn every pollInterval until it returns nil or ctx ends,
// then returns ctx's error with fn's last.
func poll(ctx context.Context, fn func() error) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		err := fn()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// serving checks that p's leader runs, is not paused and answers
// ListOffsets for p at its leader epoch.
func (c *Cluster) serving(ctx context.Context, topic string, p controller.Partition) error {
	b := c.Broker(p.Leader)
	switch {
	case p.Leader < 0:
		return fmt.Errorf("%s-%d has no leader", topic, p.Partition)
	case b == nil || !b.Running() || b.Paused():
		return fmt.Errorf("%s-%d is led by broker %d, which is not running or paused", topic, p.Partition, p.Leader)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version = 4
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.Timestamp = p.Partition, p.LeaderEpoch, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := ask(ctx, b, req)
	if err != nil {
		return fmt.Errorf("broker %d: %w", p.Leader, err)
	}
	for _, t := range resp.(*kmsg.ListOffsetsResponse).Topics {
		for _, rp := range t.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				return fmt.Errorf("broker %d, leader of %s-%d at epoch %d, answers ListOffsets with %w", p.Leader, topic, p.Partition, p.LeaderEpoch, err)
			}
			return nil
		}
	}
	return fmt.Errorf("broker %d answered ListOffsets without %s-%d", p.Leader, topic, p.Partition)
}

// agree checks that every broker that runs and is not paused answers
// Metadata for topic with want's leaders and leader epochs, and with its
// ISRs too when isr is set.
func (c *Cluster) agree(ctx context.Context, topic string, want map[int32]controller.Partition, isr bool) error {
	for _, b := range c.brokers {
		if !b.Running() || b.Paused() {
			continue
		}
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 9
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		req.AllowAutoTopicCreation = false
		resp, err := ask(ctx, b, req)
		if err != nil {
			return fmt.Errorf("broker %d: %w", b.id, err)
		}
		seen := 0
		for _, t := range resp.(*kmsg.MetadataResponse).Topics {
			for _, p := range t.Partitions {
				w, ok := want[p.Partition]
				if !ok {
					continue
				}
				seen++
				if p.Leader != w.Leader || p.LeaderEpoch != w.LeaderEpoch || isr && !sameSet(p.ISR, w.ISR) {
					return fmt.Errorf("broker %d reports %s-%d led by %d at epoch %d with ISR %v, not by %d at epoch %d with ISR %v",
						b.id, topic, p.Partition, p.Leader, p.LeaderEpoch, p.ISR, w.Leader, w.LeaderEpoch, w.ISR)
				}
			}
		}
		if seen != len(want) {
			return fmt.Errorf("broker %d reports %d of the %d partitions of %s asked for", b.id, seen, len(want), topic)
		}
	}
	return nil
}

// ask sends req to the broker at addr over a connection of its own.
func ask(ctx context.Context, b *Broker, req kmsg.Request) (kmsg.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addr, dial := b.peer()
	c, err := wire.DialWith(ctx, dial, addr, "samsa-embedded")
	if err != nil {
		return nil, err
	}
	defer c.Close()
	resp, err := c.Request(ctx, req)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer from %s: %w", addr, err)
	}
	return resp, err
}

func sameSet(a, b []int32) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// peer is where and how other brokers reach b: the address of its
// inter-broker listener and its own peer dialer, so the cluster's
// inspections work whatever security the listeners have (TLS, SASL).
func (b *Broker) peer() (addr string, dial wire.DialFunc) {
	b.mu.Lock()
	n := b.node
	b.mu.Unlock()
	if n == nil {
		return b.Addr(), nil
	}
	name, addrs := b.cfg.InterBrokerListener().Name, n.Addrs()
	for i, l := range b.cfg.Listeners {
		if l.Name == name && i < len(addrs) {
			return addrs[i], n.Broker().PeerDial()
		}
	}
	return b.Addr(), n.Broker().PeerDial()
}
