#!/usr/bin/env bash
# run-cluster.sh BINARY: start a local ZooKeeper (Debian's zookeeper
# package) on 127.0.0.1:2181 and three Samsa brokers (IDs 1-3) on
# 127.0.0.1:9092-9094 (metrics and health on 127.0.0.1:9644-9646) with their data under ./data-cluster, for trying a
# cluster. Ctrl-C stops everything; the data stays for the next run.
set -euo pipefail

bin=${1:?usage: run-cluster.sh BINARY}
root=${SAMSA_CLUSTER_DIR:-./data-cluster}
zk_port=${ZK_PORT:-2181}
classpath=${ZOOKEEPER_CLASSPATH:-/usr/share/java/zookeeper.jar:/usr/share/java/*:/etc/zookeeper/conf}

if ! command -v java >/dev/null || [[ ! -f /usr/share/java/zookeeper.jar && -z ${ZOOKEEPER_CLASSPATH:-} ]]; then
	echo "run-cluster: ZooKeeper is not installed; on Debian: sudo apt-get install -y zookeeper" >&2
	exit 1
fi

mkdir -p "$root/zookeeper/data"
cat >"$root/zookeeper/zoo.cfg" <<CFG
tickTime=2000
dataDir=$(cd "$root/zookeeper" && pwd)/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
CFG

pids=()
cleanup() {
	trap - EXIT INT TERM
	# Brokers first, together, and ZooKeeper only once they are gone: a
	# controlled shutdown moves leaderships through ZooKeeper.
	for pid in "${pids[@]:1}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]:1}"; do
		wait "$pid" 2>/dev/null || true
	done
	if ((${#pids[@]} > 0)); then
		kill -TERM "${pids[0]}" 2>/dev/null || true
		wait "${pids[0]}" 2>/dev/null || true
	fi
	echo "run-cluster: stopped" >&2
}
trap cleanup EXIT INT TERM

java -cp "$classpath" org.apache.zookeeper.server.quorum.QuorumPeerMain "$root/zookeeper/zoo.cfg" \
	>"$root/zookeeper/zookeeper.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$zk_port") 2>/dev/null && break
	sleep 0.2
done
echo "run-cluster: ZooKeeper on 127.0.0.1:$zk_port (log: $root/zookeeper/zookeeper.log)" >&2

for id in 1 2 3; do
	port=$((9091 + id))
	"$bin" broker \
		--override broker.id=$id \
		--override listeners=PLAINTEXT://127.0.0.1:$port \
		--override log.dirs="$root/broker-$id" \
		--override zookeeper.connect=127.0.0.1:$zk_port \
		--override default.replication.factor=3 \
		--override min.insync.replicas=2 \
		--override offsets.topic.replication.factor=3 \
		--override metrics.listener=http://127.0.0.1:$((9643 + id)) \
		--log-format console 2> >(sed "s/^/[broker $id] /" >&2) &
	pids+=($!)
done
echo "run-cluster: brokers 1-3 on 127.0.0.1:9092, :9093, :9094 (metrics on :9644, :9645, :9646); try:" >&2
echo "  kcat -b 127.0.0.1:9092 -L" >&2
echo "run-cluster: Ctrl-C stops the cluster" >&2
wait -n "${pids[@]}" || true
