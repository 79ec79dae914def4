// Package acls is `samsa acls`, the equivalent of Kafka's kafka-acls.sh:
// list the ACLs a filter selects (Kafka's --list), create ACLs (--add,
// with its --producer and --consumer shortcuts) and delete them
// (--remove).
//
// The commands talk to the cluster through franz-go's kadm (CreateACLs,
// DescribeACLs and DeleteACLs with a kadm.ACLBuilder), so they work
// against Samsa or any Kafka cluster with an authorizer. Flags have
// kafka-acls.sh's names, operations and pattern types Kafka's spellings
// (Read, IdempotentWrite, IDEMPOTENT_WRITE and idempotent-write all
// parse), and the convenience flags expand to Kafka's sets. The README's
// "ACLs" section lists where the commands differ from Kafka's tool.
//
// Every command prints a table (PRINCIPAL, HOST, OPERATION, PERMISSION,
// RESOURCE-TYPE, NAME, PATTERN-TYPE) by default and, with -o json, one
// JSON document of the *Doc types in this package. A failure is one line
// and a non-zero exit status: 2 for a bad command line and for a delete
// without --force; 1 for an unreachable cluster, a cluster without an
// authorizer (SECURITY_DISABLED), a caller without the cluster
// permission the ACL APIs need (CLUSTER_AUTHORIZATION_FAILED), or any
// other refusal (Kafka's error name and the broker's message).
package acls
