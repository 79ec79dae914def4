// Package config holds the broker configuration: one typed struct whose
// fields carry Kafka's server.properties key names and defaults, a loader
// for server.properties files with flag overrides, and the table of topic
// configs (with their broker-level synonyms) that DescribeConfigs,
// AlterConfigs and IncrementalAlterConfigs serve.
//
// Every supported key lives in one table (keys.go for the broker,
// topic.go for topics) with its Kafka type, default, documentation and
// validator; the README's configuration section is generated from it
// (MarkdownTable). Values are checked the way Kafka checks them, and an
// invalid value is an error naming the key; a key Samsa does not know is a
// warning, so a server.properties written for Kafka still starts.
//
// Precedence, lowest first, as in Kafka: built-in default, static config
// (the file, then --override flags), dynamic cluster-wide default, dynamic
// per-broker config; a topic's own override beats them all. Among synonyms
// the more precise key wins whatever its level: log.retention.ms over
// log.retention.minutes over log.retention.hours, log.roll.ms over
// log.roll.hours, log.dirs over log.dir.
//
// A Broker is immutable once built (but for SetBoundPort at startup): Load
// and Default build one, WithDynamic returns a new one with dynamic configs
// applied. Callers may share it between goroutines.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Listener is one entry of listeners / advertised.listeners,
// "NAME://host:port".
type Listener struct {
	Name string // PLAINTEXT, or any name listener.security.protocol.map maps
	Host string // empty: every interface (listeners only)
	Port int32  // 0 in listeners: any free port
	// SecurityProtocol is the protocol listener.security.protocol.map
	// gives the name: PLAINTEXT, SASL_PLAINTEXT, SSL or SASL_SSL.
	SecurityProtocol string
}

// Addr is host:port, for net.Listen and for logs.
func (l Listener) Addr() string {
	return net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))
}

// Broker is the resolved broker configuration. Every field names the
// server.properties key it is read from.
type Broker struct {
	BrokerID            int32      // broker.id (default 0; Kafka's -1 asks for a generated ID, which Samsa does not do)
	Listeners           []Listener // listeners (default PLAINTEXT://127.0.0.1:9092; Kafka binds every interface)
	AdvertisedListeners []Listener // advertised.listeners (default: listeners, an empty host replaced by the host name)
	LogDirs             []string   // log.dirs, else log.dir (default ./data; Kafka's is /tmp/kafka-logs)
	ZookeeperConnect    string     // zookeeper.connect (default empty: single broker, embedded store)
	Rack                string     // broker.rack
	// MetricsListener is metrics.listener, http://host:port (Samsa's own;
	// default empty: no metrics endpoint).
	MetricsListener string

	// InterBrokerListenerName is inter.broker.listener.name, upper-cased;
	// empty: the first listener (InterBrokerListener).
	InterBrokerListenerName string

	// ListenerSecurityProtocolMap is listener.security.protocol.map
	// (default PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL),
	// listener names upper-cased.
	ListenerSecurityProtocolMap map[string]string

	NumPartitions            int32 // num.partitions (1)
	DefaultReplicationFactor int16 // default.replication.factor (1)
	AutoCreateTopicsEnable   bool  // auto.create.topics.enable (true)
	DeleteTopicEnable        bool  // delete.topic.enable (true)

	// AuthorizerClassName is authorizer.class.name (empty: no
	// authorization); SuperUsers is super.users, as given; both and
	// AllowEveryoneIfNoACLFound (allow.everyone.if.no.acl.found, false)
	// configure package broker/acl.
	AuthorizerClassName       string
	SuperUsers                string
	AllowEveryoneIfNoACLFound bool

	LogRetention              time.Duration // log.retention.ms / .minutes / .hours (168h); negative = unlimited
	LogRetentionBytes         int64         // log.retention.bytes (-1)
	LogRetentionCheckInterval time.Duration // log.retention.check.interval.ms (300000)
	LogSegmentBytes           int64         // log.segment.bytes (1 GiB)
	LogRoll                   time.Duration // log.roll.ms / log.roll.hours (168h)
	LogRollJitter             time.Duration // log.roll.jitter.ms / log.roll.jitter.hours (0)
	LogFlushIntervalMessages  int64         // log.flush.interval.messages (Long.MAX_VALUE)
	// LogFlushInterval is log.flush.interval.ms; unset, it is
	// log.flush.scheduler.interval.ms, as in Kafka (Forever by default: no
	// time-based fsync, the page cache and replication give durability).
	LogFlushInterval time.Duration
	// LogFlushSchedulerInterval is log.flush.scheduler.interval.ms
	// (Long.MAX_VALUE, held as Forever). Kafka checks for time-based
	// flushes this often; Samsa checks every second when it is longer, so
	// a topic's flush.ms is honoured without setting it.
	LogFlushSchedulerInterval        time.Duration
	LogIndexIntervalBytes            int32         // log.index.interval.bytes (4096)
	LogIndexSizeMaxBytes             int32         // log.index.size.max.bytes (10 MiB)
	LogPreallocate                   bool          // log.preallocate (false)
	LogCleanupPolicy                 string        // log.cleanup.policy (delete); "compact,delete" for both
	LogMessageTimestampType          string        // log.message.timestamp.type (CreateTime)
	LogMessageTimestampDifferenceMax time.Duration // log.message.timestamp.difference.max.ms (Long.MAX_VALUE: Forever); deprecated by the next two
	LogMessageTimestampBeforeMax     time.Duration // log.message.timestamp.before.max.ms (Forever)
	LogMessageTimestampAfterMax      time.Duration // log.message.timestamp.after.max.ms (Forever)
	LogMessageDownConversionEnable   bool          // log.message.downconversion.enable (true)
	LogSegmentDeleteDelay            time.Duration // log.segment.delete.delay.ms (60000)
	LogCleanerEnable                 bool          // log.cleaner.enable (true)
	LogCleanerBackoff                time.Duration // log.cleaner.backoff.ms (15000)
	LogCleanerDedupeBufferSize       int64         // log.cleaner.dedupe.buffer.size (128 MiB)
	LogCleanerDeleteRetention        time.Duration // log.cleaner.delete.retention.ms (86400000)
	LogCleanerMinCompactionLag       time.Duration // log.cleaner.min.compaction.lag.ms (0)
	LogCleanerMaxCompactionLag       time.Duration // log.cleaner.max.compaction.lag.ms (Long.MAX_VALUE: Forever)
	LogCleanerMinCleanableRatio      float64       // log.cleaner.min.cleanable.ratio (0.5)
	CompressionType                  string        // compression.type (producer)
	MessageMaxBytes                  int32         // message.max.bytes (1048588)
	MinInsyncReplicas                int16         // min.insync.replicas (1)
	UncleanLeaderElection            bool          // unclean.leader.election.enable (false)
	SocketRequestMaxBytes            int32         // socket.request.max.bytes (104857600)
	ConnectionsMaxIdle               time.Duration // connections.max.idle.ms (600000)
	// QueuedMaxRequestBytes is queued.max.request.bytes (32 MiB; Kafka's
	// default is -1, unbounded); -1 means no bound.
	QueuedMaxRequestBytes int64
	MaxConnections        int32 // max.connections (Integer.MAX_VALUE)
	MaxConnectionsPerIP   int32 // max.connections.per.ip (Integer.MAX_VALUE)
	// MaxConnectionsPerIPOverrides is max.connections.per.ip.overrides,
	// host names resolved.
	MaxConnectionsPerIPOverrides map[netip.Addr]int
	// MaxConnectionCreationRate is max.connection.creation.rate
	// (Integer.MAX_VALUE), connections per second (KIP-612).
	MaxConnectionCreationRate    int32
	QuotaWindowNum               int32         // quota.window.num (11)
	QuotaWindowSizeSeconds       int32         // quota.window.size.seconds (1)
	ReplicaFetchMaxBytes         int32         // replica.fetch.max.bytes (1048576)
	ReplicaFetchResponseMaxBytes int32         // replica.fetch.response.max.bytes (10485760)
	ReplicaFetchWaitMax          time.Duration // replica.fetch.wait.max.ms (500)
	ReplicaFetchMinBytes         int32         // replica.fetch.min.bytes (1)
	ReplicaFetchBackoff          time.Duration // replica.fetch.backoff.ms (1000)
	ReplicaSocketTimeout         time.Duration // replica.socket.timeout.ms (30000)
	ReplicaLagTimeMax            time.Duration // replica.lag.time.max.ms (30000)
	// ReplicaHighWatermarkCheckpointInterval is
	// replica.high.watermark.checkpoint.interval.ms (5000).
	ReplicaHighWatermarkCheckpointInterval time.Duration
	NumReplicaFetchers                     int32         // num.replica.fetchers (1)
	AutoLeaderRebalanceEnable              bool          // auto.leader.rebalance.enable (true)
	LeaderImbalanceCheckInterval           time.Duration // leader.imbalance.check.interval.seconds (300)
	LeaderImbalancePerBrokerPercentage     int32         // leader.imbalance.per.broker.percentage (10)
	ControlledShutdownEnable               bool          // controlled.shutdown.enable (true)
	ControlledShutdownMaxRetries           int32         // controlled.shutdown.max.retries (3)
	ControlledShutdownRetryBackoff         time.Duration // controlled.shutdown.retry.backoff.ms (5000)
	ZookeeperSessionTimeout                time.Duration // zookeeper.session.timeout.ms (18000)
	// ZookeeperConnectionTimeout is zookeeper.connection.timeout.ms;
	// zero means the session timeout, as in Kafka.
	ZookeeperConnectionTimeout time.Duration
	FetchMaxBytes              int32         // fetch.max.bytes (57671680)
	MaxIncrementalFetchSession int32         // max.incremental.fetch.session.cache.slots (1000)
	ProducerIDExpiration       time.Duration // producer.id.expiration.ms (86400000)
	OffsetsTopicNumPartitions  int32         // offsets.topic.num.partitions (50)
	OffsetsTopicReplication    int16         // offsets.topic.replication.factor (3; clamped to the live brokers)
	OffsetsRetention           time.Duration // offsets.retention.minutes (10080)
	OffsetsTopicSegmentBytes   int32         // offsets.topic.segment.bytes (104857600)
	// OffsetsRetentionCheckInterval is offsets.retention.check.interval.ms
	// (600000).
	OffsetsRetentionCheckInterval time.Duration
	OffsetsCommitTimeout          time.Duration // offsets.commit.timeout.ms (5000)
	OffsetMetadataMaxBytes        int32         // offset.metadata.max.bytes (4096)
	TxnStateNumPartitions         int32         // transaction.state.log.num.partitions (50)
	TxnStateReplication           int16         // transaction.state.log.replication.factor (3)
	TxnStateMinISR                int32         // transaction.state.log.min.isr (2)
	TxnStateSegmentBytes          int32         // transaction.state.log.segment.bytes (104857600)
	TxnMaxTimeout                 time.Duration // transaction.max.timeout.ms (900000)
	TxnIDExpiration               time.Duration // transactional.id.expiration.ms (604800000)
	// TxnAbortTimedOutInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms (10000).
	TxnAbortTimedOutInterval time.Duration
	// TxnRemoveExpiredInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms (3600000).
	TxnRemoveExpiredInterval   time.Duration
	TxnPartitionVerification   bool          // transaction.partition.verification.enable (true)
	GroupMaxSize               int32         // group.max.size (2147483647)
	GroupInitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms (3000)
	GroupMinSessionTimeout     time.Duration // group.min.session.timeout.ms (6000)
	GroupMaxSessionTimeout     time.Duration // group.max.session.timeout.ms (1800000)

	// SASL is the SASL configuration (sasl.go).
	SASL SASL
	// ListenerScoped holds the listener.name.<listener>.<key> keys given,
	// by full key, values trimmed.
	ListenerScoped map[string]string

	// Set records which keys were given explicitly (file or flag), for
	// DescribeConfigs' config source (STATIC_BROKER_CONFIG vs
	// DEFAULT_CONFIG). Values are trimmed; unknown keys are left out.
	Set map[string]string

	// The dynamic configs WithDynamic applied, for DescribeTopic's
	// sources.
	dynamicDefault map[string]string
	dynamicBroker  map[string]string
}

// Default is the configuration of a broker started without a file or
// flags.
func Default() *Broker {
	b, _, err := build(nil)
	if err != nil {
		// The built-in defaults are constants; TestDefaults checks them.
		panic("config: built-in defaults do not load: " + err.Error())
	}
	return b
}

// Load reads a Java .properties file (path "" for none) and applies
// overrides ("key=value", from flags), which win over the file. It returns
// warnings for keys Samsa does not know, and an error for a value that
// does not parse or is out of range, naming the key and the value.
func Load(path string, overrides []string) (*Broker, []string, error) {
	set := make(map[string]string)
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read config: %w", err)
		}
		props, err := parseProperties(f)
		f.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("read config %s: %w", path, err)
		}
		for _, p := range props {
			set[p.key] = p.value
		}
	}
	for _, o := range overrides {
		k, v, ok := strings.Cut(o, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("override %q: want key=value", o)
		}
		set[k] = v
	}
	return build(set)
}

// applyOrder is brokerKeys sorted so that a synonym with a higher prio is
// applied after, and so wins over, one with a lower prio.
var applyOrder = func() []*brokerKey {
	order := make([]*brokerKey, len(brokerKeys))
	for i := range brokerKeys {
		order[i] = &brokerKeys[i]
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].prio < order[j].prio })
	return order
}()

func build(set map[string]string) (*Broker, []string, error) {
	b := &Broker{Set: make(map[string]string), ListenerScoped: make(map[string]string)}
	var warnings []string
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if listenerScoped(k) {
			b.ListenerScoped[k] = strings.TrimSpace(set[k])
			continue
		}
		if key, _ := lookupKey(k); key == nil {
			warnings = append(warnings, fmt.Sprintf("unknown config %q ignored: Samsa does not support it", k))
			continue
		}
		b.Set[k] = strings.TrimSpace(set[k])
	}
	for _, k := range applyOrder {
		if k.def == nil {
			continue
		}
		if err := k.apply(b, *k.def); err != nil {
			return nil, warnings, fmt.Errorf("built-in default %q for %s: %v", *k.def, k.name, err)
		}
	}
	for _, k := range applyOrder {
		v, ok := b.Set[k.name]
		if !ok {
			continue
		}
		if err := k.apply(b, v); err != nil {
			return nil, warnings, invalid(k.name, v, err.Error())
		}
	}
	// Per-listener keys (listener.name.<l>.ssl.*,
	// listener.name.<l>.max.connection.creation.rate) are checked like
	// their plain key, on a scratch copy so the broker-wide value stays;
	// ListenerSSL and ListenerConnectionCreationRates read them.
	for _, name := range sortedKeys(b.Set) {
		if k, l := lookupKey(name); k != nil && l != "" {
			scratch := *b
			if err := k.apply(&scratch, b.Set[name]); err != nil {
				return nil, warnings, invalid(name, b.Set[name], err.Error())
			}
		}
	}
	if err := b.resolveListeners(); err != nil {
		return nil, warnings, err
	}
	if err := b.resolveSASL(); err != nil {
		return nil, warnings, err
	}
	// Kafka's KafkaConfig checks: a follower's fetch must not wait longer
	// than its socket allows, nor than the ISR allows it to lag.
	if b.ReplicaFetchWaitMax > b.ReplicaSocketTimeout {
		return nil, warnings, invalid("replica.fetch.wait.max.ms", strconv.FormatInt(b.ReplicaFetchWaitMax.Milliseconds(), 10),
			"replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms to prevent unnecessary socket timeouts")
	}
	if b.ReplicaFetchWaitMax > b.ReplicaLagTimeMax {
		return nil, warnings, invalid("replica.fetch.wait.max.ms", strconv.FormatInt(b.ReplicaFetchWaitMax.Milliseconds(), 10),
			"replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms to prevent frequent changes in ISR")
	}
	if b.MaxConnectionsPerIP == 0 && len(b.MaxConnectionsPerIPOverrides) == 0 {
		return nil, warnings, invalid("max.connections.per.ip", "0", "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides is set")
	}
	return b, warnings, nil
}

func invalid(key, value, reason string) error {
	return fmt.Errorf("invalid value %q for %s: %s", value, key, reason)
}

// raw is the text a key was given: static, else its default.
func (b *Broker) raw(name string) string {
	if v, ok := b.Set[name]; ok {
		return v
	}
	if k := brokerKeyByName[name]; k != nil && k.def != nil {
		return *k.def
	}
	return ""
}

// InterBrokerListener is the advertised listener other brokers dial this
// one on: inter.broker.listener.name, else the first.
func (b *Broker) InterBrokerListener() Listener {
	for _, l := range b.AdvertisedListeners {
		if l.Name == b.InterBrokerListenerName {
			return l
		}
	}
	return b.AdvertisedListeners[0]
}

// servedProtocols are the security protocols a listener may have: TLS
// (package tlsconf) serves SSL and the transport of SASL_SSL, SASL
// (broker/sasl) the logins of SASL_PLAINTEXT and SASL_SSL.
var servedProtocols = map[string]bool{"PLAINTEXT": true, "SASL_PLAINTEXT": true, "SSL": true, "SASL_SSL": true}

// UsesTLS tells whether a listener's security protocol runs over TLS.
func (l Listener) UsesTLS() bool {
	return l.SecurityProtocol == "SSL" || l.SecurityProtocol == "SASL_SSL"
}

// resolveListeners checks listeners and advertised.listeners against
// listener.security.protocol.map (which may be set after them in the
// file) and derives the advertised listeners when they are not set.
func (b *Broker) resolveListeners() error {
	lv := b.raw("listeners")
	if len(b.Listeners) == 0 {
		return invalid("listeners", lv, "at least one listener is required")
	}
	names := make(map[string]bool)
	ports := make(map[int32]string)
	for i := range b.Listeners {
		l := &b.Listeners[i]
		proto, ok := b.ListenerSecurityProtocolMap[l.Name]
		if !ok {
			return invalid("listeners", lv, "no security protocol for listener "+l.Name+"; map it in listener.security.protocol.map")
		}
		if !servedProtocols[proto] {
			return invalid("listeners", lv, proto+" listeners are not supported yet")
		}
		l.SecurityProtocol = proto
		if names[l.Name] {
			return invalid("listeners", lv, "listener "+l.Name+" is listed twice")
		}
		names[l.Name] = true
		if other, dup := ports[l.Port]; dup && l.Port != 0 {
			return invalid("listeners", lv, fmt.Sprintf("listeners %s and %s both use port %d", other, l.Name, l.Port))
		}
		ports[l.Port] = l.Name
	}

	b.InterBrokerListenerName = strings.ToUpper(b.InterBrokerListenerName)
	if proto, ok := b.Set["security.inter.broker.protocol"]; ok {
		// Kafka: the protocol names its listener (ListenerName.forSecurityProtocol).
		if b.InterBrokerListenerName != "" {
			return invalid("security.inter.broker.protocol", proto, "only one of inter.broker.listener.name and security.inter.broker.protocol should be set")
		}
		if !names[proto] {
			return invalid("security.inter.broker.protocol", proto, "no listener is called "+proto+"; name one in listeners or set inter.broker.listener.name")
		}
		b.InterBrokerListenerName = proto
	}
	if ib := b.InterBrokerListenerName; ib != "" && !names[ib] {
		return invalid("inter.broker.listener.name", ib, "must be a listener name defined in listeners")
	}

	key, av := "advertised.listeners", b.raw("advertised.listeners")
	if len(b.AdvertisedListeners) == 0 {
		key, av = "listeners", lv
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "localhost"
		}
		b.AdvertisedListeners = make([]Listener, len(b.Listeners))
		for i, l := range b.Listeners {
			if l.Host == "" {
				// Kafka advertises the canonical host name here.
				l.Host = host
			}
			b.AdvertisedListeners[i] = l
		}
	} else {
		for i := range b.AdvertisedListeners {
			a := &b.AdvertisedListeners[i]
			if !names[a.Name] {
				return invalid(key, av, "listener "+a.Name+" is not in listeners")
			}
			if a.Port == 0 {
				return invalid(key, av, "port 0 cannot be advertised")
			}
			a.SecurityProtocol = b.ListenerSecurityProtocolMap[a.Name]
		}
	}
	for _, a := range b.AdvertisedListeners {
		if ip := net.ParseIP(a.Host); ip != nil && ip.IsUnspecified() {
			return invalid(key, av, "cannot advertise the non-routable address "+a.Host+"; set advertised.listeners to an address clients can reach")
		}
	}
	return nil
}

// parseListeners parses "NAME://host:port,..."; an empty value is no
// listeners.
func parseListeners(v string) ([]Listener, error) {
	var ls []Listener
	for _, item := range parseList(v) {
		if item == "" {
			continue
		}
		name, addr, ok := strings.Cut(item, "://")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s is not NAME://host:port", item)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("%s is not NAME://host:port", item)
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("port %q of %s is not a number between 0 and 65535", port, item)
		}
		ls = append(ls, Listener{Name: strings.ToUpper(name), Host: host, Port: int32(p)})
	}
	return ls, nil
}

// MetricsAddr is metrics.listener's host:port, for net.Listen; empty
// when it is unset.
func (b *Broker) MetricsAddr() string {
	return strings.TrimPrefix(b.MetricsListener, "http://")
}

// SetMetricsBoundPort records the port the metrics listener bound when
// it asked for port 0, so a restart from the same Broker binds the same
// one. Call it before the Broker is shared.
func (b *Broker) SetMetricsBoundPort(port int) {
	host, p, err := net.SplitHostPort(b.MetricsAddr())
	if err != nil || p != "0" {
		return
	}
	b.MetricsListener = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// SetBoundPort records the port the listener called name bound when it
// asked for port 0, in Listeners and in the advertised listener derived
// from it. Call it before the Broker is shared.
func (b *Broker) SetBoundPort(name string, port int32) {
	for i := range b.Listeners {
		if b.Listeners[i].Name == name && b.Listeners[i].Port == 0 {
			b.Listeners[i].Port = port
		}
	}
	for i := range b.AdvertisedListeners {
		if b.AdvertisedListeners[i].Name == name && b.AdvertisedListeners[i].Port == 0 {
			b.AdvertisedListeners[i].Port = port
		}
	}
}

// ValidateBrokerDynamic checks configs for AlterConfigs or
// IncrementalAlterConfigs on a broker resource (one broker, or the
// cluster-wide default). Only dynamically alterable keys are accepted.
// The error is a *ConfigError for the first offending key, by name.
func ValidateBrokerDynamic(configs map[string]string) error {
	for _, name := range sortedKeys(configs) {
		v := configs[name]
		k, _ := lookupKey(name)
		switch {
		case k == nil:
			return &ConfigError{Key: name, Value: v, Kind: UnknownBrokerConfig}
		case !k.dynamic:
			return &ConfigError{Key: name, Value: v, Kind: NotDynamic}
		}
		var scratch Broker
		if err := k.apply(&scratch, strings.TrimSpace(v)); err != nil {
			return &ConfigError{Key: name, Value: v, Reason: err.Error()}
		}
	}
	return nil
}

// WithDynamic returns the effective configuration: b (static) with the
// dynamic cluster-wide defaults applied, then this broker's own dynamic
// configs. Keys that are not dynamic or do not parse are skipped (the
// store only holds configs ValidateBrokerDynamic accepted). Only the most
// precise synonym of each group is dynamic (log.retention.ms, not
// log.retention.hours), so a dynamic value always beats a static synonym,
// as in Kafka. The result remembers the dynamic configs for DescribeTopic.
// CleanerBackoff is how long the log cleaner sleeps when nothing needs
// cleaning (log.cleaner.backoff.ms); zero when log.cleaner.enable is off.
func (b *Broker) CleanerBackoff() time.Duration {
	if !b.LogCleanerEnable {
		return 0
	}
	return b.LogCleanerBackoff
}

// CleanerMaxKeys is how many keys one cleaning pass may map in
// log.cleaner.dedupe.buffer.size bytes (a Go map entry costs about 64).
func (b *Broker) CleanerMaxKeys() int {
	return int(min(b.LogCleanerDedupeBufferSize/64, 1<<30))
}

func (b *Broker) WithDynamic(dynamicDefault, dynamicBroker map[string]string) *Broker {
	e := *b
	e.dynamicDefault = dynamicOnly(dynamicDefault)
	e.dynamicBroker = dynamicOnly(dynamicBroker)
	for _, layer := range []map[string]string{e.dynamicDefault, e.dynamicBroker} {
		for _, k := range applyOrder {
			if v, ok := layer[k.name]; ok {
				_ = k.apply(&e, v) // an invalid value leaves e unchanged
			}
		}
	}
	return &e
}

// dynamicOnly copies the dynamically alterable keys of m, trimmed.
func dynamicOnly(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if bk, _ := lookupKey(k); bk != nil && bk.dynamic {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
