package config

import (
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// load builds a config from server.properties text and overrides, failing
// the test on an error.
func load(t *testing.T, file string, overrides ...string) (*Broker, []string) {
	t.Helper()
	path := ""
	if file != "" {
		path = filepath.Join(t.TempDir(), "server.properties")
		if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, warnings, err := Load(path, overrides)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return b, warnings
}

func loadErr(t *testing.T, file string, overrides ...string) error {
	t.Helper()
	path := ""
	if file != "" {
		path = filepath.Join(t.TempDir(), "server.properties")
		if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := Load(path, overrides)
	if err == nil {
		t.Fatalf("Load(%q, %q): no error", file, overrides)
	}
	return err
}

// TestDefaultsAreKafkas pins every default: Kafka's (3.x) except broker.id,
// listeners and log.dir, which Samsa chooses for a single local broker.
func TestDefaultsAreKafkas(t *testing.T) {
	b := Default()
	want := Broker{
		BrokerID:            0,
		Listeners:           []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, SecurityProtocol: "PLAINTEXT"}},
		AdvertisedListeners: []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, SecurityProtocol: "PLAINTEXT"}},
		LogDirs:             []string{"./data"},
		ListenerSecurityProtocolMap: map[string]string{
			"PLAINTEXT": "PLAINTEXT", "SSL": "SSL", "SASL_PLAINTEXT": "SASL_PLAINTEXT", "SASL_SSL": "SASL_SSL",
		},
		NumPartitions:                          1,
		DefaultReplicationFactor:               1,
		AutoCreateTopicsEnable:                 true,
		DeleteTopicEnable:                      true,
		LogRetention:                           168 * time.Hour,
		LogRetentionBytes:                      -1,
		LogRetentionCheckInterval:              300 * time.Second,
		LogSegmentBytes:                        1 << 30,
		LogRoll:                                168 * time.Hour,
		LogRollJitter:                          0,
		LogFlushIntervalMessages:               math.MaxInt64,
		LogFlushInterval:                       Forever,
		LogFlushSchedulerInterval:              Forever,
		LogIndexIntervalBytes:                  4096,
		LogIndexSizeMaxBytes:                   10 << 20,
		LogPreallocate:                         false,
		LogCleanupPolicy:                       "delete",
		LogMessageTimestampType:                "CreateTime",
		LogMessageTimestampDifferenceMax:       Forever,
		LogMessageTimestampBeforeMax:           Forever,
		LogMessageTimestampAfterMax:            Forever,
		LogMessageDownConversionEnable:         true,
		LogSegmentDeleteDelay:                  time.Minute,
		LogCleanerEnable:                       true,
		LogCleanerBackoff:                      15 * time.Second,
		LogCleanerDedupeBufferSize:             128 << 20,
		LogCleanerDeleteRetention:              24 * time.Hour,
		LogCleanerMinCompactionLag:             0,
		LogCleanerMaxCompactionLag:             Forever,
		LogCleanerMinCleanableRatio:            0.5,
		CompressionType:                        "producer",
		MessageMaxBytes:                        1048588,
		MinInsyncReplicas:                      1,
		UncleanLeaderElection:                  false,
		SocketRequestMaxBytes:                  104857600,
		ConnectionsMaxIdle:                     10 * time.Minute,
		QueuedMaxRequestBytes:                  32 << 20, // Samsa's: Kafka's -1 is unbounded
		MaxConnections:                         math.MaxInt32,
		MaxConnectionsPerIP:                    math.MaxInt32,
		MaxConnectionsPerIPOverrides:           map[netip.Addr]int{},
		MaxConnectionCreationRate:              math.MaxInt32,
		QuotaWindowNum:                         11,
		QuotaWindowSizeSeconds:                 1,
		ReplicaFetchMaxBytes:                   1048576,
		ReplicaFetchResponseMaxBytes:           10 << 20,
		ReplicaFetchWaitMax:                    500 * time.Millisecond,
		ReplicaFetchMinBytes:                   1,
		ReplicaFetchBackoff:                    time.Second,
		ReplicaSocketTimeout:                   30 * time.Second,
		ReplicaLagTimeMax:                      30 * time.Second,
		ReplicaHighWatermarkCheckpointInterval: 5 * time.Second,
		NumReplicaFetchers:                     1,
		AutoLeaderRebalanceEnable:              true,
		LeaderImbalanceCheckInterval:           300 * time.Second,
		LeaderImbalancePerBrokerPercentage:     10,
		ControlledShutdownEnable:               true,
		ControlledShutdownMaxRetries:           3,
		ControlledShutdownRetryBackoff:         5 * time.Second,
		ZookeeperSessionTimeout:                18 * time.Second,
		FetchMaxBytes:                          57671680,
		MaxIncrementalFetchSession:             1000,
		ProducerIDExpiration:                   24 * time.Hour,
		OffsetsTopicNumPartitions:              50,
		OffsetsTopicReplication:                3,
		OffsetsRetention:                       7 * 24 * time.Hour,
		OffsetsTopicSegmentBytes:               104857600,
		OffsetsRetentionCheckInterval:          10 * time.Minute,
		OffsetsCommitTimeout:                   5 * time.Second,
		OffsetMetadataMaxBytes:                 4096,
		TxnStateNumPartitions:                  50,
		TxnStateReplication:                    3,
		TxnStateMinISR:                         2,
		TxnStateSegmentBytes:                   104857600,
		TxnMaxTimeout:                          15 * time.Minute,
		TxnIDExpiration:                        7 * 24 * time.Hour,
		TxnAbortTimedOutInterval:               10 * time.Second,
		TxnRemoveExpiredInterval:               time.Hour,
		TxnPartitionVerification:               true,
		GroupMaxSize:                           2147483647,
		GroupInitialRebalanceDelay:             3 * time.Second,
		GroupMinSessionTimeout:                 6 * time.Second,
		GroupMaxSessionTimeout:                 30 * time.Minute,
		SASL: SASL{EnabledMechanisms: []string{"GSSAPI"}, InterBrokerMechanism: "GSSAPI", Listeners: map[string]SASLListener{},
			OAuthBearer: OAuthBearer{JWKSRefresh: time.Hour, SubClaimName: "sub", ScopeClaimName: "scope", ClockSkew: 30 * time.Second}},
		ListenerScoped: map[string]string{},
		Set:            map[string]string{},
	}
	if !reflect.DeepEqual(*b, want) {
		t.Errorf("Default() =\n%+v\nwant\n%+v", *b, want)
	}
}

func TestOverridesWinOverTheFile(t *testing.T) {
	b, _ := load(t, "num.partitions=3\nlog.segment.bytes=1000\n", "num.partitions=7", "broker.id = 4")
	if b.NumPartitions != 7 || b.LogSegmentBytes != 1000 || b.BrokerID != 4 {
		t.Errorf("num.partitions=%d log.segment.bytes=%d broker.id=%d, want 7, 1000, 4", b.NumPartitions, b.LogSegmentBytes, b.BrokerID)
	}
	if b.Set["num.partitions"] != "7" || b.Set["log.segment.bytes"] != "1000" || b.Set["broker.id"] != "4" {
		t.Errorf("Set = %v", b.Set)
	}
	if _, ok := b.Set["log.retention.hours"]; ok {
		t.Error("a default is recorded in Set")
	}
}

func TestOverrideWithoutEqualsIsAnError(t *testing.T) {
	err := loadErr(t, "", "num.partitions")
	if !strings.Contains(err.Error(), `"num.partitions"`) {
		t.Errorf("error %q does not quote the override", err)
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	if _, _, err := Load(filepath.Join(t.TempDir(), "nope.properties"), nil); err == nil {
		t.Error("no error")
	}
}

func TestRetentionSynonymsMsBeatMinutesBeatHours(t *testing.T) {
	cases := []struct {
		file string
		want time.Duration
	}{
		{"", 168 * time.Hour},
		{"log.retention.hours=2", 2 * time.Hour},
		{"log.retention.minutes=30\nlog.retention.hours=2", 30 * time.Minute},
		{"log.retention.ms=1500\nlog.retention.minutes=30\nlog.retention.hours=2", 1500 * time.Millisecond},
		{"log.retention.hours=2\nlog.retention.ms=1500", 1500 * time.Millisecond},
		{"log.retention.ms=-1\nlog.retention.hours=2", -1},
		{"log.retention.hours=-1", -1},
	}
	for _, c := range cases {
		b, _ := load(t, c.file)
		if b.LogRetention != c.want {
			t.Errorf("%q: LogRetention = %v, want %v", c.file, b.LogRetention, c.want)
		}
	}
	// The flag for a less precise synonym does not beat a more precise
	// one from the file: precedence is by key, not by where it was set.
	b, _ := load(t, "log.retention.ms=1500", "log.retention.hours=5")
	if b.LogRetention != 1500*time.Millisecond {
		t.Errorf("LogRetention = %v, want 1.5s", b.LogRetention)
	}
	if err := loadErr(t, "log.retention.ms=0"); !strings.Contains(err.Error(), "log.retention.ms") {
		t.Errorf("error %q does not name the key", err)
	}
}

func TestRollAndDirSynonyms(t *testing.T) {
	b, _ := load(t, "log.roll.hours=3\nlog.roll.ms=2000\nlog.roll.jitter.hours=1\nlog.dir=/a\nlog.dirs=/b, /c")
	if b.LogRoll != 2*time.Second {
		t.Errorf("LogRoll = %v, want 2s", b.LogRoll)
	}
	if b.LogRollJitter != time.Hour {
		t.Errorf("LogRollJitter = %v, want 1h", b.LogRollJitter)
	}
	if !reflect.DeepEqual(b.LogDirs, []string{"/b", "/c"}) {
		t.Errorf("LogDirs = %q, want [/b /c]", b.LogDirs)
	}
	b, _ = load(t, "log.dir=/a")
	if !reflect.DeepEqual(b.LogDirs, []string{"/a"}) {
		t.Errorf("LogDirs = %q, want [/a]", b.LogDirs)
	}
	loadErr(t, "log.dirs=/a,/a")
	loadErr(t, "log.dirs= , ")
}

func TestFlushIntervalDefaultsToTheSchedulerInterval(t *testing.T) {
	b, _ := load(t, "log.flush.scheduler.interval.ms=2000")
	if b.LogFlushInterval != 2*time.Second || b.LogFlushSchedulerInterval != 2*time.Second {
		t.Errorf("flush interval %v, scheduler %v; want 2s, 2s", b.LogFlushInterval, b.LogFlushSchedulerInterval)
	}
	b, _ = load(t, "log.flush.interval.ms=500\nlog.flush.scheduler.interval.ms=2000")
	if b.LogFlushInterval != 500*time.Millisecond || b.LogFlushSchedulerInterval != 2*time.Second {
		t.Errorf("flush interval %v, scheduler %v; want 500ms, 2s", b.LogFlushInterval, b.LogFlushSchedulerInterval)
	}
}

func TestUnknownKeyWarnsAndIsIgnored(t *testing.T) {
	// Kafka's stock server.properties has keys Samsa has no use for.
	b, warnings := load(t, "num.network.threads=3\nnum.partitions=2\n", "socket.send.buffer.bytes=102400")
	if b.NumPartitions != 2 {
		t.Errorf("NumPartitions = %d", b.NumPartitions)
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "num.network.threads") || !strings.Contains(warnings[1], "socket.send.buffer.bytes") {
		t.Errorf("warnings = %q", warnings)
	}
	if _, ok := b.Set["num.network.threads"]; ok {
		t.Error("an unknown key is recorded in Set")
	}
}

func TestInvalidValueErrorNamesKeyAndValue(t *testing.T) {
	cases := []struct{ setting, want string }{
		{"log.segment.bytes=abc", `invalid value "abc" for log.segment.bytes: not a number`},
		{"log.segment.bytes=13", `invalid value "13" for log.segment.bytes: must be at least 14`},
		{"log.segment.bytes=4294967296", `invalid value "4294967296" for log.segment.bytes: out of range for type INT`},
		{"num.partitions=0", `invalid value "0" for num.partitions: must be at least 1`},
		{"message.max.bytes=-1", `invalid value "-1" for message.max.bytes: must be at least 0`},
		{"min.insync.replicas=0", `invalid value "0" for min.insync.replicas: must be between 1 and 32767`},
		{"auto.create.topics.enable=yes", `invalid value "yes" for auto.create.topics.enable: expected true or false`},
		{"log.cleanup.policy=compact,forever", `invalid value "compact,forever" for log.cleanup.policy`},
		{"compression.type=brotli", `invalid value "brotli" for compression.type: must be one of`},
		{"log.message.timestamp.type=createtime", `invalid value "createtime" for log.message.timestamp.type`},
		{"log.cleaner.min.cleanable.ratio=1.5", `invalid value "1.5" for log.cleaner.min.cleanable.ratio: must be between 0.0 and 1.0`},
		{"fetch.max.bytes=1000", `invalid value "1000" for fetch.max.bytes: must be at least 1024`},
		{"broker.id=-1", `invalid value "-1" for broker.id`},
		// Cross-key checks, as Kafka's KafkaConfig makes them.
		{"replica.fetch.wait.max.ms=40000", `invalid value "40000" for replica.fetch.wait.max.ms: replica.socket.timeout.ms should always be at least`},
		{"replica.lag.time.max.ms=100", `invalid value "500" for replica.fetch.wait.max.ms: replica.fetch.wait.max.ms should always be less than or equal to replica.lag.time.max.ms`},
		{"max.connections.per.ip=0", `invalid value "0" for max.connections.per.ip`},
	}
	for _, c := range cases {
		err := loadErr(t, c.setting+"\n")
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %q, want it to start with %q", c.setting, err, c.want)
		}
		// The same from a flag.
		err = loadErr(t, "", c.setting)
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("flag %s: error %q, want it to start with %q", c.setting, err, c.want)
		}
	}
}

func TestValuesAreTrimmedAndBooleansIgnoreCase(t *testing.T) {
	b, _ := load(t, "num.partitions =  4  \nauto.create.topics.enable=FALSE\n")
	if b.NumPartitions != 4 || b.AutoCreateTopicsEnable {
		t.Errorf("num.partitions=%d auto.create=%v", b.NumPartitions, b.AutoCreateTopicsEnable)
	}
}

func TestListeners(t *testing.T) {
	b, _ := load(t, "listeners=PLAINTEXT://:0,internal://[::1]:9093\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT\n")
	host, _ := os.Hostname()
	wantL := []Listener{
		{Name: "PLAINTEXT", Host: "", Port: 0, SecurityProtocol: "PLAINTEXT"},
		{Name: "INTERNAL", Host: "::1", Port: 9093, SecurityProtocol: "PLAINTEXT"},
	}
	if !reflect.DeepEqual(b.Listeners, wantL) {
		t.Errorf("Listeners = %+v", b.Listeners)
	}
	if host != "" && b.AdvertisedListeners[0].Host != host {
		t.Errorf("advertised host %q, want the host name %q", b.AdvertisedListeners[0].Host, host)
	}
	if b.Listeners[1].Addr() != "[::1]:9093" {
		t.Errorf("Addr() = %q", b.Listeners[1].Addr())
	}

	// A port-0 listener learns its port once bound; so does the
	// advertised listener derived from it.
	b.SetBoundPort("PLAINTEXT", 40001)
	if b.Listeners[0].Port != 40001 || b.AdvertisedListeners[0].Port != 40001 || b.AdvertisedListeners[1].Port != 9093 {
		t.Errorf("after SetBoundPort: listeners %+v, advertised %+v", b.Listeners, b.AdvertisedListeners)
	}

	b, _ = load(t, "listeners=PLAINTEXT://0.0.0.0:9092\nadvertised.listeners=PLAINTEXT://kafka.example:9092\n")
	if b.AdvertisedListeners[0].Host != "kafka.example" || b.AdvertisedListeners[0].SecurityProtocol != "PLAINTEXT" {
		t.Errorf("advertised = %+v", b.AdvertisedListeners)
	}
}

func TestBadListenersAreErrors(t *testing.T) {
	cases := []struct{ file, want string }{
		{"listeners=CLIENT://:9093", "no security protocol for listener CLIENT"},
		{"listeners=PLAINTEXT://:9093\nlistener.security.protocol.map=CLIENT:PLAINTEXT", "no security protocol for listener PLAINTEXT"},
		{"listener.security.protocol.map=CLIENT:TLS", "unknown security protocol TLS"},
		{"listeners=localhost:9092", "not NAME://host:port"},
		{"listeners=PLAINTEXT://host", "not NAME://host:port"},
		{"listeners=PLAINTEXT://host:99999", "not a number between 0 and 65535"},
		{"listeners=", "at least one listener is required"},
		{"listeners=PLAINTEXT://:9092,OTHER://:9092\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT", "both use port 9092"},
		{"listeners=PLAINTEXT://:9092,plaintext://:9093", "listed twice"},
		{"listeners=PLAINTEXT://0.0.0.0:9092", "cannot advertise the non-routable address 0.0.0.0"},
		{"advertised.listeners=PLAINTEXT://[::]:9092", "non-routable"},
		{"advertised.listeners=OTHER://h:9092", "listener OTHER is not in listeners"},
		{"listeners=PLAINTEXT://:0\nadvertised.listeners=PLAINTEXT://h:0", "port 0 cannot be advertised"},
	}
	for _, c := range cases {
		err := loadErr(t, c.file)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q, want %q", c.file, err, c.want)
		}
	}
}

func TestWithDynamicLayersStaticThenClusterThenBroker(t *testing.T) {
	static, _ := load(t, "log.retention.hours=1\nlog.segment.bytes=5000\nnum.partitions=2\n")
	e := static.WithDynamic(
		map[string]string{"log.retention.ms": "60000", "log.segment.bytes": "4000", "message.max.bytes": "100",
			"num.partitions": "9", "log.retention.hours": "3"}, // not dynamic: ignored
		map[string]string{"log.segment.bytes": "3000", "message.max.bytes": "not a number"}, // invalid: ignored
	)
	if e.LogRetention != time.Minute {
		t.Errorf("LogRetention = %v, want the cluster default 1m", e.LogRetention)
	}
	if e.LogSegmentBytes != 3000 {
		t.Errorf("LogSegmentBytes = %d, want the per-broker 3000", e.LogSegmentBytes)
	}
	if e.MessageMaxBytes != 100 {
		t.Errorf("MessageMaxBytes = %d, want the cluster default 100", e.MessageMaxBytes)
	}
	if e.NumPartitions != 2 {
		t.Errorf("NumPartitions = %d: a non-dynamic key was applied", e.NumPartitions)
	}
	if static.LogSegmentBytes != 5000 || static.LogRetention != time.Hour {
		t.Error("WithDynamic changed its receiver")
	}
	if tc := e.ResolveTopic(nil); tc.RetentionMs != 60000 || tc.SegmentBytes != 3000 {
		t.Errorf("topic defaults: retention.ms=%d segment.bytes=%d", tc.RetentionMs, tc.SegmentBytes)
	}
}

func TestValidateBrokerDynamic(t *testing.T) {
	if err := ValidateBrokerDynamic(map[string]string{"log.retention.ms": "1000", "log.cleanup.policy": "compact", "producer.id.expiration.ms": "5000"}); err != nil {
		t.Errorf("valid dynamic configs: %v", err)
	}
	cases := []struct {
		configs map[string]string
		kind    ConfigErrorKind
		msg     string
	}{
		{map[string]string{"num.partitions": "3"}, NotDynamic, "Cannot update these configs dynamically: Set(num.partitions)"},
		{map[string]string{"log.retention.hours": "3"}, NotDynamic, "Cannot update these configs dynamically: Set(log.retention.hours)"},
		{map[string]string{"listeners": "PLAINTEXT://:1"}, NotDynamic, "Cannot update these configs dynamically: Set(listeners)"},
		{map[string]string{"log.retention.ms": "abc"}, InvalidValue, "Invalid value abc for configuration log.retention.ms: not a number"},
		{map[string]string{"log.segment.bytes": "1"}, InvalidValue, "Invalid value 1 for configuration log.segment.bytes: must be at least 14"},
		{map[string]string{"no.such.key": "1"}, UnknownBrokerConfig, "Unknown broker config name: no.such.key"},
	}
	for _, c := range cases {
		err := ValidateBrokerDynamic(c.configs)
		ce, ok := err.(*ConfigError)
		if !ok {
			t.Errorf("%v: error %v is not a *ConfigError", c.configs, err)
			continue
		}
		if ce.Kind != c.kind || ce.Error() != c.msg {
			t.Errorf("%v: kind %d message %q, want %d %q", c.configs, ce.Kind, ce.Error(), c.kind, c.msg)
		}
	}
}

// TestDynamicKeysAreKafkas: Kafka lets the first broker synonym of each
// topic config change at run time, never the less precise ones.
func TestDynamicKeysAreKafkas(t *testing.T) {
	for _, tk := range topicKeys {
		for i, s := range tk.synonyms {
			bk := brokerKeyByName[s]
			if bk == nil {
				t.Errorf("%s: synonym %s is not a broker key", tk.name, s)
				continue
			}
			if bk.dynamic != (i == 0) {
				t.Errorf("%s: broker key %s dynamic=%v", tk.name, s, bk.dynamic)
			}
		}
	}
	for _, name := range []string{"broker.id", "listeners", "advertised.listeners", "log.dirs", "num.partitions",
		"zookeeper.connect", "log.retention.check.interval.ms", "socket.request.max.bytes"} {
		if brokerKeyByName[name].dynamic {
			t.Errorf("%s is dynamic", name)
		}
	}
}

func TestEveryKeyIsDocumentedAndTyped(t *testing.T) {
	seen := make(map[string]bool)
	for _, k := range brokerKeys {
		if seen[k.name] {
			t.Errorf("%s listed twice", k.name)
		}
		seen[k.name] = true
		if k.doc == "" || TypeName(k.typ) == "UNKNOWN" || k.apply == nil {
			t.Errorf("%s: doc, type or setter missing", k.name)
		}
	}
	for _, k := range topicKeys {
		if k.doc == "" || TypeName(k.typ) == "UNKNOWN" || k.set == nil || k.fromBroker == nil || len(k.synonyms) == 0 {
			t.Errorf("%s: doc, type, setter or synonyms missing", k.name)
		}
		var scratch topicValues
		if err := k.set(&scratch, k.fromBroker(Default())); err != nil {
			t.Errorf("%s: the broker default %q is not a valid topic value: %v", k.name, k.fromBroker(Default()), err)
		}
	}
}

func TestZookeeperConnectMustBeHostPortListWithOptionalChroot(t *testing.T) {
	for _, ok := range []string{"localhost:2181", "zk1:2181,zk2:2182/samsa/prod", "[::1]:2181"} {
		if _, _, err := Load("", []string{"zookeeper.connect=" + ok}); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"localhost", "localhost:abc", "zk:2181/", "zk:2181//x", ":2181", "zk:0"} {
		if _, _, err := Load("", []string{"zookeeper.connect=" + bad}); err == nil || !strings.Contains(err.Error(), "zookeeper.connect") {
			t.Errorf("%q accepted or error without the key: %v", bad, err)
		}
	}
}

func TestMetricsListenerIsOffByDefaultAndMustBeHTTPHostPort(t *testing.T) {
	if got := Default().MetricsListener; got != "" {
		t.Errorf("metrics.listener defaults to %q, want empty (no endpoint)", got)
	}
	for v, want := range map[string]string{
		"http://127.0.0.1:9644": "127.0.0.1:9644",
		"http://127.0.0.1:0":    "127.0.0.1:0",
		"http://:9644/":         ":9644",
		"http://[::1]:9644":     "[::1]:9644",
		" http://localhost:80 ": "localhost:80",
	} {
		b, _ := load(t, "", "metrics.listener="+v)
		if got := b.MetricsAddr(); got != want {
			t.Errorf("metrics.listener=%q: address %q, want %q", v, got, want)
		}
	}
	for _, bad := range []string{"127.0.0.1:9644", "https://127.0.0.1:9644", "http://127.0.0.1", "http://127.0.0.1:x",
		"http://127.0.0.1:70000", "http://127.0.0.1:9644/metrics", "http://u@127.0.0.1:9644", "tcp://127.0.0.1:9644"} {
		if _, _, err := Load("", []string{"metrics.listener=" + bad}); err == nil || !strings.Contains(err.Error(), "metrics.listener") {
			t.Errorf("%q accepted or error without the key: %v", bad, err)
		}
	}
}

func TestSetMetricsBoundPortReplacesOnlyPortZero(t *testing.T) {
	b, _ := load(t, "", "metrics.listener=http://127.0.0.1:0")
	b.SetMetricsBoundPort(41234)
	if got := b.MetricsListener; got != "http://127.0.0.1:41234" {
		t.Errorf("after SetMetricsBoundPort: %q", got)
	}
	b.SetMetricsBoundPort(5)
	if got := b.MetricsListener; got != "http://127.0.0.1:41234" {
		t.Errorf("a bound port was replaced: %q", got)
	}
}
