package compattests

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transactions across failover on three brokers (ZooKeeper): the
// transaction coordinator, a partition leader and the group coordinator
// die by kill -9, and a coordinator stops by SIGTERM (a controlled
// shutdown), while an exactly-once pipeline runs, and the output is still
// every input record exactly once.

// txnClusterOpts keep the internal topics small, so the cluster creates
// them quickly, and abort orphaned transactions soon. Restarted brokers
// keep their ports: the pipeline's clients bootstrapped from the first
// addresses, and every broker restarts once.
var txnClusterOpts = []brokerOpt{
	withStablePort(),
	withOverride("transaction.state.log.num.partitions", "4"),
	withOverride("transaction.abort.timed.out.transaction.cleanup.interval.ms", "500"),
}

// coordinatorOf is the broker coordinating a key (0 group, 1
// transactional ID).
func coordinatorOf(t *testing.T, cl *kgo.Client, key string, keyType int8) int32 {
	t.Helper()
	for {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey, req.CoordinatorType = key, keyType
		req.CoordinatorKeys = []string{key}
		resp, err := req.RequestWith(testContext(t, 10*time.Second), cl)
		if err == nil {
			if len(resp.Coordinators) > 0 && resp.Coordinators[0].ErrorCode == 0 {
				return resp.Coordinators[0].NodeID
			}
			if len(resp.Coordinators) == 0 && resp.ErrorCode == 0 {
				return resp.NodeID
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestExactlyOnceCopyOnThreeBrokersThroughCoordinatorAndLeaderFailures(t *testing.T) {
	c := startCluster(t, 3, txnClusterOpts...)
	c.createTopic(t, "eos3-in", 3, 3, nil)
	c.createTopic(t, "eos3-out", 3, 3, nil)
	seeds := c.seeds()
	startCopier(t, seeds, "eos3-member-a", "eos3-group", "eos3-in", "eos3-out")
	startCopier(t, seeds, "eos3-member-b", "eos3-group", "eos3-in", "eos3-out")
	probe := c.client(t)
	input := c.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))

	// Each failure kills one broker and brings it back before the next,
	// so two of three replicas (min.insync.replicas) stay up.
	var victim *testBroker
	step := 0
	failures := []func(){
		func() { // the transaction coordinator of a member
			victim = c.broker(coordinatorOf(t, probe, "eos3-member-a", 1))
			t.Logf("kill -9 of broker %d, transaction coordinator of eos3-member-a", coordinatorOf(t, probe, "eos3-member-a", 1))
			victim.Kill()
		},
		func() { victim.Restart() },
		func() { // a partition leader of the output
			id := c.leader("eos3-out", 0)
			t.Logf("kill -9 of broker %d, leader of eos3-out/0", id)
			victim = c.broker(id)
			victim.Kill()
		},
		func() { victim.Restart() },
		func() { // the group coordinator
			id := coordinatorOf(t, probe, "eos3-group", 0)
			t.Logf("kill -9 of broker %d, coordinator of eos3-group", id)
			victim = c.broker(id)
			victim.Kill()
		},
		func() { victim.Restart() },
		func() { // a controlled shutdown of a transaction coordinator
			id := coordinatorOf(t, probe, "eos3-member-b", 1)
			t.Logf("SIGTERM of broker %d, transaction coordinator of eos3-member-b", id)
			victim = c.broker(id)
			victim.Stop()
		},
		func() { victim.Restart() },
	}
	next := func() {
		if step < len(failures) {
			failures[step]()
			step++
		}
	}
	want := produceInput(t, input, "eos3-in", 3, 24*time.Second, 3*time.Second, next)
	for step < len(failures) {
		next()
	}
	c.waitBrokers(3, 30*time.Second)
	waitGroupCaughtUp(t, c.admin(t), "eos3-group", "eos3-in", 120*time.Second)
	checkExactlyOnceCopy(t, func(opts ...kgo.Opt) *kgo.Client { return c.client(t, opts...) }, input, "eos3-out", 3, want)
}
