"""Run by compat-tests/acls_test.go:

    /usr/bin/python3 kafka_python_acls.py BROKER < input.json

Reads {topic} as JSON on stdin. Against a broker with an ACL authorizer and
allow.everyone.if.no.acl.found=true, as User:ANONYMOUS (PLAINTEXT), it uses
kafka-python's KafkaAdminClient to create the topic and ACLs (ALL on the
cluster, DESCRIBE and a DENY of WRITE on the topic), describes them,
produces to the topic (which the DENY refuses), deletes the topic's ACLs, produces
again, and prints what it saw as JSON on stdout for the Go test to judge.
(The confluent-kafka installed has no ACL admin API before 1.9.)
"""

import json
import sys

from kafka import KafkaProducer
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, KafkaAdminClient,
                         NewTopic, ResourcePattern, ResourcePatternFilter, ResourceType)

ANON = "User:ANONYMOUS"


def produce(broker, topic):
    p = KafkaProducer(bootstrap_servers=broker, retries=0, max_block_ms=5000)
    try:
        p.send(topic, b"v").get(timeout=10)
        return None
    except Exception as e:  # the error's class names Kafka's code
        return type(e).__name__
    finally:
        p.close(1)


def main():
    broker = sys.argv[1]
    topic = json.load(sys.stdin)["topic"]
    admin = KafkaAdminClient(bootstrap_servers=broker)
    admin.create_topics([NewTopic(topic, 1, 1)])
    literal_topic = ResourcePattern(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL)
    acls = [
        ACL(ANON, "*", ACLOperation.ALL, ACLPermissionType.ALLOW,
            ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", ACLResourcePatternType.LITERAL)),
        ACL(ANON, "*", ACLOperation.DESCRIBE, ACLPermissionType.ALLOW, literal_topic),
        ACL(ANON, "*", ACLOperation.WRITE, ACLPermissionType.DENY, literal_topic),
    ]
    created = admin.create_acls(acls)
    described, err = admin.describe_acls(ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                                                   ResourcePatternFilter(ResourceType.TOPIC, topic,
                                                                         ACLResourcePatternType.ANY)))
    denied = produce(broker, topic)
    # With no ACL left on the topic, allow.everyone.if.no.acl.found opens it.
    every_acl_of_topic = ACLFilter(ANON, "*", ACLOperation.ANY, ACLPermissionType.ANY,
                                   ResourcePatternFilter(ResourceType.TOPIC, topic, ACLResourcePatternType.LITERAL))
    deleted = admin.delete_acls([every_acl_of_topic])
    allowed = produce(broker, topic)
    print(json.dumps({
        "created": len(created["succeeded"]),
        "described": sorted(f"{a.operation.name}:{a.permission_type.name}" for a in described),
        "denied": denied,
        "deleted": sum(len(matches) for _, matches, _ in deleted),
        "allowed": allowed,
    }))


if __name__ == "__main__":
    main()
