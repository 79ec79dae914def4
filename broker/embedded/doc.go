// Package embedded runs Samsa inside a Go program or test: one broker,
// or a cluster of several, each on a free port of the loopback interface
// with its data in a temporary directory (or one given), reached by any
// Kafka client through Cluster.Seeds. It is what franz-go's kfake offers
// Go users, but every broker is Samsa's own (package broker/node): the
// same logs on disk, replication, ISR, leader elections, truncation and
// consumer groups as the samsa binary.
//
//	cluster, err := embedded.Start(ctx, embedded.Config{})           // one broker
//	cluster, err := embedded.Start(ctx, embedded.Config{Brokers: 3}) // a cluster
//	defer cluster.Close()
//	client, err := kgo.NewClient(kgo.SeedBrokers(cluster.Seeds()...))
//
// # Clusters
//
// A cluster's brokers (broker.id 1 to Config.Brokers) share an in-process
// twin of the ZooKeeper ensemble a Samsa cluster runs on
// (controller/memcluster): it registers the brokers, elects the
// controller and runs the controller's work, as ZooKeeper and the
// controller broker do in production. The controller settings
// (unclean.leader.election.enable, auto.leader.rebalance.enable,
// leader.imbalance.*) and zookeeper.session.timeout.ms are read from
// Config.Overrides, as the ensemble is every broker's. A single broker
// runs on the single-broker store instead, as `samsa broker` does
// without zookeeper.connect, unless Config.ClusterStore asks for the
// ensemble.
//
// The ensemble lives in memory: a cluster's topics and leaders end with
// Close, so a directory a cluster used cannot be started again (Start
// refuses it, before touching its data). A single broker keeps its
// metadata in its log directory, and a later Start from the same
// Config.Dir finds its topics and records.
//
// # Faults
//
// The fault controls take a broker.id and act as the fault would on a
// real broker process and network:
//
//   - Kill is kill -9: no controlled shutdown, connections dropped, the
//     logs abandoned without clean-shutdown markers (the next start
//     recovers them), and the broker's session ended in the ensemble at
//     once, as if its session timeout had passed, so the controller
//     moves its leaderships now.
//   - Stop is SIGTERM: a controlled shutdown moves the broker's
//     leaderships to other in-sync replicas, then it closes cleanly.
//   - Restart starts a killed or stopped broker again from its data, with
//     the same broker.id and port.
//   - Isolate cuts the broker off from the other brokers' traffic, both
//     ways, until Heal: every connection a broker opens to another (its
//     replica fetchers, its controlled shutdown) goes through a dialer
//     of the cluster's, which refuses at once (as a firewall rejecting
//     the packets would) any connection from or to an isolated broker,
//     and the cluster closes those it had already opened. Clients still
//     reach it, and it still reaches the ensemble: its session lives,
//     and it sees leaders change. Isolation is the network's, so it
//     holds across Kill and Restart.
//   - Pause is SIGSTOP, until Resume: the broker stops answering (every
//     request waits unanswered; node.Node.HoldRequests), it is isolated
//     as above, and its session stops heartbeating, so the ensemble
//     expires it zookeeper.session.timeout.ms later (1 s here unless
//     overridden) and the controller moves its leaderships. Resume lets
//     its requests through again, heals it and reconnects it to the
//     ensemble, registering again (a new broker epoch) when its session
//     expired. What a paused broker does not do as a stopped process
//     would: its own timers and goroutines go on (its ISR checks, which
//     cannot reach the ensemble; log flushes and retention; its group
//     coordinator's session timeouts), and its clock does not jump.
//
// # Defaults
//
// Each broker starts from Kafka's defaults (package broker/config), then
// these, which suit tests, then Config.Overrides, then its
// Config.BrokerOverrides:
//
//	listeners=PLAINTEXT://127.0.0.1:0            a free loopback port
//	log.dirs=<Dir>/broker-<id>
//	offsets.topic.replication.factor=<Brokers, at most 3>
//	group.initial.rebalance.delay.ms=0           groups form at once
//	zookeeper.session.timeout.ms=1000            Pause costs a second
//	replica.fetch.backoff.ms=100                 followers find a new leader sooner
//	controlled.shutdown.retry.backoff.ms=100
//
// broker.id and zookeeper.connect are the cluster's and cannot be
// overridden.
//
// # Ownership
//
// A Cluster owns its brokers, its ensemble, its inter-broker network and
// its temporary directory, and releases them in Close. The fault
// controls run one at a time (a lock serializes them); the accessors
// (Seeds, Partition, LeaderOf, ...) may run beside them. Nothing is
// global: several clusters run in one process.
package embedded
