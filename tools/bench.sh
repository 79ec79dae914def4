#!/usr/bin/env bash
# bench.sh BINARY [bench flags...]: start a throwaway broker on a temporary
# directory and a free port, run `samsa bench` against it, stop the broker.
set -euo pipefail

bin=${1:?usage: bench.sh BINARY [bench flags...]}
shift

dir=$(mktemp -d "${TMPDIR:-/tmp}/samsa-bench.XXXXXX")
pid=
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

"$bin" broker \
	--override listeners=PLAINTEXT://127.0.0.1:0 \
	--override log.dirs="$dir/data" \
	--ready-file "$dir/ready" \
	--log-level warn >"$dir/broker.out" 2>"$dir/broker.log" &
pid=$!

for _ in $(seq 100); do
	[[ -s $dir/ready ]] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "bench: the broker exited before it was ready:" >&2
		cat "$dir/broker.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ ! -s $dir/ready ]]; then
	echo "bench: the broker was not ready after 10s" >&2
	cat "$dir/broker.log" >&2
	exit 1
fi
addr=$(head -n 1 "$dir/ready")
echo "bench: broker $pid on $addr" >&2

"$bin" bench --brokers "$addr" "$@"
