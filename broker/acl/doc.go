// Package acl is Samsa's authorizer: Kafka's access control lists and the
// rules by which Kafka's AclAuthorizer (ZooKeeper mode) and
// StandardAuthorizer (KRaft) decide whether a principal connecting from a
// host may perform an operation on a resource.
//
// What it owns: the ACL binding and filter types, with Kafka's wire codes
// (so handlers convert nothing) and Kafka's names (so stores write
// ZooKeeper's JSON as Kafka does); the validation Kafka applies to
// CreateAcls and DeleteAcls/DescribeAcls filters; and Authorizer, which
// holds an immutable snapshot of every ACL and answers Allowed. The
// bindings themselves are kept by the metadata store (controller.ACLStore);
// the broker hands each new set to Authorizer.Set when the store reports a
// change. A snapshot is replaced whole, never changed, so checks take no
// lock.
//
// The rules, as Kafka has them:
//
//   - a principal in super.users is allowed everything;
//   - an ACL applies to a resource when it names the resource type and
//     either the resource's exact name (LITERAL), the wildcard "*"
//     (LITERAL), or a prefix of the name (PREFIXED); it applies to a
//     request when its principal is the requester's or "User:*" and its
//     host is the requester's IP or "*";
//   - a DENY ACL for the operation or for ALL refuses, whatever allows;
//   - with no ACL at all on the resource, allow.everyone.if.no.acl.found
//     decides (false by default: refused);
//   - else an ALLOW ACL is needed for the operation, for ALL, or for an
//     operation that implies it: READ, WRITE, DELETE and ALTER imply
//     DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS.
package acl
