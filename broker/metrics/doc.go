// Package metrics is a broker's Prometheus endpoint: the metrics it
// exports (names.go lists every one, and the README's list is generated
// from that table), how they are gathered, and the HTTP server that
// serves them with the health checks (/metrics, /healthz, /readyz).
//
// Two kinds of metric, by what they cost the broker:
//
//   - Events counted as they happen, on the request paths: requests,
//     error codes and latency per API (Metrics implements
//     broker.RequestObserver). Each API's counters and histogram are made
//     once, on its first request, and then reached through an array
//     indexed by API key: a request costs a few atomic adds, no lock, no
//     allocation and no label lookup. The bytes and records in and out of
//     each partition are plain atomic counters on the partition itself
//     (replica.Traffic), summed per topic at scrape time.
//   - State read when Prometheus scrapes (collector.go, from the Sources
//     given to Metrics.Watch): partitions, leaders,
//     under-replicated and offline partitions, log sizes and offsets,
//     groups, members and lag, the controller and the metadata store's
//     session, the request budget and the open connections. Nothing is
//     maintained for them between scrapes.
//
// Ownership: a Metrics owns its registry; package broker/node builds one
// per broker when metrics.listener is set, and serves it with Listen
// from before the logs open until the broker has stopped, so several
// brokers can share a process (an embedded cluster) each with its own
// endpoint, and a restarted broker starts its counters from zero as a
// restarted process does. A scrape holds no lock throughout: it takes
// the partition table's and the group coordinator's locks only to list
// them, then each partition's role lock and each group's lock briefly,
// one at a time, and reads atomics for the rest.
package metrics
