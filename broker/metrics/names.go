package metrics

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// namespace prefixes every metric of Samsa's own.
const namespace = "samsa"

// definition is one metric Samsa exports: the table the collectors build
// their descriptions from and the README's metric list is generated from
// (MarkdownList, TestREADMEMetricList).
type definition struct {
	name   string // without the samsa_ prefix
	kind   string // counter, gauge or histogram
	labels []string
	help   string
	// kafka names the Kafka metric it stands for, when there is one.
	kafka string
}

// The metrics, in the README's order.
var (
	defRequests = definition{name: "requests_total", kind: "counter", labels: []string{"api"},
		help: "Requests served, by API (Produce, Fetch, ...).", kafka: "RequestMetrics RequestsPerSec"}
	defRequestErrors = definition{name: "request_errors_total", kind: "counter", labels: []string{"api", "error"},
		help: "Error codes in responses, by API and Kafka error name (one per partition or resource in error); a request that closes its connection counts as INVALID_REQUEST or UNSUPPORTED_VERSION.", kafka: "RequestMetrics ErrorsPerSec"}
	defRequestDuration = definition{name: "request_duration_seconds", kind: "histogram", labels: []string{"api"},
		help: "Time from a decoded request to its response, waits included (a fetch's max wait, an acks=all produce's replication).", kafka: "RequestMetrics TotalTimeMs"}
	defBytesIn = definition{name: "topic_bytes_in_total", kind: "counter", labels: []string{"topic"},
		help: "Record batch bytes appended by producers to the partitions this broker leads.", kafka: "BrokerTopicMetrics BytesInPerSec"}
	defRecordsIn = definition{name: "topic_records_in_total", kind: "counter", labels: []string{"topic"},
		help: "Records appended by producers to the partitions this broker leads.", kafka: "BrokerTopicMetrics MessagesInPerSec"}
	defBytesOut = definition{name: "topic_bytes_out_total", kind: "counter", labels: []string{"topic", "fetch"},
		help: "Record bytes served by fetches, to consumers (fetch=\"consumer\") or follower replicas (fetch=\"follower\").", kafka: "BrokerTopicMetrics BytesOutPerSec, ReplicationBytesOutPerSec"}
	defPartitions = definition{name: "partitions", kind: "gauge",
		help: "Partitions this broker holds a replica of.", kafka: "ReplicaManager PartitionCount"}
	defLeaders = definition{name: "leader_partitions", kind: "gauge",
		help: "Partitions this broker leads.", kafka: "ReplicaManager LeaderCount"}
	defUnderReplicated = definition{name: "under_replicated_partitions", kind: "gauge",
		help: "Partitions this broker leads whose ISR is smaller than their replica set.", kafka: "ReplicaManager UnderReplicatedPartitions"}
	defOffline = definition{name: "offline_partitions", kind: "gauge",
		help: "Partitions this broker holds a replica of that have no leader.", kafka: ""}
	defControllerOffline = definition{name: "controller_offline_partitions", kind: "gauge",
		help: "Partitions of the whole cluster with no leader; reported by the active controller only.", kafka: "KafkaController OfflinePartitionsCount"}
	defISRShrinks = definition{name: "isr_shrinks_total", kind: "counter",
		help: "ISR shrinks this broker made as a leader (a follower fell behind).", kafka: "ReplicaManager IsrShrinksPerSec"}
	defISRExpands = definition{name: "isr_expands_total", kind: "counter",
		help: "ISR expansions this broker made as a leader (a follower caught up).", kafka: "ReplicaManager IsrExpandsPerSec"}
	defActiveController = definition{name: "active_controller", kind: "gauge",
		help: "1 on the cluster's active controller, 0 elsewhere; the sum over the brokers is 1.", kafka: "KafkaController ActiveControllerCount"}
	defSessionState = definition{name: "metadata_store_session_state", kind: "gauge", labels: []string{"store", "state"},
		help: "1 for the state the metadata store's session is in, 0 for the others; store is zookeeper, embedded (an in-process cluster) or local (a single broker's own store, connected while open).", kafka: "SessionExpireListener SessionState"}
	defLogSize = definition{name: "log_size_bytes", kind: "gauge", labels: []string{"topic", "partition"},
		help: "Bytes of a partition's log segments on this broker.", kafka: "Log Size"}
	defLogStart = definition{name: "log_start_offset", kind: "gauge", labels: []string{"topic", "partition"},
		help: "First offset still in a partition's log on this broker.", kafka: "Log LogStartOffset"}
	defLogEnd = definition{name: "log_end_offset", kind: "gauge", labels: []string{"topic", "partition"},
		help: "Offset the next record appended to a partition's log on this broker gets.", kafka: "Log LogEndOffset"}
	defHighWatermark = definition{name: "log_high_watermark", kind: "gauge", labels: []string{"topic", "partition"},
		help: "A partition's high watermark on this broker: consumers read below it.", kafka: ""}
	defGroups = definition{name: "groups", kind: "gauge", labels: []string{"state"},
		help: "Groups this broker coordinates, by state (Empty, PreparingRebalance, CompletingRebalance, Stable).", kafka: "GroupMetadataManager NumGroups*"}
	defGroupMembers = definition{name: "group_members", kind: "gauge", labels: []string{"group"},
		help: "Members of a group this broker coordinates.", kafka: ""}
	defGroupLag = definition{name: "group_lag", kind: "gauge", labels: []string{"group", "topic", "partition"},
		help: "Records between a group's committed offset and the partition's high watermark, for the groups this broker coordinates and the partitions it holds a replica of.", kafka: ""}
	defBudgetUsed = definition{name: "request_budget_used_bytes", kind: "gauge",
		help: "Bytes of requests held now against queued.max.request.bytes.", kafka: ""}
	defBudgetCapacity = definition{name: "request_budget_capacity_bytes", kind: "gauge",
		help: "queued.max.request.bytes as in force; -1 when unbounded.", kafka: ""}
	defBudgetWaiting = definition{name: "request_budget_waiting_connections", kind: "gauge",
		help: "Connections waiting for request budget before they read their next request.", kafka: ""}
	defConnections = definition{name: "connections", kind: "gauge",
		help: "Client and broker connections open on every listener.", kafka: "socket-server-metrics connection-count"}
	defFetchSessions = definition{name: "fetch_sessions", kind: "gauge",
		help: "Incremental fetch sessions (KIP-227) this broker holds, for consumers and follower replicas.", kafka: "FetchSessionCache NumIncrementalFetchSessions"}
	defFetchSessionPartitions = definition{name: "fetch_session_partitions", kind: "gauge",
		help: "Partitions held in this broker's incremental fetch sessions.", kafka: "FetchSessionCache NumIncrementalFetchPartitionsCached"}
)

// definitions lists every metric in the README's order.
var definitions = []definition{
	defRequests, defRequestErrors, defRequestDuration,
	defBytesIn, defRecordsIn, defBytesOut,
	defPartitions, defLeaders, defUnderReplicated, defOffline, defControllerOffline,
	defISRShrinks, defISRExpands, defActiveController, defSessionState,
	defLogSize, defLogStart, defLogEnd, defHighWatermark,
	defGroups, defGroupMembers, defGroupLag,
	defBudgetUsed, defBudgetCapacity, defBudgetWaiting, defConnections,
	defFetchSessions, defFetchSessionPartitions,
}

// fqName is the metric's full name.
func (d definition) fqName() string { return namespace + "_" + d.name }

// desc is the metric's description, for the Collector.
func (d definition) desc() *prometheus.Desc {
	return prometheus.NewDesc(d.fqName(), d.help, d.labels, nil)
}

// Names lists every metric name of Samsa's own, in the README's order.
func Names() []string {
	names := make([]string, len(definitions))
	for i, d := range definitions {
		names[i] = d.fqName()
	}
	return names
}

// MarkdownList renders the metrics as the README's table.
func MarkdownList() string {
	var b strings.Builder
	b.WriteString("| Metric | Type | Labels | Meaning | Kafka's |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, d := range definitions {
		labels := ""
		if len(d.labels) > 0 {
			labels = "`" + strings.Join(d.labels, "`, `") + "`"
		}
		b.WriteString("| `" + d.fqName() + "` | " + d.kind + " | " + labels + " | " + strings.ReplaceAll(d.help, "|", `\|`) + " | " + d.kafka + " |\n")
	}
	return b.String()
}
