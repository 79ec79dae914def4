#!/usr/bin/env bash
# with-broker.sh BINARY COMMAND [ARGS...]: start a throwaway broker on a
# temporary directory and a free port, run COMMAND with SAMSA_ADDR set to
# the broker's host:port (the first listener's; SAMSA_ADDRS has every
# listener's, space-separated, in listener order), then stop the broker.
# Extra broker configs come from SAMSA_CONFIG (a server.properties file)
# and SAMSA_OVERRIDES (space-separated key=value, which win).
set -euo pipefail

bin=${1:?usage: with-broker.sh BINARY COMMAND [ARGS...]}
shift
(($# > 0)) || { echo "usage: with-broker.sh BINARY COMMAND [ARGS...]" >&2; exit 2; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/samsa-broker.XXXXXX")
pid=
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

# The config file's listeners (on port 0), else one PLAINTEXT listener.
overrides=(--override listeners=PLAINTEXT://127.0.0.1:0)
if [[ -n ${SAMSA_CONFIG:-} ]]; then
	overrides=(--config "$SAMSA_CONFIG")
fi
for kv in ${SAMSA_OVERRIDES:-}; do
	overrides+=(--override "$kv")
done
"$bin" broker \
	--override log.dirs="$dir/data" \
	"${overrides[@]}" \
	--ready-file "$dir/ready" \
	--log-level warn >"$dir/broker.out" 2>"$dir/broker.log" &
pid=$!

for _ in $(seq 100); do
	[[ -s $dir/ready ]] && break
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "with-broker: the broker exited before it was ready:" >&2
		cat "$dir/broker.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ ! -s $dir/ready ]]; then
	echo "with-broker: the broker was not ready after 10s" >&2
	cat "$dir/broker.log" >&2
	exit 1
fi
SAMSA_ADDR=$(head -n 1 "$dir/ready")
SAMSA_ADDRS=$(tr '\n' ' ' <"$dir/ready")
export SAMSA_ADDR SAMSA_ADDRS
echo "with-broker: broker $pid on $SAMSA_ADDR" >&2

status=0
"$@" || status=$?
if ((status != 0)) && [[ -s $dir/broker.log ]]; then
	echo "with-broker: the command failed ($status); the broker's log:" >&2
	tail -n 50 "$dir/broker.log" >&2
fi
exit "$status"
