// Package admin holds the commands that look at and change a cluster's
// metadata, as Kafka's kafka-topics.sh and kafka-configs.sh do: `samsa
// topics create|list|describe|alter|delete`, `samsa configs
// describe|alter` for topics and brokers (configs) and for users, clients
// and IPs (client quotas and SCRAM credentials), and `samsa cluster`.
// They talk to Samsa or any Kafka cluster through franz-go's kadm (and
// kmsg where kadm has no field for a flag: replica assignments, read-only
// configs).
//
// Every command prints a table for people by default and, with -o json,
// one JSON document whose shape is fixed by the types named *Doc in this
// package (field names in snake_case; a field's absence never stands for
// a value, empty lists are []). A failure is a one-line error and a
// non-zero exit status (cli.Execute): status 1 for an unreachable
// cluster, a missing topic (`topic "x" does not exist`), or a request the
// cluster refused (Kafka's error name and its message, such as
// `TOPIC_ALREADY_EXISTS: Topic 'orders' already exists.`); status 2 for a
// bad command line.
package admin
