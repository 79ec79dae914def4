package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/samsa-io/samsa/broker/replica"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/groupcoord"
	"github.com/samsa-io/samsa/wire/membudget"
)

// Broker is what the Collector reads from a running broker at scrape
// time (package broker's Broker implements it).
type Broker interface {
	Partitions() []replica.PartitionStatus
	ISRChanges() (shrinks, expands uint64)
	FetchSessions() (sessions, partitions int)
	Groups() []groupcoord.GroupStatus
	Controller() (active bool, offline int)
}

// Sources are what the Collector reads: the broker, and what the process
// around it holds (package broker/node's).
type Sources struct {
	Broker Broker
	// Store is the broker's metadata store, for its session state.
	Store controller.Store
	// RequestBudget is the broker-wide budget of request bytes
	// (queued.max.request.bytes).
	RequestBudget *membudget.Budget
	// Connections counts the connections open on every listener.
	Connections func() int
}

// collector gathers the scrape-time metrics from Sources.
type collector struct {
	src   Sources
	descs map[string]*prometheus.Desc // by definition name
}

// scraped are the definitions the collector reports.
var scraped = []definition{
	defBytesIn, defRecordsIn, defBytesOut,
	defPartitions, defLeaders, defUnderReplicated, defOffline, defControllerOffline,
	defISRShrinks, defISRExpands, defActiveController, defSessionState,
	defLogSize, defLogStart, defLogEnd, defHighWatermark,
	defGroups, defGroupMembers, defGroupLag,
	defBudgetUsed, defBudgetCapacity, defBudgetWaiting, defConnections,
	defFetchSessions, defFetchSessionPartitions,
}

func newCollector(src Sources) *collector {
	c := &collector{src: src, descs: make(map[string]*prometheus.Desc, len(scraped))}
	for _, d := range scraped {
		c.descs[d.name] = d.desc()
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range scraped {
		ch <- c.descs[d.name]
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	emit := func(d definition, typ prometheus.ValueType, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[d.name], typ, v, labels...)
	}
	gauge := func(d definition, v float64, labels ...string) { emit(d, prometheus.GaugeValue, v, labels...) }
	counter := func(d definition, v float64, labels ...string) { emit(d, prometheus.CounterValue, v, labels...) }

	highWatermarks := c.collectPartitions(gauge, counter)
	c.collectGroups(gauge, highWatermarks)

	shrinks, expands := c.src.Broker.ISRChanges()
	counter(defISRShrinks, float64(shrinks))
	counter(defISRExpands, float64(expands))
	active, offline := c.src.Broker.Controller()
	gauge(defActiveController, boolValue(active))
	if active {
		gauge(defControllerOffline, float64(offline))
	}
	store, state := sessionState(c.src.Store)
	for _, s := range controller.SessionStates() {
		gauge(defSessionState, boolValue(s == state), store, s)
	}
	if b := c.src.RequestBudget; b != nil {
		limit := b.Limit()
		if limit <= 0 {
			limit = -1
		}
		gauge(defBudgetUsed, float64(b.Used()))
		gauge(defBudgetCapacity, float64(limit))
		gauge(defBudgetWaiting, float64(b.Waiting()))
	}
	if c.src.Connections != nil {
		gauge(defConnections, float64(c.src.Connections()))
	}
	sessions, sessionPartitions := c.src.Broker.FetchSessions()
	gauge(defFetchSessions, float64(sessions))
	gauge(defFetchSessionPartitions, float64(sessionPartitions))
}

type topicPartition struct {
	topic     string
	partition int32
}

// collectPartitions reports the partition counts, each log, and the
// traffic summed per topic; it returns the high watermarks, for lag.
func (c *collector) collectPartitions(gauge, counter func(definition, float64, ...string)) map[topicPartition]int64 {
	type traffic struct{ bytesIn, recordsIn, consumerOut, followerOut uint64 }
	parts := c.src.Broker.Partitions()
	highWatermarks := make(map[topicPartition]int64, len(parts))
	topics := make(map[string]*traffic)
	var leaders, underReplicated, offline int
	for _, p := range parts {
		if p.IsLeader {
			leaders++
			if p.ISR < p.Replicas {
				underReplicated++
			}
		}
		if p.Leader < 0 {
			offline++
		}
		partition := strconv.Itoa(int(p.Partition))
		gauge(defLogSize, float64(p.Size), p.Topic, partition)
		gauge(defLogStart, float64(p.Offsets.LogStartOffset), p.Topic, partition)
		gauge(defLogEnd, float64(p.Offsets.LogEndOffset), p.Topic, partition)
		gauge(defHighWatermark, float64(p.HighWatermark), p.Topic, partition)
		highWatermarks[topicPartition{p.Topic, p.Partition}] = p.HighWatermark

		t := topics[p.Topic]
		if t == nil {
			t = new(traffic)
			topics[p.Topic] = t
		}
		t.bytesIn += p.Traffic.BytesIn.Load()
		t.recordsIn += p.Traffic.RecordsIn.Load()
		t.consumerOut += p.Traffic.ConsumerBytesOut.Load()
		t.followerOut += p.Traffic.FollowerBytesOut.Load()
	}
	gauge(defPartitions, float64(len(parts)))
	gauge(defLeaders, float64(leaders))
	gauge(defUnderReplicated, float64(underReplicated))
	gauge(defOffline, float64(offline))
	for topic, t := range topics {
		counter(defBytesIn, float64(t.bytesIn), topic)
		counter(defRecordsIn, float64(t.recordsIn), topic)
		counter(defBytesOut, float64(t.consumerOut), topic, "consumer")
		counter(defBytesOut, float64(t.followerOut), topic, "follower")
	}
	return highWatermarks
}

// collectGroups reports groups by state, their members, and the lag of
// their committed offsets on the partitions this broker holds.
func (c *collector) collectGroups(gauge func(definition, float64, ...string), highWatermarks map[topicPartition]int64) {
	byState := make(map[string]int)
	for _, s := range groupcoord.GroupStates() {
		byState[s] = 0
	}
	for _, g := range c.src.Broker.Groups() {
		byState[g.State]++
		gauge(defGroupMembers, float64(g.Members), g.ID)
		for _, o := range g.Offsets {
			hw, ok := highWatermarks[topicPartition{o.Topic, o.Partition}]
			if !ok {
				continue
			}
			gauge(defGroupLag, float64(max(hw-o.Offset, 0)), g.ID, o.Topic, strconv.Itoa(int(o.Partition)))
		}
	}
	for state, n := range byState {
		gauge(defGroups, float64(n), state)
	}
}

// sessionState names the store's metadata service and its session's
// state; a store without a session (the single-broker LocalStore) is
// "local", connected while open.
func sessionState(s controller.Store) (store, state string) {
	if s == nil {
		return "none", controller.SessionClosed
	}
	if ss, ok := s.(controller.SessionStater); ok {
		return ss.SessionService(), ss.SessionState()
	}
	return "local", controller.SessionConnected
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
