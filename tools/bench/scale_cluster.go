package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// scaleClusterPartitions is the partitions phase on three brokers and a
// ZooKeeper it starts (--cluster): a topic of --partitions partitions with
// RF 3 created, so that each broker holds all of them, then one broker
// that is not the controller stopped and started again: exec to its
// Metadata naming every leader, and to its return to every partition's
// ISR (it has caught up as a follower); its idle CPU and RSS afterwards.
// It returns zktest.ErrUnavailable when ZooKeeper is not installed.
func scaleClusterPartitions(ctx context.Context, o scaleOptions, dir string, logf func(string, ...any)) ([]scaleRow, error) {
	zk, err := launchZooKeeper(dir)
	if err != nil {
		return nil, err
	}
	defer zk.Stop()
	var brokers []*scaleBroker
	defer func() {
		// Brokers before ZooKeeper, all signalled at once: a controlled
		// shutdown goes through it.
		for _, b := range brokers {
			if b.p != nil {
				b.p.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		for _, b := range brokers {
			b.stop()
		}
	}()
	var addrs []string
	for id := 1; id <= 3; id++ {
		b, err := newScaleBroker(o.samsa, filepath.Join(dir, "broker-"+strconv.Itoa(id)), o.serveTimeout, o.overrides...)
		if err != nil {
			return nil, err
		}
		b.overrides = append([]string{"broker.id=" + strconv.Itoa(id), "zookeeper.connect=" + zk.Addr,
			"default.replication.factor=3", "min.insync.replicas=2", "offsets.topic.replication.factor=3"}, b.overrides...)
		brokers = append(brokers, b)
		if _, err := b.start(ctx, nil, o.serveTimeout); err != nil {
			return nil, err
		}
		addrs = append(addrs, b.addr)
	}
	cl, err := scaleClient(addrs)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := waitBrokers(ctx, cl, 3); err != nil {
		return nil, err
	}

	const topic = "scale-partitions"
	n := o.partitions
	answered, led, writable, err := createAndWriteEach(ctx, addrs, topic, n, 3)
	if err != nil {
		return nil, err
	}
	logf("cluster, %d partitions RF 3: CreateTopics answered after %v, leaders for all after %v, every partition acknowledged a write after %v", n, answered, led, writable)
	label := fmt.Sprintf("3 brokers, create %s partitions RF 3", fmtInt(n))
	rows := []scaleRow{
		durationRow(label+": CreateTopics sent → answered", answered, createTarget),
		durationRow(label+": sent → Metadata names every leader", led, 0),
		durationRow(label+": sent → every partition acknowledged a write", writable, createTarget),
	}

	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	meta, err := kmsg.NewPtrMetadataRequest().RequestWith(mctx, cl)
	cancel()
	if err != nil {
		return rows, err
	}
	restarted := brokers[0]
	for i, b := range brokers {
		if int32(i+1) != meta.ControllerID {
			restarted = b
			break
		}
	}
	id := restartedID(brokers, restarted)
	// Every partition's ISR holds all three brokers before the restart, so
	// that the restarted one's return is its own catching up.
	if err := waitInEveryISR(ctx, cl, topic, n, id, time.Now().Add(o.serveTimeout)); err != nil {
		return rows, err
	}
	stopped, clean := restarted.stop()
	t0 := time.Now()
	served, err := restarted.start(ctx, map[string]int{topic: n}, o.serveTimeout)
	if err != nil {
		return rows, err
	}
	label = fmt.Sprintf("3 brokers, restart one (not the controller) holding %s partitions", fmtInt(n))
	rows = append(rows, stopRow(label, stopped, clean),
		durationRow(label+": exec → its Metadata names every leader", served, restartTarget))
	// Back in every ISR: it has caught up as a follower. Not within
	// --serve-timeout is a finding, not a failure of the run.
	isr := scaleRow{Figure: label + ": exec → back in every partition's ISR", Target: "within --serve-timeout", Unit: "s"}
	if err := waitInEveryISR(ctx, cl, topic, n, id, t0.Add(o.serveTimeout)); err != nil {
		isr.Measured, isr.Verdict = err.Error(), fail
		logf("cluster: %v", err)
	} else {
		d := time.Since(t0)
		isr.Measured, isr.Value, isr.Verdict = fmtDuration(d), d.Seconds(), pass
	}
	rows = append(rows, isr)
	logf("cluster: broker %d stopped in %v (by itself: %v), served every leader %v after exec; ISR: %s", id, stopped, clean, served, isr.Measured)
	idle, wall, err := idleCPU(restarted.pid(), o.idle)
	if err != nil {
		return rows, err
	}
	rss, err := processRSSParts(restarted.pid())
	if err != nil {
		return rows, err
	}
	return append(rows,
		coreShareRow(label+": idle CPU afterwards (followers' fetches included)", idle, wall, idleCPUTarget),
		rssRow(label+fmt.Sprintf(": RSS after %v idle", o.idle), rss, rssTarget)), nil
}

func restartedID(brokers []*scaleBroker, b *scaleBroker) int32 {
	for i, x := range brokers {
		if x == b {
			return int32(i + 1)
		}
	}
	return -1
}

// waitInEveryISR polls Metadata until broker id is in the ISR of each of
// topic's n partitions.
func waitInEveryISR(ctx context.Context, cl *kgo.Client, topic string, n int, id int32, deadline time.Time) error {
	req := metadataRequest(map[string]int{topic: n})
	for {
		// Each request bounded: kgo would otherwise retry a Metadata
		// request that times out, past the deadline.
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := req.RequestWith(rctx, cl)
		cancel()
		if err == nil {
			err = missingFromISR(resp, topic, n, id)
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker %d not back in every ISR of %s in time: %w", id, topic, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// missingFromISR says how many of topic's n partitions lack broker id in
// their ISR in resp, or nil when none does.
func missingFromISR(resp *kmsg.MetadataResponse, topic string, n int, id int32) error {
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		in := 0
		for _, p := range t.Partitions {
			for _, r := range p.ISR {
				if r == id {
					in++
					break
				}
			}
		}
		if in < n {
			return fmt.Errorf("broker %d is in the ISR of %d of %d partitions", id, in, n)
		}
		return nil
	}
	return fmt.Errorf("topic %s: not in the metadata", topic)
}
