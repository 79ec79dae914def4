"""Run by compat-tests/clients_confluent_kafka_test.go:

    /usr/bin/python3 confluent_kafka_roundtrip.py BROKER < input.json

Reads {topic, partitions, records} as JSON on stdin (bytes as base64, null as
null), creates the topic with confluent-kafka's AdminClient, lists it in
metadata, produces the records with an idempotent acks=all Producer, reads
them back with a Consumer that is assign()ed the partitions from the
beginning (no subscribe, no commits), and prints what the client saw as JSON
on stdout for the Go test to judge.

librdkafka insists on a group.id for any Consumer, even one that only uses
assign(); with no subscribe and no commits it never joins the group.

Set SAMSA_COMPAT_CLIENT_DEBUG=1 for librdkafka's debug log on stderr.
"""

import base64
import json
import os
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def b64(b):
    return None if b is None else base64.b64encode(b).decode("ascii")


def unb64(s):
    return None if s is None else base64.b64decode(s)


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: confluent_kafka_roundtrip.py HOST:PORT < input.json")
    broker = sys.argv[1]
    inp = json.load(sys.stdin)
    topic, partitions, records = inp["topic"], inp["partitions"], inp["records"]

    common = {
        "bootstrap.servers": broker,
        "client.id": "samsa-compat-confluent-kafka",
        "socket.timeout.ms": 10000,
    }
    if os.environ.get("SAMSA_COMPAT_CLIENT_DEBUG") == "1":
        common["debug"] = "broker,protocol,metadata,topic,msg,eos,fetch,consumer,cgrp"
    out = {}

    admin = AdminClient(common)
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)], operation_timeout=10, request_timeout=15
    )
    futures[topic].result(timeout=20)

    deadline = time.monotonic() + 10
    while True:
        md = admin.list_topics(timeout=10)
        tm = md.topics.get(topic)
        if tm is not None and tm.error is None and len(tm.partitions) == partitions:
            break
        if time.monotonic() > deadline:
            break  # the Go test reports what was listed
        time.sleep(0.1)
    out["topics"] = sorted(md.topics)
    out["partitions"] = len(tm.partitions) if tm is not None else 0

    producer = Producer(dict(common, **{"acks": "all", "enable.idempotence": True, "linger.ms": 5, "batch.num.messages": 16}))
    produced = [None] * len(records)
    errors = []

    def delivered(i):
        def cb(err, msg):
            if err is not None:
                errors.append("record %d: %s" % (i, err))
            else:
                produced[i] = {"partition": msg.partition(), "offset": msg.offset()}

        return cb

    for i, r in enumerate(records):
        kwargs = {
            "key": unb64(r["key"]),
            "value": unb64(r["value"]),
            "partition": r["partition"],
            "timestamp": r["timestamp"],
            "on_delivery": delivered(i),
        }
        if r["headers"]:
            kwargs["headers"] = [(h["key"], unb64(h["value"])) for h in r["headers"]]
        producer.produce(topic, **kwargs)
        producer.poll(0)
    if producer.flush(20) != 0:
        fail("producer: records still undelivered after 20s")
    if errors:
        fail("producer: " + "; ".join(errors[:5]))
    out["produced"] = produced

    consumer = Consumer(
        dict(
            common,
            **{
                "group.id": "samsa-compat-confluent-kafka-unused",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 100,
            },
        )
    )
    try:
        out["endOffsets"] = {}
        for p in range(partitions):
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            out["endOffsets"][str(p)] = high

        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        consumed = []
        deadline = time.monotonic() + 20
        while len(consumed) < len(records) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                fail("consumer: %s" % msg.error())
            ts_type, ts = msg.timestamp()
            consumed.append(
                {
                    "partition": msg.partition(),
                    "offset": msg.offset(),
                    "key": b64(msg.key()),
                    "value": b64(msg.value()),
                    "headers": [{"key": k, "value": b64(v)} for k, v in (msg.headers() or [])],
                    "timestamp": ts,
                }
            )
        out["consumed"] = consumed
    finally:
        consumer.close()

    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
