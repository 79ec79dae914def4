package compattests

// Fault tests on a real ZooKeeper and three real broker processes. Each
// runs the checker's workload (idempotent acks=all writers, a tailing
// reader) on a topic with replication factor 3 and min.insync.replicas 2,
// hits the cluster with one fault, heals it, and requires zero lost,
// duplicated, reordered or inconsistent records.

import (
	"fmt"
	"testing"
	"time"
)

const (
	faultTopic      = "jepsen"
	faultPartitions = 4
	faultWriters    = 3
)

// runFault starts a cluster (its brokers configured by opts) and the
// workload, lets it make progress, applies fault, lets it make progress
// again, and verifies.
func runFault(t *testing.T, fault func(c *testCluster, w *workload), opts ...brokerOpt) {
	c := startCluster(t, 3, opts...)
	c.createTopic(t, faultTopic, faultPartitions, 3, nil)
	w := startWorkload(t, c, faultTopic, faultPartitions, faultWriters)
	w.waitAcks(2000, 60*time.Second)
	fault(c, w)
	w.waitAcks(2000, 90*time.Second)
	w.stop()
	for _, b := range c.brokers {
		if !b.isRunning() {
			b.Restart()
		}
	}
	w.verify()
}

func TestKillNineOfAPartitionLeaderLosesNoAckedRecords(t *testing.T) {
	runFault(t, func(c *testCluster, w *workload) {
		victim := c.leader(faultTopic, 0)
		c.broker(victim).Kill()
		t.Logf("killed broker %d, leader of %s-0", victim, faultTopic)
		c.waitLeaderMoves(faultTopic, 0, victim)
		w.waitAcks(1000, 60*time.Second)
		c.broker(victim).Restart()
	})
}

func TestKillNineOfTheControllerLosesNoAckedRecords(t *testing.T) {
	runFault(t, func(c *testCluster, w *workload) {
		victim := c.controllerID()
		c.broker(victim).Kill()
		t.Logf("killed broker %d, the controller", victim)
		checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
			if id := c.controllerID(); id == victim {
				return fmt.Errorf("broker %d is still the controller", id)
			}
			return nil
		})
		w.waitAcks(1000, 60*time.Second)
		c.broker(victim).Restart()
	})
}

func TestBrokerPausedPastItsZooKeeperSessionLosesNoAckedRecords(t *testing.T) {
	runFault(t, func(c *testCluster, w *workload) {
		victim := c.leader(faultTopic, 0)
		c.broker(victim).Pause()
		t.Logf("paused broker %d, leader of %s-0", victim, faultTopic)
		// Its session (4 s) lapses; another replica leads meanwhile.
		c.waitLeaderMoves(faultTopic, 0, victim)
		w.waitAcks(1000, 60*time.Second)
		c.broker(victim).Resume()
		t.Logf("resumed broker %d", victim)
		// The zombie must rejoin as a follower without serving stale
		// writes; give it time to notice.
		w.waitAcks(1000, 60*time.Second)
	})
}

func TestZooKeeperRestartLosesNoAckedRecords(t *testing.T) {
	runFault(t, func(c *testCluster, w *workload) {
		c.zk.Stop()
		t.Log("stopped ZooKeeper")
		time.Sleep(2 * time.Second) // less than the brokers' 4 s sessions
		c.zk.Restart()
		t.Log("restarted ZooKeeper")
		w.waitAcks(1000, 60*time.Second)
	})
}

// TestZooKeeperDownPastEverySessionLosesNoAckedRecords keeps ZooKeeper
// away longer than every broker's session: all of them expire at once,
// leaders keep serving meanwhile, and on its return every broker registers
// again and a controller is elected.
func TestZooKeeperDownPastEverySessionLosesNoAckedRecords(t *testing.T) {
	runFault(t, func(c *testCluster, w *workload) {
		c.zk.Stop()
		t.Log("stopped ZooKeeper")
		time.Sleep(7 * time.Second) // longer than the brokers' 4 s sessions
		c.zk.Restart()
		t.Log("restarted ZooKeeper")
		c.waitBrokers(3, 60*time.Second)
		w.waitAcks(1000, 90*time.Second)
	})
}

// The brokers run two fetchers per leader here (num.replica.fetchers=2),
// so followers copy their partitions over two connections per leader.
func TestRollingRestartOfEveryBrokerLosesNoAckedRecords(t *testing.T) {
	runFault(t, func(c *testCluster, w *workload) {
		for _, b := range c.brokers {
			b.Stop() // SIGTERM: a controlled shutdown moves leaderships first
			b.Restart()
			c.waitFullISR(90*time.Second, faultTopic)
			w.waitAcks(500, 60*time.Second)
		}
	}, withOverride("num.replica.fetchers", "2"))
}

// TestLeaderCutOffFromItsFollowersThenKilledLosesNoAckedRecords is the
// case acks=all exists for: both followers of a partition stop (still in
// the ISR: paused for less than replica.lag.time.max.ms and their
// ZooKeeper session), the leader takes writes it cannot replicate, then
// dies. A follower becomes leader without those writes, so the leader must
// not have acknowledged any of them.
func TestLeaderCutOffFromItsFollowersThenKilledLosesNoAckedRecords(t *testing.T) {
	runFault(t, func(c *testCluster, w *workload) {
		leader := c.leader(faultTopic, 0)
		var followers []*testBroker
		for _, b := range c.brokers {
			if b != c.broker(leader) {
				followers = append(followers, b)
			}
		}
		for _, b := range followers {
			b.Pause()
		}
		time.Sleep(1500 * time.Millisecond)
		c.broker(leader).Kill()
		for _, b := range followers {
			b.Resume()
		}
		t.Logf("cut broker %d off from its followers for 1.5 s, then killed it", leader)
		c.waitLeaderMoves(faultTopic, 0, leader)
		c.broker(leader).Restart()
	})
}
