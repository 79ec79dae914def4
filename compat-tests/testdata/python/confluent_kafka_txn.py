"""Run by compat-tests/clients_txn_confluent_kafka_test.go and
clients_txn_read_committed_test.go:

    /usr/bin/python3 confluent_kafka_txn.py produce BROKER < input.json
    /usr/bin/python3 confluent_kafka_txn.py fence BROKER < input.json
    /usr/bin/python3 confluent_kafka_txn.py consume BROKER < input.json

produce: reads {topic, transactionalId, transactions: [{commit, records,
offsets}], group, sourceTopic} as JSON on stdin (bytes as base64, null as
null) and runs each transaction with one transactional Producer:
init_transactions once, then begin_transaction, produce the records,
send_offsets_to_transaction with the consumer group metadata of a Consumer
in group (if the step has offsets for sourceTopic), and commit_transaction
or abort_transaction. Prints {produced}: where each record was acknowledged.

fence: the zombie case. Producer A begins a transaction and produces
transactions[0]'s records (flushed, so they are in the log); producer B
with the same transactional.id calls init_transactions, which fences A;
A then produces transactions[1]'s records and tries to commit. B runs
transactions[2] as a committed transaction. Prints {produced} (B's records)
and {fencing}: the errors A's delivery reports and commit gave, by their
librdkafka name, and whether librdkafka calls the commit error fatal.

consume: reads {topic, partitions, endValue} and reads topic from the
beginning with an assign()ed Consumer at isolation.level=read_committed
until every partition has given a record whose value is endValue. Prints
{consumed}: the records before those, in the order read.

Set SAMSA_COMPAT_CLIENT_DEBUG=1 for librdkafka's debug log on stderr.
"""

import base64
import json
import os
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition


def b64(b):
    return None if b is None else base64.b64encode(b).decode("ascii")


def unb64(s):
    return None if s is None else base64.b64decode(s)


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def common(broker):
    c = {
        "bootstrap.servers": broker,
        "client.id": "samsa-compat-confluent-kafka",
        "socket.timeout.ms": 10000,
    }
    if os.environ.get("SAMSA_COMPAT_CLIENT_DEBUG") == "1":
        c["debug"] = "broker,protocol,metadata,topic,msg,eos,fetch,consumer,cgrp"
    return c


def transactional_producer(broker, txn_id):
    return Producer(
        dict(
            common(broker),
            **{
                "transactional.id": txn_id,
                "transaction.timeout.ms": 60000,
                "linger.ms": 5,
                "batch.num.messages": 4,
            },
        )
    )


def produce_records(producer, topic, records, produced, errors):
    """Produces records, noting each one's acknowledged position in produced
    (a list indexed like records) or its error in errors."""

    def delivered(i):
        def cb(err, msg):
            if err is not None:
                errors.append(err)
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


def run_produce(broker, inp):
    topic = inp["topic"]
    producer = transactional_producer(broker, inp["transactionalId"])
    group_consumer = None
    if inp.get("group"):
        # The consumer whose group the offsets are committed for; it never
        # subscribes, so its metadata carries no member id or generation,
        # as for an application committing with assign().
        group_consumer = Consumer(dict(common(broker), **{"group.id": inp["group"], "enable.auto.commit": False}))
    producer.init_transactions(20)
    out = []
    for step in inp["transactions"]:
        records = step["records"]
        produced, errors = [None] * len(records), []
        producer.begin_transaction()
        produce_records(producer, topic, records, produced, errors)
        if step.get("offsets"):
            offsets = [TopicPartition(inp["sourceTopic"], int(p), o) for p, o in sorted(step["offsets"].items())]
            producer.send_offsets_to_transaction(offsets, group_consumer.consumer_group_metadata(), 20)
        if step["commit"]:
            producer.commit_transaction(20)  # flushes first
        else:
            # Flushed first, so the records are in the log and an abort
            # must hide them rather than never having written them.
            if producer.flush(20) != 0:
                fail("producer: records still undelivered after 20s")
            producer.abort_transaction(20)
        if errors:
            fail("producer: %d delivery errors, first: %s" % (len(errors), errors[0]))
        out.extend(produced)
    producer.flush(10)
    if group_consumer is not None:
        group_consumer.close()
    return {"produced": out}


def run_fence(broker, inp):
    topic, txn_id, steps = inp["topic"], inp["transactionalId"], inp["transactions"]

    zombie = transactional_producer(broker, txn_id)
    zombie.init_transactions(20)
    zombie.begin_transaction()
    produced, errors = [None] * len(steps[0]["records"]), []
    produce_records(zombie, topic, steps[0]["records"], produced, errors)
    if zombie.flush(20) != 0 or errors:
        fail("zombie producer: its first records were not delivered: %s" % errors[:1])

    successor = transactional_producer(broker, txn_id)
    successor.init_transactions(30)  # fences the zombie, aborting its transaction

    report = {"deliveryErrors": [], "commitError": "", "fatal": False, "message": ""}
    late, late_errors = [None] * len(steps[1]["records"]), []
    try:
        produce_records(zombie, topic, steps[1]["records"], late, late_errors)
        zombie.commit_transaction(20)
    except KafkaException as e:
        err = e.args[0]
        report["commitError"] = err.name()
        report["fatal"] = err.fatal()
        report["message"] = err.str()
    zombie.flush(5)
    report["deliveryErrors"] = sorted({e.name() for e in late_errors})

    produced, errors = [None] * len(steps[2]["records"]), []
    successor.begin_transaction()
    produce_records(successor, topic, steps[2]["records"], produced, errors)
    successor.commit_transaction(20)
    if errors:
        fail("successor producer: %d delivery errors, first: %s" % (len(errors), errors[0]))
    successor.flush(10)
    return {"produced": produced, "fencing": report}


def run_consume(broker, inp):
    topic, partitions, end_value = inp["topic"], inp["partitions"], inp["endValue"].encode()
    consumer = Consumer(
        dict(
            common(broker),
            **{
                "group.id": "samsa-compat-confluent-kafka-unused",
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "fetch.wait.max.ms": 100,
            },
        )
    )
    consumed, ended = [], set()
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        deadline = time.monotonic() + 30
        while len(ended) < partitions:
            if time.monotonic() > deadline:
                fail("consumer: no end record on partitions %s after 30s" % sorted(set(range(partitions)) - ended))
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                fail("consumer: %s" % msg.error())
            if msg.partition() in ended:
                continue
            if msg.value() == end_value:
                ended.add(msg.partition())
                continue
            _, ts = msg.timestamp()
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
    finally:
        consumer.close()
    return {"consumed": consumed}


def main():
    modes = {"produce": run_produce, "fence": run_fence, "consume": run_consume}
    if len(sys.argv) != 3 or sys.argv[1] not in modes:
        fail("usage: confluent_kafka_txn.py produce|fence|consume HOST:PORT < input.json")
    out = modes[sys.argv[1]](sys.argv[2], json.load(sys.stdin))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
