package config

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

// brokerKey is one server.properties key: its Kafka type, default, whether
// AlterConfigs may change it while the broker runs, and how its value is
// parsed into the Broker struct.
type brokerKey struct {
	name string
	typ  int8
	// def is Kafka's default as text; nil when Kafka has none (null), as
	// for log.retention.ms, whose default comes from log.retention.hours.
	def *string
	doc string
	// dynamic: alterable with AlterConfigs / IncrementalAlterConfigs on a
	// broker resource. Kafka's dynamic broker configs are, for logs, the
	// first broker synonym of every topic config (log.retention.ms, not
	// log.retention.hours; log.roll.ms, not log.roll.hours), plus a few
	// others such as producer.id.expiration.ms.
	dynamic bool
	// prio orders synonyms: keys are applied in increasing prio, so that
	// of log.retention.ms (2), log.retention.minutes (1) and
	// log.retention.hours (0) the one with the highest prio wins.
	prio int
	// apply validates v (already trimmed) and stores it; it changes
	// nothing when v is invalid.
	apply func(b *Broker, v string) error
	// perListener keys may also be given per listener, as
	// listener.name.<listener>.<key> (ssl.*); see lookupKey.
	perListener bool
}

func text(s string) *string { return &s }

var maxLong = text("9223372036854775807")

// brokerKeys is every broker key Samsa reads. Defaults are Kafka's (3.x,
// the ZooKeeper-era line Samsa follows) except where the Broker struct
// documents otherwise (broker.id, listeners, log.dir).
var brokerKeys = append(coreKeys, perListener(sslKeys)...)

// perListener marks keys that may also be given per listener.
func perListener(keys []brokerKey) []brokerKey {
	out := make([]brokerKey, len(keys))
	for i, k := range keys {
		k.perListener = true
		out[i] = k
	}
	return out
}

// coreKeys are the broker keys that are not per listener.
var coreKeys = []brokerKey{
	// Identity and listeners.
	{name: "broker.id", typ: TypeInt, def: text("0"),
		doc:   "Broker ID, unique in the cluster. Samsa does not generate IDs, so it must be set (0 by default).",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.BrokerID })},
	{name: "broker.rack", typ: TypeString,
		doc:   "Rack of the broker, reported in Metadata.",
		apply: setString(func(b *Broker) *string { return &b.Rack })},
	{name: "listeners", typ: TypeString, def: text("PLAINTEXT://127.0.0.1:9092"),
		doc:   "Comma-separated NAME://host:port addresses to listen on; an empty host binds every interface, port 0 picks a free port.",
		apply: setListeners(func(b *Broker) *[]Listener { return &b.Listeners })},
	{name: "advertised.listeners", typ: TypeString,
		doc:   "Addresses given to clients in Metadata, NAME://host:port, when they differ from listeners. Defaults to listeners.",
		apply: setListeners(func(b *Broker) *[]Listener { return &b.AdvertisedListeners })},
	{name: "inter.broker.listener.name", typ: TypeString,
		doc:   "Listener the brokers of a cluster dial each other on (replication, controlled shutdown, transaction markers), over TLS when it is SSL or SASL_SSL. Unset: the listener named by security.inter.broker.protocol when that is set, else the first listener.",
		apply: setString(func(b *Broker) *string { return &b.InterBrokerListenerName })},
	{name: "security.inter.broker.protocol", typ: TypeString, def: text("PLAINTEXT"),
		doc: "Security protocol between brokers, naming the listener of that name; set it or inter.broker.listener.name, not both. Samsa uses the first listener when neither is set (Kafka: PLAINTEXT).",
		// Stores nothing: resolveListeners reads it when it was set.
		apply: func(_ *Broker, v string) error { _, err := parseChoice(v, securityProtocols...); return err }},
	{name: "listener.security.protocol.map", typ: TypeString,
		def:   text("PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"),
		doc:   "Security protocol of each listener name, NAME:PROTOCOL pairs: PLAINTEXT, SASL_PLAINTEXT, SSL and SASL_SSL listeners serve.",
		apply: setProtocolMap},
	{name: "zookeeper.connect", typ: TypeString,
		doc:   "ZooKeeper connection string for cluster mode, host:port[,host:port...][/chroot]; empty runs a single broker with its metadata stored in the first log directory.",
		apply: setZookeeperConnect},

	{name: "metrics.listener", typ: TypeString, def: text(""),
		doc:   "Samsa's own: the address of the broker's HTTP endpoint for Prometheus metrics (/metrics) and health checks (/healthz, /readyz), http://host:port; port 0 picks a free port. Empty: no endpoint.",
		apply: setMetricsListener},

	// Log directories.
	{name: "log.dir", typ: TypeString, def: text("./data"),
		doc:   "Directory for the partition logs, used when log.dirs is not set.",
		apply: setLogDirs},
	{name: "log.dirs", typ: TypeString, prio: 1,
		doc:   "Comma-separated directories for the partition logs. Overrides log.dir.",
		apply: setLogDirs},

	// Topics.
	{name: "num.partitions", typ: TypeInt, def: text("1"),
		doc:   "Partitions of an automatically created topic, and of CreateTopics requests that leave the count to the broker.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.NumPartitions })},
	{name: "default.replication.factor", typ: TypeInt, def: text("1"),
		doc:   "Replication factor of automatically created topics and of CreateTopics requests that leave it to the broker.",
		apply: setNum(TypeInt, 1, math.MaxInt16, func(b *Broker) *int16 { return &b.DefaultReplicationFactor })},
	{name: "auto.create.topics.enable", typ: TypeBoolean, def: text("true"),
		doc:   "Create a topic when a client asks Metadata for one that does not exist.",
		apply: setBool(func(b *Broker) *bool { return &b.AutoCreateTopicsEnable })},
	{name: "delete.topic.enable", typ: TypeBoolean, def: text("true"),
		doc:   "Allow DeleteTopics.",
		apply: setBool(func(b *Broker) *bool { return &b.DeleteTopicEnable })},

	// Authorization (package broker/acl).
	{name: "authorizer.class.name", typ: TypeString, def: text(""),
		doc:   "Turns ACL authorization on when set to kafka.security.authorizer.AclAuthorizer, org.apache.kafka.metadata.authorizer.StandardAuthorizer or samsa.acl (all three are Samsa's ACL authorizer); empty, every client may do everything. Other class names are refused.",
		apply: setAuthorizerClassName},
	{name: "super.users", typ: TypeString, def: text(""),
		doc:   "Principals allowed everything whatever the ACLs say, separated by semicolons (User:admin;User:ops).",
		apply: setString(func(b *Broker) *string { return &b.SuperUsers })},
	{name: "allow.everyone.if.no.acl.found", typ: TypeBoolean, def: text("false"),
		doc:   "With an authorizer, allow every principal on a resource no ACL names (else refused).",
		apply: setBool(func(b *Broker) *bool { return &b.AllowEveryoneIfNoACLFound })},

	// Retention.
	{name: "log.retention.hours", typ: TypeInt, def: text("168"),
		doc:   "Hours to keep a log segment; used when log.retention.minutes and log.retention.ms are not set.",
		apply: setRetention(time.Hour)},
	{name: "log.retention.minutes", typ: TypeInt, prio: 1,
		doc:   "Minutes to keep a log segment; overrides log.retention.hours.",
		apply: setRetention(time.Minute)},
	{name: "log.retention.ms", typ: TypeLong, prio: 2, dynamic: true,
		doc:   "Milliseconds to keep a log segment (-1: forever); overrides log.retention.minutes and log.retention.hours.",
		apply: setRetention(time.Millisecond)},
	{name: "log.retention.bytes", typ: TypeLong, def: text("-1"), dynamic: true,
		doc:   "Largest size of a partition log before old segments are deleted (-1: no limit).",
		apply: setNum(TypeLong, math.MinInt64, math.MaxInt64, func(b *Broker) *int64 { return &b.LogRetentionBytes })},
	{name: "log.retention.check.interval.ms", typ: TypeLong, def: text("300000"),
		doc:   "How often the broker looks for segments to delete.",
		apply: setMs(TypeLong, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogRetentionCheckInterval })},
	{name: "log.segment.delete.delay.ms", typ: TypeLong, def: text("60000"), dynamic: true,
		doc:   "How long a deleted segment's files stay on disk, for reads still in progress.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogSegmentDeleteDelay })},
	{name: "log.cleanup.policy", typ: TypeList, def: text("delete"), dynamic: true,
		doc:   "What happens to old segments: delete, compact, or both.",
		apply: setCleanupPolicy},

	// Segments and indexes.
	{name: "log.segment.bytes", typ: TypeInt, def: text("1073741824"), dynamic: true,
		doc:   "Largest size of a log segment file.",
		apply: setNum(TypeInt, 14, math.MaxInt32, func(b *Broker) *int64 { return &b.LogSegmentBytes })},
	{name: "log.roll.hours", typ: TypeInt, def: text("168"),
		doc:   "Hours after which a new segment is started even if the active one is not full; used when log.roll.ms is not set.",
		apply: setMs(TypeInt, 1, time.Hour, func(b *Broker) *time.Duration { return &b.LogRoll })},
	{name: "log.roll.ms", typ: TypeLong, prio: 1, dynamic: true,
		doc:   "Milliseconds after which a new segment is started; overrides log.roll.hours.",
		apply: setMs(TypeLong, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogRoll })},
	{name: "log.roll.jitter.hours", typ: TypeInt, def: text("0"),
		doc:   "Largest random amount of hours taken off the roll time, so segments of many partitions do not roll at once; used when log.roll.jitter.ms is not set.",
		apply: setMs(TypeInt, 0, time.Hour, func(b *Broker) *time.Duration { return &b.LogRollJitter })},
	{name: "log.roll.jitter.ms", typ: TypeLong, prio: 1, dynamic: true,
		doc:   "Roll jitter in milliseconds; overrides log.roll.jitter.hours.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogRollJitter })},
	{name: "log.index.interval.bytes", typ: TypeInt, def: text("4096"), dynamic: true,
		doc:   "Bytes of log between two offset index entries.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.LogIndexIntervalBytes })},
	{name: "log.index.size.max.bytes", typ: TypeInt, def: text("10485760"), dynamic: true,
		doc:   "Largest size of an offset or time index file; a full index rolls the segment.",
		apply: setNum(TypeInt, 4, math.MaxInt32, func(b *Broker) *int32 { return &b.LogIndexSizeMaxBytes })},
	{name: "log.preallocate", typ: TypeBoolean, def: text("false"), dynamic: true,
		doc:   "Preallocate segment files at their full size.",
		apply: setBool(func(b *Broker) *bool { return &b.LogPreallocate })},

	// Flushing.
	{name: "log.flush.interval.messages", typ: TypeLong, def: maxLong, dynamic: true,
		doc:   "Records written to a partition before it is fsynced. The default leaves durability to replication and the page cache.",
		apply: setNum(TypeLong, 1, math.MaxInt64, func(b *Broker) *int64 { return &b.LogFlushIntervalMessages })},
	{name: "log.flush.scheduler.interval.ms", typ: TypeLong, def: maxLong,
		doc:   "How often logs are checked for a time-based flush; also the flush interval when log.flush.interval.ms is not set.",
		apply: setFlushScheduler},
	{name: "log.flush.interval.ms", typ: TypeLong, prio: 1, dynamic: true,
		doc:   "Milliseconds unflushed data may stay in the page cache before an fsync.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogFlushInterval })},

	// Records.
	{name: "message.max.bytes", typ: TypeInt, def: text("1048588"), dynamic: true,
		doc:   "Largest record batch the broker accepts, after compression.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.MessageMaxBytes })},
	{name: "compression.type", typ: TypeString, def: text("producer"), dynamic: true,
		doc:   "Compression of stored batches: producer keeps what the producer sent; uncompressed, gzip, snappy, lz4 or zstd recompress.",
		apply: setString(func(b *Broker) *string { return &b.CompressionType }, compressionTypes...)},
	{name: "log.message.timestamp.type", typ: TypeString, def: text("CreateTime"), dynamic: true,
		doc:   "Record timestamps: CreateTime keeps the producer's, LogAppendTime stamps the broker's time.",
		apply: setString(func(b *Broker) *string { return &b.LogMessageTimestampType }, timestampTypes...)},
	{name: "log.message.timestamp.difference.max.ms", typ: TypeLong, def: maxLong, dynamic: true,
		doc:   "Deprecated by the before/after pair: largest difference between a CreateTime timestamp and the broker's clock.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogMessageTimestampDifferenceMax })},
	{name: "log.message.timestamp.before.max.ms", typ: TypeLong, def: maxLong, dynamic: true,
		doc:   "How far in the past a CreateTime timestamp may be.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogMessageTimestampBeforeMax })},
	{name: "log.message.timestamp.after.max.ms", typ: TypeLong, def: maxLong, dynamic: true,
		doc:   "How far in the future a CreateTime timestamp may be.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogMessageTimestampAfterMax })},
	{name: "log.message.downconversion.enable", typ: TypeBoolean, def: text("true"), dynamic: true,
		doc:   "Convert batches to older formats for old consumers (accepted; Samsa serves magic v2 only).",
		apply: setBool(func(b *Broker) *bool { return &b.LogMessageDownConversionEnable })},

	// Compaction.
	{name: "log.cleaner.enable", typ: TypeBoolean, def: text("true"),
		doc:   "Run the log cleaner, which compacts topics with cleanup.policy=compact.",
		apply: setBool(func(b *Broker) *bool { return &b.LogCleanerEnable })},
	{name: "log.cleaner.backoff.ms", typ: TypeLong, def: text("15000"), dynamic: true,
		doc:   "How long the cleaner sleeps when no compacted log needs cleaning.",
		apply: setMs(TypeLong, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogCleanerBackoff })},
	{name: "log.cleaner.dedupe.buffer.size", typ: TypeLong, def: text("134217728"), dynamic: true,
		doc:   "Memory for the key map of one cleaning pass; a larger dirty section is cleaned over several passes.",
		apply: setNum(TypeLong, 1<<20, math.MaxInt64, func(b *Broker) *int64 { return &b.LogCleanerDedupeBufferSize })},
	{name: "log.cleaner.delete.retention.ms", typ: TypeLong, def: text("86400000"), dynamic: true,
		doc:   "How long delete tombstones are kept in compacted topics.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogCleanerDeleteRetention })},
	{name: "log.cleaner.min.compaction.lag.ms", typ: TypeLong, def: text("0"), dynamic: true,
		doc:   "Shortest time a record stays uncompacted.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogCleanerMinCompactionLag })},
	{name: "log.cleaner.max.compaction.lag.ms", typ: TypeLong, def: maxLong, dynamic: true,
		doc:   "Longest time a record may stay uncompacted.",
		apply: setMs(TypeLong, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.LogCleanerMaxCompactionLag })},
	{name: "log.cleaner.min.cleanable.ratio", typ: TypeDouble, def: text("0.5"), dynamic: true,
		doc:   "Share of a log that must be uncompacted before the cleaner compacts it.",
		apply: setRatio(func(b *Broker) *float64 { return &b.LogCleanerMinCleanableRatio })},

	// Replication.
	{name: "min.insync.replicas", typ: TypeInt, def: text("1"), dynamic: true,
		doc:   "Replicas that must be in sync for an acks=all produce to succeed.",
		apply: setNum(TypeInt, 1, math.MaxInt16, func(b *Broker) *int16 { return &b.MinInsyncReplicas })},
	{name: "unclean.leader.election.enable", typ: TypeBoolean, def: text("false"), dynamic: true,
		doc:   "Elect a replica outside the ISR when no in-sync replica is alive, at the risk of losing records.",
		apply: setBool(func(b *Broker) *bool { return &b.UncleanLeaderElection })},
	{name: "replica.fetch.max.bytes", typ: TypeInt, def: text("1048576"),
		doc:   "Bytes a follower asks for per partition in one fetch.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.ReplicaFetchMaxBytes })},
	{name: "replica.fetch.response.max.bytes", typ: TypeInt, def: text("10485760"),
		doc:   "Bytes a follower asks for in one fetch, over all partitions.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.ReplicaFetchResponseMaxBytes })},
	{name: "replica.fetch.wait.max.ms", typ: TypeInt, def: text("500"),
		doc:   "How long a follower's fetch waits at the leader for new records.",
		apply: setMs(TypeInt, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.ReplicaFetchWaitMax })},
	{name: "replica.fetch.min.bytes", typ: TypeInt, def: text("1"),
		doc:   "Bytes a follower's fetch waits for at the leader.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.ReplicaFetchMinBytes })},
	{name: "replica.fetch.backoff.ms", typ: TypeInt, def: text("1000"),
		doc:   "How long a follower waits after a failed fetch before the next.",
		apply: setMs(TypeInt, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.ReplicaFetchBackoff })},
	{name: "replica.socket.timeout.ms", typ: TypeInt, def: text("30000"),
		doc:   "Timeout of a follower's requests to its leader.",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.ReplicaSocketTimeout })},
	{name: "replica.lag.time.max.ms", typ: TypeLong, def: text("30000"),
		doc:   "A follower that has not caught up with the leader for this long leaves the ISR.",
		apply: setMs(TypeLong, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.ReplicaLagTimeMax })},
	{name: "replica.high.watermark.checkpoint.interval.ms", typ: TypeLong, def: text("5000"),
		doc:   "How often high watermarks are written to disk.",
		apply: setMs(TypeLong, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.ReplicaHighWatermarkCheckpointInterval })},
	{name: "num.replica.fetchers", typ: TypeInt, def: text("1"), dynamic: true,
		doc:   "Fetchers, each with its own connection, a follower runs for each leader broker; a partition goes to one by the hash of its name and number.",
		apply: setNum(TypeInt, 1, 64, func(b *Broker) *int32 { return &b.NumReplicaFetchers })},
	{name: "auto.leader.rebalance.enable", typ: TypeBoolean, def: text("true"),
		doc:   "The controller moves leadership back to preferred replicas when brokers hold too many leaders.",
		apply: setBool(func(b *Broker) *bool { return &b.AutoLeaderRebalanceEnable })},
	{name: "leader.imbalance.check.interval.seconds", typ: TypeLong, def: text("300"),
		doc:   "How often the controller checks for leader imbalance.",
		apply: setMs(TypeLong, 1, time.Second, func(b *Broker) *time.Duration { return &b.LeaderImbalanceCheckInterval })},
	{name: "leader.imbalance.per.broker.percentage", typ: TypeInt, def: text("10"),
		doc:   "Share of a broker's partitions led by others beyond which a preferred election runs.",
		apply: setNum(TypeInt, 0, 100, func(b *Broker) *int32 { return &b.LeaderImbalancePerBrokerPercentage })},
	{name: "controlled.shutdown.enable", typ: TypeBoolean, def: text("true"),
		doc:   "On SIGTERM, ask the controller to move leadership away before stopping.",
		apply: setBool(func(b *Broker) *bool { return &b.ControlledShutdownEnable })},
	{name: "controlled.shutdown.max.retries", typ: TypeInt, def: text("3"),
		doc:   "Attempts at a controlled shutdown before stopping anyway.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.ControlledShutdownMaxRetries })},
	{name: "controlled.shutdown.retry.backoff.ms", typ: TypeLong, def: text("5000"),
		doc:   "Wait between controlled shutdown attempts.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.ControlledShutdownRetryBackoff })},
	{name: "zookeeper.session.timeout.ms", typ: TypeInt, def: text("18000"),
		doc:   "ZooKeeper session timeout: a broker whose session lapses is considered dead.",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.ZookeeperSessionTimeout })},
	{name: "zookeeper.connection.timeout.ms", typ: TypeInt,
		doc:   "How long to wait for a ZooKeeper connection at startup; defaults to zookeeper.session.timeout.ms.",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.ZookeeperConnectionTimeout })},

	// Requests and connections.
	{name: "socket.request.max.bytes", typ: TypeInt, def: text("104857600"),
		doc:   "Largest request the broker reads; a larger one closes the connection.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.SocketRequestMaxBytes })},
	{name: "connections.max.idle.ms", typ: TypeLong, def: text("600000"),
		doc:   "Idle connections are closed after this many milliseconds, and so are connections whose client has taken no byte of a response for as long (it stopped reading).",
		apply: setMs(TypeLong, math.MinInt64, time.Millisecond, func(b *Broker) *time.Duration { return &b.ConnectionsMaxIdle })},
	{name: "connections.max.reauth.ms", typ: TypeLong, def: text("0"),
		doc:   "Longest a SASL session lasts before the client must re-authenticate on the same connection (KIP-368); a connection that sends any other request after that is closed. 0: sessions do not expire.",
		apply: setMs(TypeLong, 0, time.Millisecond, func(b *Broker) *time.Duration { return &b.SASL.MaxReauth })},
	{name: "sasl.enabled.mechanisms", typ: TypeList, def: text("GSSAPI"),
		doc:   "SASL mechanisms SASL_PLAINTEXT and SASL_SSL listeners enable: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER. listener.name.<listener>.sasl.enabled.mechanisms overrides it for one listener. Kafka's default GSSAPI (Kerberos) is refused on a SASL listener: Samsa has no Kerberos.",
		apply: setMechanismList(func(b *Broker) *[]string { return &b.SASL.EnabledMechanisms })},
	{name: "sasl.mechanism.inter.broker.protocol", typ: TypeString, def: text("GSSAPI"),
		doc:   "SASL mechanism brokers use to reach each other when the inter-broker listener is a SASL one.",
		apply: setString(func(b *Broker) *string { return &b.SASL.InterBrokerMechanism }, append([]string{"GSSAPI"}, saslMechanisms...)...)},
	{name: "sasl.oauthbearer.jwks.endpoint.url", typ: TypeString,
		doc:   "OAUTHBEARER: the identity provider's JWKS (https:// or file://); set, tokens are validated by signature (Kafka's OAuthBearerValidatorCallbackHandler), unset, unsecured JWTs are accepted (development only).",
		apply: setString(func(b *Broker) *string { return &b.SASL.OAuthBearer.JWKSEndpointURL })},
	{name: "sasl.oauthbearer.jwks.endpoint.refresh.ms", typ: TypeLong, def: text("3600000"),
		doc:   "OAUTHBEARER: how often an http(s) JWKS is fetched again (a token naming an unknown key also triggers a fetch).",
		apply: setMs(TypeLong, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.SASL.OAuthBearer.JWKSRefresh })},
	{name: "sasl.oauthbearer.expected.audience", typ: TypeList,
		doc: "OAUTHBEARER: audiences a token's aud claim must name one of (unset: a token with an aud claim is refused, as Kafka does).",
		apply: func(b *Broker, v string) error {
			b.SASL.OAuthBearer.ExpectedAudience = nil
			for _, a := range parseList(v) {
				if a = strings.TrimSpace(a); a != "" {
					b.SASL.OAuthBearer.ExpectedAudience = append(b.SASL.OAuthBearer.ExpectedAudience, a)
				}
			}
			return nil
		}},
	{name: "sasl.oauthbearer.expected.issuer", typ: TypeString,
		doc:   "OAUTHBEARER: the issuer a token's iss claim must equal (unset: not checked).",
		apply: setString(func(b *Broker) *string { return &b.SASL.OAuthBearer.ExpectedIssuer })},
	{name: "sasl.oauthbearer.sub.claim.name", typ: TypeString, def: text("sub"),
		doc:   "OAUTHBEARER (JWKS validation): the claim naming the principal.",
		apply: setString(func(b *Broker) *string { return &b.SASL.OAuthBearer.SubClaimName })},
	{name: "sasl.oauthbearer.scope.claim.name", typ: TypeString, def: text("scope"),
		doc:   "OAUTHBEARER (JWKS validation): the claim holding the token's scopes.",
		apply: setString(func(b *Broker) *string { return &b.SASL.OAuthBearer.ScopeClaimName })},
	{name: "sasl.oauthbearer.clock.skew.seconds", typ: TypeInt, def: text("30"),
		doc:   "OAUTHBEARER (JWKS validation): clock skew allowed when checking exp, nbf and iat.",
		apply: setMs(TypeInt, 0, time.Second, func(b *Broker) *time.Duration { return &b.SASL.OAuthBearer.ClockSkew })},
	{name: "queued.max.request.bytes", typ: TypeLong, def: text("33554432"),
		doc:   "Bytes of requests the broker holds at once while reading, queueing and serving them, counted as they arrive; a connection over it waits. -1: no bound (Kafka's default). Samsa's default bounds it; one request larger than the bound is still served, alone.",
		apply: setQueuedMaxRequestBytes},
	{name: "max.connections", typ: TypeInt, def: text("2147483647"), dynamic: true,
		doc:   "Connections the broker holds at once; at the limit, listeners stop accepting until one closes.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.MaxConnections })},
	{name: "max.connections.per.ip", typ: TypeInt, def: text("2147483647"), dynamic: true,
		doc:   "Connections one IP address may hold; one more is accepted and closed at once. 0 only with max.connections.per.ip.overrides.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.MaxConnectionsPerIP })},
	{name: "max.connections.per.ip.overrides", typ: TypeString, def: text(""), dynamic: true,
		doc:   "Per-address limits overriding max.connections.per.ip, comma-separated host:count pairs (\"hostName:100,127.0.0.1:200\"); host names are resolved when the value is set.",
		apply: setConnectionOverrides},
	{name: "max.connection.creation.rate", typ: TypeInt, def: text("2147483647"), dynamic: true, perListener: true,
		doc:   "New connections per second the broker accepts over all its listeners but the inter-broker one; past it, accepting waits (up to quota.window.size.seconds at a time) until the rate is back under it (KIP-612). listener.name.<listener>.max.connection.creation.rate bounds one listener on its own.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.MaxConnectionCreationRate })},
	// Client quotas (the quotas themselves are AlterClientQuotas').
	{name: "quota.window.num", typ: TypeInt, def: text("11"),
		doc:   "Samples a client quota's rate is measured over.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.QuotaWindowNum })},
	{name: "quota.window.size.seconds", typ: TypeInt, def: text("1"),
		doc:   "Seconds each quota sample spans; also the longest a connection creation or request_percentage throttle lasts.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.QuotaWindowSizeSeconds })},
	{name: "fetch.max.bytes", typ: TypeInt, def: text("57671680"),
		doc:   "Most bytes the broker returns for one fetch request.",
		apply: setNum(TypeInt, 1024, math.MaxInt32, func(b *Broker) *int32 { return &b.FetchMaxBytes })},
	{name: "max.incremental.fetch.session.cache.slots", typ: TypeInt, def: text("1000"),
		doc:   "Incremental fetch sessions (KIP-227) the broker keeps.",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.MaxIncrementalFetchSession })},
	{name: "producer.id.expiration.ms", typ: TypeInt, def: text("86400000"), dynamic: true,
		doc:   "How long the broker remembers an idempotent producer that has stopped writing.",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.ProducerIDExpiration })},

	// Groups and offsets.
	{name: "offsets.topic.num.partitions", typ: TypeInt, def: text("50"),
		doc:   "Partitions of the __consumer_offsets topic.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.OffsetsTopicNumPartitions })},
	{name: "offsets.topic.replication.factor", typ: TypeShort, def: text("3"),
		doc:   "Replication factor of the __consumer_offsets topic. A single broker (no zookeeper.connect) caps it at 1; a cluster creates the topic only once this many brokers are alive, as Kafka does.",
		apply: setNum(TypeShort, 1, math.MaxInt16, func(b *Broker) *int16 { return &b.OffsetsTopicReplication })},
	{name: "offsets.topic.segment.bytes", typ: TypeInt, def: text("104857600"),
		doc:   "Segment size of the __consumer_offsets topic, kept small so compaction and loading stay quick.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.OffsetsTopicSegmentBytes })},
	{name: "offsets.retention.check.interval.ms", typ: TypeLong, def: text("600000"),
		doc:   "How often the group coordinator looks for expired offsets.",
		apply: setMs(TypeLong, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.OffsetsRetentionCheckInterval })},
	{name: "offsets.commit.timeout.ms", typ: TypeInt, def: text("5000"),
		doc:   "How long an offset commit waits for __consumer_offsets to be replicated.",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.OffsetsCommitTimeout })},
	{name: "offset.metadata.max.bytes", typ: TypeInt, def: text("4096"),
		doc:   "Longest metadata string an offset commit may carry (OFFSET_METADATA_TOO_LARGE beyond).",
		apply: setNum(TypeInt, 0, math.MaxInt32, func(b *Broker) *int32 { return &b.OffsetMetadataMaxBytes })},
	{name: "group.max.size", typ: TypeInt, def: text("2147483647"),
		doc:   "Most members a consumer group may have (GROUP_MAX_SIZE_REACHED beyond).",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.GroupMaxSize })},
	{name: "offsets.retention.minutes", typ: TypeInt, def: text("10080"),
		doc:   "How long committed offsets of an empty group are kept.",
		apply: setMs(TypeInt, 1, time.Minute, func(b *Broker) *time.Duration { return &b.OffsetsRetention })},
	// Transactions.
	{name: "transaction.state.log.num.partitions", typ: TypeInt, def: text("50"),
		doc:   "Partitions of the __transaction_state topic.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.TxnStateNumPartitions })},
	{name: "transaction.state.log.replication.factor", typ: TypeShort, def: text("3"),
		doc:   "Replication factor of the __transaction_state topic. A single broker caps it at 1; a cluster creates the topic only once this many brokers are alive, as Kafka does.",
		apply: setNum(TypeShort, 1, math.MaxInt16, func(b *Broker) *int16 { return &b.TxnStateReplication })},
	{name: "transaction.state.log.min.isr", typ: TypeInt, def: text("2"),
		doc:   "min.insync.replicas of the __transaction_state topic (capped at its replication factor).",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.TxnStateMinISR })},
	{name: "transaction.state.log.segment.bytes", typ: TypeInt, def: text("104857600"),
		doc:   "Segment size of the __transaction_state topic.",
		apply: setNum(TypeInt, 1, math.MaxInt32, func(b *Broker) *int32 { return &b.TxnStateSegmentBytes })},
	{name: "transaction.max.timeout.ms", typ: TypeInt, def: text("900000"),
		doc:   "Longest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT beyond).",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.TxnMaxTimeout })},
	{name: "transactional.id.expiration.ms", typ: TypeInt, def: text("604800000"),
		doc:   "How long the coordinator keeps a transactional ID that has no transaction running.",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.TxnIDExpiration })},
	{name: "transaction.abort.timed.out.transaction.cleanup.interval.ms", typ: TypeInt, def: text("10000"),
		doc:   "How often the coordinator aborts transactions that outlived their timeout.",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.TxnAbortTimedOutInterval })},
	{name: "transaction.remove.expired.transaction.cleanup.interval.ms", typ: TypeInt, def: text("3600000"),
		doc:   "How often the coordinator forgets expired transactional IDs.",
		apply: setMs(TypeInt, 1, time.Millisecond, func(b *Broker) *time.Duration { return &b.TxnRemoveExpiredInterval })},
	{name: "transaction.partition.verification.enable", typ: TypeBoolean, def: text("true"), dynamic: true,
		doc:   "Partition leaders ask the transaction coordinator whether a transactional write's partition is in its transaction before the write opens a transaction there (KIP-890).",
		apply: setBool(func(b *Broker) *bool { return &b.TxnPartitionVerification })},

	{name: "group.initial.rebalance.delay.ms", typ: TypeInt, def: text("3000"),
		doc:   "How long a new group waits for more members before its first rebalance.",
		apply: setMs(TypeInt, math.MinInt32, time.Millisecond, func(b *Broker) *time.Duration { return &b.GroupInitialRebalanceDelay })},
	{name: "group.min.session.timeout.ms", typ: TypeInt, def: text("6000"),
		doc:   "Smallest session timeout a group member may ask for.",
		apply: setMs(TypeInt, math.MinInt32, time.Millisecond, func(b *Broker) *time.Duration { return &b.GroupMinSessionTimeout })},
	{name: "group.max.session.timeout.ms", typ: TypeInt, def: text("1800000"),
		doc:   "Largest session timeout a group member may ask for.",
		apply: setMs(TypeInt, math.MinInt32, time.Millisecond, func(b *Broker) *time.Duration { return &b.GroupMaxSessionTimeout })},
}

// brokerKeyByName indexes brokerKeys.
var brokerKeyByName = func() map[string]*brokerKey {
	m := make(map[string]*brokerKey, len(brokerKeys))
	for i := range brokerKeys {
		m[brokerKeys[i].name] = &brokerKeys[i]
	}
	return m
}()

// Key describes one broker config key.
type Key struct {
	Name string
	Type int8
	// Default is the built-in default as text; nil when there is none
	// and a synonym supplies the value (log.retention.ms).
	Default *string
	Doc     string
	// Dynamic keys may be altered while the broker runs
	// (ValidateBrokerDynamic, WithDynamic).
	Dynamic bool
}

// BrokerKeys lists every broker key Samsa supports, sorted by name.
func BrokerKeys() []Key {
	keys := make([]Key, 0, len(brokerKeys))
	for _, k := range brokerKeys {
		keys = append(keys, Key{Name: k.name, Type: k.typ, Default: k.def, Doc: k.doc, Dynamic: k.dynamic})
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	return keys
}

// brokerSynonyms are the keys that set the same value, in Kafka's order of
// precedence (DynamicBrokerConfig.brokerConfigSynonyms). DescribeConfigs
// lists them as synonyms.
func brokerSynonyms(name string) []string {
	switch name {
	case "log.roll.ms", "log.roll.hours":
		return []string{"log.roll.ms", "log.roll.hours"}
	case "log.roll.jitter.ms", "log.roll.jitter.hours":
		return []string{"log.roll.jitter.ms", "log.roll.jitter.hours"}
	case "log.flush.interval.ms":
		// log.flush.scheduler.interval.ms is its default, not the reverse.
		return []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}
	case "log.retention.ms", "log.retention.minutes", "log.retention.hours":
		return []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}
	}
	return []string{name}
}

// Setters.

func setNum[T ~int16 | ~int32 | ~int64](typ int8, lo, hi int64, field func(*Broker) *T) func(*Broker, string) error {
	return func(b *Broker, v string) error {
		n, err := parseInt(v, typ, lo, hi)
		if err != nil {
			return err
		}
		*field(b) = T(n)
		return nil
	}
}

// setMs parses a count of unit (milliseconds, minutes or hours) into a
// Duration field.
func setMs(typ int8, lo int64, unit time.Duration, field func(*Broker) *time.Duration) func(*Broker, string) error {
	return func(b *Broker, v string) error {
		n, err := parseInt(v, typ, lo, math.MaxInt64)
		if err != nil {
			return err
		}
		*field(b) = msToDuration(unitToMs(n, unit))
		return nil
	}
}

// setRetention handles log.retention.{ms,minutes,hours}: a negative value
// means no time limit, and zero is refused as Kafka refuses it.
func setRetention(unit time.Duration) func(*Broker, string) error {
	typ := TypeInt
	if unit == time.Millisecond {
		typ = TypeLong
	}
	return func(b *Broker, v string) error {
		n, err := parseInt(v, typ, math.MinInt64, math.MaxInt64)
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("must be -1 (unlimited) or at least 1")
		}
		b.LogRetention = msToDuration(unitToMs(n, unit))
		return nil
	}
}

func setFlushScheduler(b *Broker, v string) error {
	n, err := parseInt(v, TypeLong, math.MinInt64, math.MaxInt64)
	if err != nil {
		return err
	}
	d := msToDuration(n)
	b.LogFlushSchedulerInterval = d
	// Kafka: log.flush.interval.ms defaults to the scheduler interval.
	// log.flush.interval.ms has a higher prio, so when it is set it is
	// applied after this and wins.
	b.LogFlushInterval = d
	return nil
}

func setBool(field func(*Broker) *bool) func(*Broker, string) error {
	return func(b *Broker, v string) error {
		x, err := parseBool(v)
		if err != nil {
			return err
		}
		*field(b) = x
		return nil
	}
}

// setString stores a string; with choices, it must be one of them.
func setString(field func(*Broker) *string, choices ...string) func(*Broker, string) error {
	return func(b *Broker, v string) error {
		if len(choices) > 0 {
			if _, err := parseChoice(v, choices...); err != nil {
				return err
			}
		}
		*field(b) = v
		return nil
	}
}

// setAuthorizerClassName takes an empty name (no authorization) or one of
// acl.ClassNames: a broker asked for an authorizer it does not have must
// not start open to everyone.
func setAuthorizerClassName(b *Broker, v string) error {
	if v != "" && !slices.Contains(acl.ClassNames, v) {
		return fmt.Errorf("unknown authorizer %q (Samsa has %s)", v, strings.Join(acl.ClassNames, ", "))
	}
	b.AuthorizerClassName = v
	return nil
}

// setQueuedMaxRequestBytes takes a byte count, or a non-positive value
// for no bound (Kafka's -1).
func setQueuedMaxRequestBytes(b *Broker, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return fmt.Errorf("not a number")
	}
	b.QueuedMaxRequestBytes = max(n, -1)
	return nil
}

// setConnectionOverrides parses max.connections.per.ip.overrides, resolving
// host names now, as Kafka does.
func setConnectionOverrides(b *Broker, v string) error {
	m, err := wire.ParseConnectionOverrides(v, func(host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	})
	if err != nil {
		return err
	}
	b.MaxConnectionsPerIPOverrides = m
	return nil
}

// setZookeeperConnect checks "host:port[,host:port...][/chroot]".
func setZookeeperConnect(b *Broker, v string) error {
	if v == "" {
		b.ZookeeperConnect = ""
		return nil
	}
	servers, chroot := v, ""
	if i := strings.IndexByte(v, '/'); i >= 0 {
		servers, chroot = v[:i], v[i:]
		if chroot == "/" || strings.HasSuffix(chroot, "/") || strings.Contains(chroot, "//") {
			return fmt.Errorf("chroot %q is not a ZooKeeper path", chroot)
		}
	}
	for _, server := range strings.Split(servers, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(server))
		if err != nil || host == "" {
			return fmt.Errorf("%q is not host:port", server)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("port %q of %s is not a number between 1 and 65535", port, server)
		}
	}
	b.ZookeeperConnect = v
	return nil
}

func setRatio(field func(*Broker) *float64) func(*Broker, string) error {
	return func(b *Broker, v string) error {
		f, err := parseDouble(v, 0, 1)
		if err != nil {
			return err
		}
		*field(b) = f
		return nil
	}
}

func setCleanupPolicy(b *Broker, v string) error {
	policy, _, _, err := parseCleanupPolicy(v)
	if err != nil {
		return err
	}
	b.LogCleanupPolicy = policy
	return nil
}

func setLogDirs(b *Broker, v string) error {
	var dirs []string
	seen := make(map[string]bool)
	for _, d := range parseList(v) {
		if d == "" {
			continue
		}
		if seen[d] {
			return errors.New("directory " + d + " is listed twice")
		}
		seen[d] = true
		dirs = append(dirs, d)
	}
	if len(dirs) == 0 {
		return errors.New("at least one directory is required")
	}
	b.LogDirs = dirs
	return nil
}

// setMetricsListener checks "http://host:port": the scheme must be http
// (there is no TLS yet) and the address nothing but a host and a port.
func setMetricsListener(b *Broker, v string) error {
	if v == "" {
		b.MetricsListener = ""
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("want http://host:port: %w", err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("want http://host:port, got scheme %q", u.Scheme)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("want http://host:port, with no user, path or query")
	}
	_, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return fmt.Errorf("want http://host:port: %w", err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("want http://host:port, with a port from 0 to 65535, got %q", port)
	}
	b.MetricsListener = "http://" + u.Host
	return nil
}

func setListeners(field func(*Broker) *[]Listener) func(*Broker, string) error {
	return func(b *Broker, v string) error {
		ls, err := parseListeners(v)
		if err != nil {
			return err
		}
		*field(b) = ls
		return nil
	}
}

// securityProtocols are Kafka's SecurityProtocol names.
var securityProtocols = []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}

func setProtocolMap(b *Broker, v string) error {
	m := make(map[string]string)
	for _, item := range parseList(v) {
		name, proto, ok := strings.Cut(item, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		if !ok || name == "" {
			return errors.New("want NAME:PROTOCOL pairs, got " + item)
		}
		if _, err := parseChoice(proto, securityProtocols...); err != nil {
			return errors.New("unknown security protocol " + proto + " for listener " + name)
		}
		if _, dup := m[name]; dup {
			return errors.New("listener " + name + " is mapped twice")
		}
		m[name] = proto
	}
	b.ListenerSecurityProtocolMap = m
	return nil
}
