"""Run by compat-tests/clients_kafka_python_test.go:

    /usr/bin/python3 kafka_python_roundtrip.py BROKER < input.json

Reads {topic, partitions, records} as JSON on stdin (bytes as base64, null as
null), creates the topic with kafka-python's KafkaAdminClient, lists it in
metadata, produces the records with an acks=all KafkaProducer, reads them back
with a KafkaConsumer without a group (group_id=None, assign() and
seek_to_beginning()), and prints what the client saw as JSON on stdout for
the Go test to judge. kafka-python picks its request versions from the Kafka
version it infers from the broker's ApiVersions answer; it is left to do so.

Set SAMSA_COMPAT_CLIENT_DEBUG=1 for kafka-python's debug log on stderr.
"""

import base64
import json
import logging
import os
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def b64(b):
    return None if b is None else base64.b64encode(b).decode("ascii")


def unb64(s):
    return None if s is None else base64.b64decode(s)


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: kafka_python_roundtrip.py HOST:PORT < input.json")
    broker = sys.argv[1]
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if os.environ.get("SAMSA_COMPAT_CLIENT_DEBUG") == "1" else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    inp = json.load(sys.stdin)
    topic, partitions, records = inp["topic"], inp["partitions"], inp["records"]
    common = {"bootstrap_servers": broker, "client_id": "samsa-compat-kafka-python", "request_timeout_ms": 15000}
    out = {}

    admin = KafkaAdminClient(**common)
    try:
        resp = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)], timeout_ms=10000)
        for t in resp.topic_errors:
            # (name, error_code) or, from v1 on, (name, error_code, error_message)
            if t[1] != 0:
                fail("create_topics %s: error code %d %s" % (t[0], t[1], t[2:] or ""))
        logging.getLogger("roundtrip").info("broker api version inferred as %s", admin.config["api_version"])
    finally:
        admin.close()

    producer = KafkaProducer(acks="all", linger_ms=5, batch_size=4096, retries=3, max_in_flight_requests_per_connection=1, **common)
    futures = []
    for r in records:
        futures.append(
            producer.send(
                topic,
                key=unb64(r["key"]),
                value=unb64(r["value"]),
                partition=r["partition"],
                headers=[(h["key"], unb64(h["value"])) for h in r["headers"] or []],
                timestamp_ms=r["timestamp"],
            )
        )
    producer.flush(timeout=20)
    out["produced"] = []
    for i, f in enumerate(futures):
        try:
            md = f.get(timeout=10)
        except Exception as e:  # noqa: BLE001 - report any failure to the Go test
            fail("producer: record %d: %r" % (i, e))
        out["produced"].append({"partition": md.partition, "offset": md.offset})
    producer.close(timeout=10)

    consumer = KafkaConsumer(group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100, **common)
    try:
        deadline = time.monotonic() + 10
        while True:
            out["topics"] = sorted(consumer.topics())
            parts = consumer.partitions_for_topic(topic)
            if (parts and len(parts) == partitions) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        out["partitions"] = len(parts or ())

        tps = [TopicPartition(topic, p) for p in range(partitions)]
        out["endOffsets"] = {str(tp.partition): o for tp, o in consumer.end_offsets(tps).items()}
        consumer.assign(tps)
        consumer.seek_to_beginning()
        consumed = []
        deadline = time.monotonic() + 20
        while len(consumed) < len(records) and time.monotonic() < deadline:
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                for m in msgs:
                    consumed.append(
                        {
                            "partition": m.partition,
                            "offset": m.offset,
                            "key": b64(m.key),
                            "value": b64(m.value),
                            "headers": [{"key": k, "value": b64(v)} for k, v in (m.headers or [])],
                            "timestamp": m.timestamp,
                        }
                    )
        out["consumed"] = consumed
    finally:
        consumer.close()

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
