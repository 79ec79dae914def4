"""Logs in to a SASL_PLAINTEXT listener with confluent-kafka (librdkafka),
produces the values given on stdin ({"topic", "mechanism", "user",
"password", "values"}; with "ca", a SASL_SSL listener whose certificate
that CA file signed) and reads them back. Prints {"consumed": [...]} or,
when the login is refused, {"error": "<librdkafka error names>"}."""
import json
import sys

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

cfg = json.load(sys.stdin)
addr = sys.argv[1]
common = {
    "bootstrap.servers": addr,
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": cfg["mechanism"],
    "sasl.username": cfg["user"],
    "sasl.password": cfg["password"],
}
if cfg.get("ca"):
    common["security.protocol"] = "SASL_SSL"
    common["ssl.ca.location"] = cfg["ca"]
errors = []
producer = Producer(dict(common, **{"error_cb": lambda e: errors.append(e)}))
if cfg["values"]:
    for v in cfg["values"]:
        producer.produce(cfg["topic"], v.encode())
    if producer.flush(30) != 0:
        print(json.dumps({"error": errors[0].name() if errors else "flush timed out"}))
        sys.exit(0)
else:
    # A refused login shows as an error callback, not as a flush failure.
    try:
        producer.list_topics(timeout=10)
    except KafkaException as e:
        errors.append(e.args[0])
    # error_cb runs from poll(): let it report the refused login.
    for _ in range(20):
        if any("AUTHENTICATION" in e.name() for e in errors):
            break
        producer.poll(0.5)
    print(json.dumps({"error": ",".join(e.name() for e in errors)}))
    sys.exit(0)

consumer = Consumer(dict(common, **{"group.id": "scram-check", "enable.auto.commit": False}))
consumer.assign([TopicPartition(cfg["topic"], 0, 0)])
got = []
while len(got) < len(cfg["values"]):
    msg = consumer.poll(10)
    if msg is None:
        break
    if msg.error():
        raise KafkaException(msg.error())
    got.append(msg.value().decode())
consumer.close()
print(json.dumps({"consumed": got}))
