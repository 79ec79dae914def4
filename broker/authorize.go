package broker

// Authorization: when authorizer.class.name is set, every handler asks
// the broker's acl.Authorizer whether the connection's principal, from
// the connection's IP, may do what the request does, as Kafka's
// KafkaApis does before serving it. The ACLs come from the metadata
// store (controller.ACLStore) and are handed to the authorizer again on
// every ACLsChanged, so a change made through any broker applies at
// once. Without an authorizer every check passes, as on a Kafka broker
// without one.

import (
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

// startAuthorizer builds the authorizer when the configuration asks for
// one; it leaves b.authorizer nil otherwise. The store must keep ACLs.
func (b *Broker) startAuthorizer() error {
	if b.cfg.AuthorizerClassName == "" {
		return nil
	}
	store, ok := b.store.(controller.ACLStore)
	if !ok {
		return fmt.Errorf("authorizer.class.name is set but the %T metadata store keeps no ACLs", b.store)
	}
	b.aclStore = store
	b.authorizer = acl.NewAuthorizer(b.cfg.SuperUsers, b.cfg.AllowEveryoneIfNoACLFound)
	// Subscribed first, then read: an ACL change between the two would
	// otherwise be missed until the next one.
	b.unsubscribeACLs = b.store.Subscribe(func(ch controller.Change) {
		if ch.Kind == controller.ACLsChanged {
			b.refreshACLs()
		}
	})
	b.refreshACLs()
	return nil
}

// refreshACLs hands the store's ACLs to the authorizer. CreateAcls and
// DeleteAcls call it before answering, so a client that changed ACLs
// sees the change in effect on its next request; the store's
// notifications bring in changes made through other brokers. Reading
// and setting under aclsMu keeps a slow notification from setting an
// older set over a newer one.
func (b *Broker) refreshACLs() {
	b.aclsMu.Lock()
	defer b.aclsMu.Unlock()
	b.authorizer.Set(b.aclStore.ACLs())
}

// authorized reports whether conn may perform op on the resource; always
// true without an authorizer.
func (b *Broker) authorized(conn *wire.Conn, op acl.Operation, rt acl.ResourceType, name string) bool {
	if b.authorizer == nil {
		return true
	}
	return b.authorizer.Allowed(principalOf(conn), hostOf(conn), op, rt, name)
}

// authorizedCluster is authorized on the Cluster resource.
func (b *Broker) authorizedCluster(conn *wire.Conn, op acl.Operation) bool {
	return b.authorized(conn, op, acl.ResourceCluster, acl.ClusterName)
}

// authorizedTopic is authorized on a topic.
func (b *Broker) authorizedTopic(conn *wire.Conn, op acl.Operation, topic string) bool {
	return b.authorized(conn, op, acl.ResourceTopic, topic)
}

// principalOf is the connection's principal; a connection that has none
// (an in-process caller) is User:ANONYMOUS, as Kafka names the
// unauthenticated.
func principalOf(conn *wire.Conn) string {
	if conn == nil || conn.Principal == "" {
		return "User:ANONYMOUS"
	}
	return conn.Principal
}

// hostOf is the IP address the connection comes from, as ACL hosts name
// it ("" when unknown: only "*" ACLs apply).
func hostOf(conn *wire.Conn) string {
	if conn == nil || conn.RemoteAddr == nil {
		return ""
	}
	if tcp, ok := conn.RemoteAddr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(conn.RemoteAddr.String())
	if err != nil {
		return conn.RemoteAddr.String()
	}
	return host
}

// topicCheck returns a check of op on topics for one request, which asks
// the authorizer once per topic however many partitions name it.
func (b *Broker) topicCheck(conn *wire.Conn, op acl.Operation) func(topic string) bool {
	if b.authorizer == nil {
		return func(string) bool { return true }
	}
	seen := map[string]bool{}
	return func(topic string) bool {
		ok, done := seen[topic]
		if !done {
			ok = b.authorizedTopic(conn, op, topic)
			seen[topic] = ok
		}
		return ok
	}
}

// Operations Kafka reports as authorized operations (KIP-430) for each
// resource type: those that apply to it.
var resourceOperations = map[acl.ResourceType][]acl.Operation{
	acl.ResourceTopic: {acl.OpRead, acl.OpWrite, acl.OpCreate, acl.OpDelete, acl.OpAlter,
		acl.OpDescribe, acl.OpDescribeConfigs, acl.OpAlterConfigs},
	acl.ResourceGroup: {acl.OpRead, acl.OpDescribe, acl.OpDelete},
	acl.ResourceCluster: {acl.OpCreate, acl.OpAlter, acl.OpDescribe, acl.OpClusterAction,
		acl.OpDescribeConfigs, acl.OpAlterConfigs, acl.OpIdempotentWrite},
}

// authorizedOperations is KIP-430's bit field of the operations conn may
// perform on the resource: bit n set for the operation with code n.
// Without an authorizer every operation of the resource type is set, as
// Kafka reports it.
func (b *Broker) authorizedOperations(conn *wire.Conn, rt acl.ResourceType, name string) int32 {
	var bits int32
	for _, op := range resourceOperations[rt] {
		if b.authorized(conn, op, rt, name) {
			bits |= 1 << op
		}
	}
	return bits
}

// errTopicAuthorization is the answer of the admin APIs to a topic the
// caller may not act on, with Kafka's message.
var errTopicAuthorization = newAPIError(kerr.TopicAuthorizationFailed, "Authorization failed.")

// configResourceRefusal is Kafka's answer to a config API on a resource
// the caller may not perform op (DESCRIBE_CONFIGS or ALTER_CONFIGS) on:
// a topic's configs are checked on the topic (TOPIC_AUTHORIZATION_FAILED),
// a broker's and the broker loggers' on the cluster
// (CLUSTER_AUTHORIZATION_FAILED). Nil when allowed.
func (b *Broker) configResourceRefusal(conn *wire.Conn, op acl.Operation, typ kmsg.ConfigResourceType, name string) *apiError {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		if !b.authorizedTopic(conn, op, name) {
			return errTopicAuthorization
		}
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		if !b.authorizedCluster(conn, op) {
			return errClusterAuthorization
		}
	}
	return nil
}

// errClusterAuthorization is the admin APIs' answer to a caller without
// the operation on the cluster, with Kafka's message.
var errClusterAuthorization = newAPIError(kerr.ClusterAuthorizationFailed, "Cluster authorization failed.")

// clusterAuthorizedOperations is the cluster's KIP-430 bit field, 0 for
// a caller without DESCRIBE on the cluster, as Kafka answers it.
func (b *Broker) clusterAuthorizedOperations(conn *wire.Conn) int32 {
	if !b.authorizedCluster(conn, acl.OpDescribe) {
		return 0
	}
	return b.authorizedOperations(conn, acl.ResourceCluster, acl.ClusterName)
}
