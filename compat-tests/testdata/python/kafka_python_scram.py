"""Logs in with kafka-python (SaslHandshake v0, then raw SASL tokens) to a
SASL_PLAINTEXT listener, produces the values given on stdin ({"topic",
"mechanism", "user", "password", "values"}) and reads them back. Prints
{"consumed": [...]} or, when the login is refused, {"error": "<class>"}."""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

cfg = json.load(sys.stdin)
common = dict(
    bootstrap_servers=sys.argv[1],
    security_protocol="SASL_PLAINTEXT",
    sasl_mechanism=cfg["mechanism"],
    sasl_plain_username=cfg["user"],
    sasl_plain_password=cfg["password"],
)
try:
    producer = KafkaProducer(**common)
except KafkaError as e:
    print(json.dumps({"error": type(e).__name__}))
    sys.exit(0)
for v in cfg["values"]:
    producer.send(cfg["topic"], v.encode()).get(timeout=20)
producer.close()

consumer = KafkaConsumer(**common, consumer_timeout_ms=10000)
tp = TopicPartition(cfg["topic"], 0)
consumer.assign([tp])
consumer.seek_to_beginning(tp)
got = []
for msg in consumer:
    got.append(msg.value.decode())
    if len(got) == len(cfg["values"]):
        break
consumer.close()
print(json.dumps({"consumed": got}))
