# Samsa: `make run` starts one broker on 127.0.0.1:9092 with its data in
# ./data; `make test` runs vet and every test.

GO      ?= go
BIN     := bin/samsa
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# The kafkajs compat tests' scripts, and what npm ci leaves once it has
# installed their packages.
KAFKAJS           := compat-tests/testdata/kafkajs
KAFKAJS_INSTALLED := $(KAFKAJS)/node_modules/.package-lock.json

.PHONY: all build run run-secure run-cluster test test-kgo bench bench-scale fuzz clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./tools/samsa

# Extra broker flags: make run ARGS='-c num.partitions=3'. Metrics and
# health checks on http://127.0.0.1:9644 (/metrics, /healthz, /readyz).
run: build
	./$(BIN) broker --override log.dirs=./data --override metrics.listener=http://127.0.0.1:9644 $(ARGS)

# One broker secured as production clusters are (--dev-security): SASL_SSL
# on 127.0.0.1:9093 with SCRAM and PLAIN users admin and alice, ACLs on, a
# CA and certificate generated in ./data-secure/dev-security; prints the
# client settings.
run-secure: build
	./$(BIN) broker --dev-security --override log.dirs=./data-secure --override listeners=SASL_SSL://127.0.0.1:9093 $(ARGS)

# A local ZooKeeper (Debian package zookeeper) and three brokers on
# 127.0.0.1:9092-9094, data under ./data-cluster; Ctrl-C stops them.
run-cluster: build
	./tools/run-cluster.sh $(BIN)

# compat-tests build the binary themselves. A client test whose client is
# not installed skips (it fails under CI=1): the skipped ones are listed at
# the end, with what is missing and how to install it.
test: $(KAFKAJS_INSTALLED)
	$(GO) vet ./...
	@skipped=$$(mktemp) && status=0; \
	echo "$(GO) test -race -count=1 -timeout 14m ./..."; \
	SAMSA_SKIPPED_CLIENTS=$$skipped $(GO) test -race -count=1 -timeout 14m ./... || status=$$?; \
	if [ -s $$skipped ]; then \
		echo "make test: $$(wc -l <$$skipped) client tests skipped, their client missing:"; \
		sed 's/^/  /' $$skipped; \
	elif [ $$status -eq 0 ]; then \
		echo "make test: no client test skipped"; \
	fi; \
	rm -f $$skipped; exit $$status

# The kafkajs tests need kafkajs installed beside their scripts, at the
# version package-lock.json pins: installed when missing or older than the
# lock file. Without npm (or when npm ci fails) `make test` goes on and the
# kafkajs tests are skipped and listed.
$(KAFKAJS_INSTALLED): $(KAFKAJS)/package-lock.json
	@if ! command -v npm >/dev/null; then \
		echo "make: npm is not installed (apt-get install nodejs npm): the kafkajs tests will be skipped"; \
	else \
		echo "npm ci --prefix $(KAFKAJS) --no-audit --no-fund"; \
		npm ci --prefix $(KAFKAJS) --no-audit --no-fund || \
			echo "make: npm ci failed: the kafkajs tests will be skipped"; \
	fi

# Samsa against franz-go's in-memory fake (kfake), each a child process
# whose own CPU time is measured, with the same workloads interleaved for
# --rounds rounds (produce 1,000,000 records of 100 B and 200,000 of 1 KiB
# to 6 partitions, acks=all, idempotent, linger 5 ms, uncompressed;
# 1,000,000 of 100 B zstd (--zstd-records) to a topic with
# compression.type=producer; end-to-end latency at 10k records/s, linger
# 0; reading 200,000 records of 1 KiB back from the start, the broker's
# CPU per GiB served), then a three-broker cluster on a ZooKeeper it starts (skipped, with a
# note, when ZooKeeper is not installed): RF 3 against RF 1 on new and
# existing topics, and RF 3 against RF 1 end-to-end latency at 10k
# records/s (p50/p99/p99.9). Every record is read back and checked.
# Prints a Markdown table of medians (min-max) on stdout; flags of
# tools/bench in BENCH_ARGS: make bench BENCH_ARGS='--records 200000 --rounds 5 -o json'
BENCH_ARGS ?=
bench: build
	$(GO) build -o bin/bench ./tools/bench
	./bin/bench --samsa $(BIN) $(BENCH_ARGS)

# Issue 14's scale targets against bin/samsa, one broker without ZooKeeper,
# each phase on a fresh broker (tools/bench/scale.go): a topic of 10,000
# partitions created (CreateTopics answered; every partition acknowledging
# a write), the broker stopped and started again (exec to Metadata naming
# every leader), its idle CPU over 10 s and its RSS; 10 GiB written to 4
# partitions, the broker killed with SIGKILL mid-write, started again
# (exec to serving) and the last acknowledged records of each partition
# read back; then 5 minutes of produce at 20 MiB/s while RSS is sampled
# (flat or growing with the data stored). Prints a Markdown table, each
# figure beside its target with PASS/FAIL; fails only when an
# acknowledged record is lost. Needs about 12 GiB free in $TMPDIR (or
# --dir). Flags in BENCH_SCALE_ARGS: --partitions, --idle, --data (e.g.
# 1GiB for a quick run), --data-partitions, --data-record-size,
# --check-last, --sustain (the issue asks for hour-scale: --sustain 1h),
# --sustain-rate, --sustain-partitions, --sustain-record-size,
# --sustain-segment-bytes, --sample, --phases (some of
# partitions,kill,sustain), --serve-timeout, --dir, -o json; --cluster
# also runs the partitions phase on three brokers and a ZooKeeper it
# starts (RF 3; restarts one broker, timed to serving and back in every
# ISR).
# A quick run: make bench-scale BENCH_SCALE_ARGS='--data 1GiB --sustain 30s'
BENCH_SCALE_ARGS ?=
bench-scale: build
	$(GO) build -o bin/bench ./tools/bench
	./bin/bench scale --samsa $(BIN) $(BENCH_SCALE_ARGS)

# franz-go's own integration suite (pkg/kgo, the version in go.mod) against
# a throwaway broker (tools/kgo-test.properties): a client's view of Kafka's
# behaviour, its SCRAM and OAUTHBEARER tests on SASL listeners included;
# slower than `make test` (about a minute) and not part of it.
test-kgo: build
	SAMSA_CONFIG=tools/kgo-test.properties ./tools/with-broker.sh $(BIN) sh -c '\
		set -e; set -- $$SAMSA_ADDRS; \
		./$(BIN) configs alter --bootstrap-server "$$1" --entity-type users --entity-name kgo \
			--add-config "SCRAM-SHA-256=[iterations=8192,password=kgo-secret]"; \
		KGO_SEEDS="$$1" KGO_TEST_SCRAM_SEEDS="$$2" KGO_TEST_SCRAM=kgo:kgo-secret KGO_TEST_OAUTH_SEEDS="$$3" \
		KGO_TEST_RF=1 KGO_LOG_LEVEL=none $(GO) test -count=1 -timeout 10m github.com/twmb/franz-go/pkg/kgo'


# Explore the fuzz targets beyond their seed corpora (which `make test`
# runs): request frames and headers, record batches (and the streaming
# record check against the in-memory one), server.properties.
# make fuzz FUZZTIME=5m
FUZZTIME ?= 1m
fuzz:
	$(GO) test ./wire -run '^$$' -fuzz FuzzReadRequest -fuzztime $(FUZZTIME)
	$(GO) test ./log/recordbatch -run '^$$' -fuzz FuzzValidate -fuzztime $(FUZZTIME)
	$(GO) test ./log/recordbatch -run '^$$' -fuzz FuzzRecordStreamAgreesWithInMemoryCheck -fuzztime $(FUZZTIME)
	$(GO) test ./broker/config -run '^$$' -fuzz FuzzParseProperties -fuzztime $(FUZZTIME)

clean:
	rm -rf bin
