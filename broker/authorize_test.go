package broker

import (
	"context"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/log/recordbatch/batchtest"
	"github.com/samsa-io/samsa/wire"
)

const aclAuthorizer = "authorizer.class.name=kafka.security.authorizer.AclAuthorizer"

// Connections as the wire layer builds them once authentication named
// the principal.
var (
	aliceConn = &wire.Conn{Principal: "User:alice", RemoteAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.7"), Port: 50000}}
	adminConn = &wire.Conn{Principal: "User:admin", RemoteAddr: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 50001}}
)

// newAuthorizingBroker is a broker with Kafka's ACL authorizer and
// User:admin as its super user.
func newAuthorizingBroker(t *testing.T, overrides ...string) *Broker {
	t.Helper()
	return newTestBrokerWith(t, append([]string{aclAuthorizer, "super.users=User:admin", "offsets.topic.num.partitions=1",
		"transaction.state.log.num.partitions=1"}, overrides...)...)
}

// grant stores ACLs as CreateAcls does.
func grant(t *testing.T, b *Broker, bindings ...acl.Binding) {
	t.Helper()
	if err := b.aclStore.CreateACLs(context.Background(), bindings); err != nil {
		t.Fatal(err)
	}
	b.refreshACLs()
}

// createTopicAsAdmin creates a one-partition topic as the super user.
func createTopicAsAdmin(t *testing.T, b *Broker, name string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version, req.Topics = 5, []kmsg.CreateTopicsRequestTopic{newCreatableTopic(name, 1, 1, nil)}
	if code := serveOn(t, b, adminConn, "", req).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("create %s as the super user: %v", name, kerr.ErrorForCode(code))
	}
}

func aliceMay(op acl.Operation, rt acl.ResourceType, name string) acl.Binding {
	return acl.Binding{ResourceType: rt, ResourceName: name, PatternType: acl.PatternLiteral,
		Principal: "User:alice", Host: "*", Operation: op, Permission: acl.PermissionAllow}
}

func denied(b acl.Binding) acl.Binding {
	b.Permission = acl.PermissionDeny
	return b
}

// aclCase is one API of the matrix: the ACLs that allow the request, the
// request, where its answer carries the error, and Kafka's refusal.
type aclCase struct {
	api     string
	allows  []acl.Binding
	request func(b *Broker) kmsg.Request
	code    func(kmsg.Response) int16
	refused *kerr.Error
}

func oneBatch() []byte {
	return batchtest.Batch{ProducerID: -1, BaseSequence: -1, Records: []batchtest.Record{{Value: []byte("v"), Timestamp: 1}}}.Bytes()
}

func aclMatrix() []aclCase {
	topic := func(op acl.Operation) acl.Binding { return aliceMay(op, acl.ResourceTopic, "orders") }
	group := func(op acl.Operation) acl.Binding { return aliceMay(op, acl.ResourceGroup, "g") }
	txn := func(op acl.Operation) acl.Binding { return aliceMay(op, acl.ResourceTransactionalID, "t") }
	cluster := func(op acl.Operation) acl.Binding { return aliceMay(op, acl.ResourceCluster, acl.ClusterName) }
	return []aclCase{
		{"Produce", []acl.Binding{topic(acl.OpWrite)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrProduceRequest()
			req.Version, req.Acks, req.TimeoutMillis = 9, 1, 5000
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic = "orders"
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Records = oneBatch()
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"Fetch", []acl.Binding{topic(acl.OpRead)}, func(b *Broker) kmsg.Request { return fetchRequest(b, 12, "orders", 0, 0) },
			func(r kmsg.Response) int16 { return r.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"Fetch by a follower", []acl.Binding{cluster(acl.OpClusterAction)}, func(b *Broker) kmsg.Request {
			req := fetchRequest(b, 12, "orders", 0, 0)
			req.ReplicaID = 2
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"ListOffsets", []acl.Binding{topic(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrListOffsetsRequest()
			req.Version = 7
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = "orders"
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Timestamp = -1
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"Metadata", []acl.Binding{topic(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrMetadataRequest()
			req.Version = 12
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr("orders")
			req.Topics = append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.MetadataResponse).Topics[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"CreateTopics", []acl.Binding{aliceMay(acl.OpCreate, acl.ResourceTopic, "new")}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrCreateTopicsRequest()
			req.Version, req.Topics = 7, []kmsg.CreateTopicsRequestTopic{newCreatableTopic("new", 1, 1, nil)}
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"DeleteTopics", []acl.Binding{topic(acl.OpDelete)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDeleteTopicsRequest()
			req.Version, req.TopicNames = 5, []string{"orders"}
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DeleteTopicsResponse).Topics[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"CreatePartitions", []acl.Binding{topic(acl.OpAlter)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrCreatePartitionsRequest()
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = "orders", 2
			req.Version, req.Topics = 3, append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.CreatePartitionsResponse).Topics[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"DeleteRecords", []acl.Binding{topic(acl.OpDelete)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDeleteRecordsRequest()
			rt := kmsg.NewDeleteRecordsRequestTopic()
			rt.Topic = "orders"
			rp := kmsg.NewDeleteRecordsRequestTopicPartition()
			rp.Offset = 0
			rt.Partitions = append(rt.Partitions, rp)
			req.Version, req.Topics, req.TimeoutMillis = 2, append(req.Topics, rt), 5000
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"DescribeConfigs of a topic", []acl.Binding{topic(acl.OpDescribeConfigs)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDescribeConfigsRequest()
			rr := kmsg.NewDescribeConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "orders"
			req.Version, req.Resources = 4, append(req.Resources, rr)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeConfigsResponse).Resources[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"AlterConfigs of a topic", []acl.Binding{topic(acl.OpAlterConfigs)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrAlterConfigsRequest()
			req.Version, req.Resources = 2, append(req.Resources, alterResource(kmsg.ConfigResourceTypeTopic, "orders", "retention.ms", "1000"))
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode }, kerr.TopicAuthorizationFailed},
		{"IncrementalAlterConfigs of the broker", []acl.Binding{cluster(acl.OpAlterConfigs)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrIncrementalAlterConfigsRequest()
			rr := kmsg.NewIncrementalAlterConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, ""
			rr.Configs = append(rr.Configs, configOp(kmsg.IncrementalAlterConfigOpSet, "log.retention.ms", kmsg.StringPtr("100000")))
			req.Version, req.Resources = 1, append(req.Resources, rr)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.IncrementalAlterConfigsResponse).Resources[0].ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"DescribeLogDirs", []acl.Binding{cluster(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDescribeLogDirsRequest()
			req.Version = 4
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeLogDirsResponse).ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"ElectLeaders", []acl.Binding{cluster(acl.OpAlter)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrElectLeadersRequest()
			rt := kmsg.NewElectLeadersRequestTopic()
			rt.Topic, rt.Partitions = "orders", []int32{0}
			req.Version, req.Topics, req.TimeoutMillis = 2, append(req.Topics, rt), 5000
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.ElectLeadersResponse).ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"ControlledShutdown", []acl.Binding{cluster(acl.OpClusterAction)}, func(b *Broker) kmsg.Request {
			req := kmsg.NewPtrControlledShutdownRequest()
			req.Version, req.BrokerID = 3, b.cfg.BrokerID
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.ControlledShutdownResponse).ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"FindCoordinator of a group", []acl.Binding{group(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.Version, req.CoordinatorKey = 3, "g"
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).ErrorCode }, kerr.GroupAuthorizationFailed},
		{"FindCoordinator of a transactional ID", []acl.Binding{txn(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.Version, req.CoordinatorType, req.CoordinatorKeys = 4, 1, []string{"t"}
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.FindCoordinatorResponse).Coordinators[0].ErrorCode }, kerr.TransactionalIDAuthorizationFailed},
		{"JoinGroup", []acl.Binding{group(acl.OpRead)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrJoinGroupRequest()
			p := kmsg.NewJoinGroupRequestProtocol()
			p.Name, p.Metadata = "range", []byte{}
			req.Version, req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 5, "g", 10000, 10000
			req.ProtocolType, req.Protocols = "consumer", append(req.Protocols, p)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.JoinGroupResponse).ErrorCode }, kerr.GroupAuthorizationFailed},
		{"Heartbeat", []acl.Binding{group(acl.OpRead)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrHeartbeatRequest()
			req.Version, req.Group, req.MemberID = 4, "g", "m"
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.HeartbeatResponse).ErrorCode }, kerr.GroupAuthorizationFailed},
		{"OffsetCommit", []acl.Binding{group(acl.OpRead), topic(acl.OpRead)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrOffsetCommitRequest()
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = "orders"
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Offset = 0
			rt.Partitions = append(rt.Partitions, rp)
			req.Version, req.Group, req.Generation, req.Topics = 8, "g", -1, append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode }, kerr.GroupAuthorizationFailed},
		{"OffsetFetch", []acl.Binding{group(acl.OpDescribe), topic(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrOffsetFetchRequest()
			rt := kmsg.NewOffsetFetchRequestTopic()
			rt.Topic, rt.Partitions = "orders", []int32{0}
			req.Version, req.Group, req.Topics = 7, "g", append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.OffsetFetchResponse).ErrorCode }, kerr.GroupAuthorizationFailed},
		{"DescribeGroups", []acl.Binding{group(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDescribeGroupsRequest()
			req.Version, req.Groups = 5, []string{"g"}
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeGroupsResponse).Groups[0].ErrorCode }, kerr.GroupAuthorizationFailed},
		{"DeleteGroups", []acl.Binding{group(acl.OpDelete)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDeleteGroupsRequest()
			req.Version, req.Groups = 2, []string{"g"}
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DeleteGroupsResponse).Groups[0].ErrorCode }, kerr.GroupAuthorizationFailed},
		{"OffsetDelete", []acl.Binding{group(acl.OpDelete), topic(acl.OpRead)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrOffsetDeleteRequest()
			rt := kmsg.NewOffsetDeleteRequestTopic()
			rt.Topic = "orders"
			rt.Partitions = append(rt.Partitions, kmsg.NewOffsetDeleteRequestTopicPartition())
			req.Group, req.Topics = "g", append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.OffsetDeleteResponse).ErrorCode }, kerr.GroupAuthorizationFailed},
		{"InitProducerId for an idempotent producer", []acl.Binding{cluster(acl.OpIdempotentWrite)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.Version = 4
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"InitProducerId for a transactional producer", []acl.Binding{txn(acl.OpWrite)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.Version, req.TransactionalID, req.TransactionTimeoutMillis = 4, kmsg.StringPtr("t"), 60000
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.InitProducerIDResponse).ErrorCode }, kerr.TransactionalIDAuthorizationFailed},
		{"AddPartitionsToTxn", []acl.Binding{txn(acl.OpWrite), topic(acl.OpWrite)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrAddPartitionsToTxnRequest()
			rt := kmsg.NewAddPartitionsToTxnRequestTopic()
			rt.Topic, rt.Partitions = "orders", []int32{0}
			req.Version, req.TransactionalID, req.ProducerID, req.Topics = 3, "t", 1, append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 {
			return r.(*kmsg.AddPartitionsToTxnResponse).Topics[0].Partitions[0].ErrorCode
		}, kerr.TransactionalIDAuthorizationFailed},
		{"AddPartitionsToTxn verification by a leader", []acl.Binding{cluster(acl.OpClusterAction)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrAddPartitionsToTxnRequest()
			tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
			tx.TransactionalID, tx.ProducerID, tx.VerifyOnly = "t", 1, true
			req.Version, req.Transactions = 4, append(req.Transactions, tx)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AddPartitionsToTxnResponse).ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"AddOffsetsToTxn", []acl.Binding{txn(acl.OpWrite), group(acl.OpRead)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrAddOffsetsToTxnRequest()
			req.Version, req.TransactionalID, req.ProducerID, req.Group = 3, "t", 1, "g"
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AddOffsetsToTxnResponse).ErrorCode }, kerr.TransactionalIDAuthorizationFailed},
		{"EndTxn", []acl.Binding{txn(acl.OpWrite)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrEndTxnRequest()
			req.Version, req.TransactionalID, req.ProducerID = 3, "t", 1
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.EndTxnResponse).ErrorCode }, kerr.TransactionalIDAuthorizationFailed},
		{"WriteTxnMarkers", []acl.Binding{cluster(acl.OpClusterAction)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrWriteTxnMarkersRequest()
			m := kmsg.NewWriteTxnMarkersRequestMarker()
			mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
			mt.Topic, mt.Partitions = "orders", []int32{0}
			m.ProducerID, m.Topics = 1, append(m.Topics, mt)
			req.Version, req.Markers = 1, append(req.Markers, m)
			return req
		}, func(r kmsg.Response) int16 {
			return r.(*kmsg.WriteTxnMarkersResponse).Markers[0].Topics[0].Partitions[0].ErrorCode
		}, kerr.ClusterAuthorizationFailed},
		{"DescribeProducers", []acl.Binding{topic(acl.OpRead)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDescribeProducersRequest()
			rt := kmsg.NewDescribeProducersRequestTopic()
			rt.Topic, rt.Partitions = "orders", []int32{0}
			req.Topics = append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 {
			return r.(*kmsg.DescribeProducersResponse).Topics[0].Partitions[0].ErrorCode
		}, kerr.TopicAuthorizationFailed},
		{"DescribeTransactions", []acl.Binding{txn(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDescribeTransactionsRequest()
			req.TransactionalIDs = []string{"t"}
			return req
		}, func(r kmsg.Response) int16 {
			return r.(*kmsg.DescribeTransactionsResponse).TransactionStates[0].ErrorCode
		}, kerr.TransactionalIDAuthorizationFailed},
		{"DescribeAcls", []acl.Binding{cluster(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDescribeACLsRequest()
			req.Version, req.ResourceType, req.ResourcePatternType = 3, kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny
			req.Operation, req.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeACLsResponse).ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"CreateAcls", []acl.Binding{cluster(acl.OpAlter)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrCreateACLsRequest()
			c := kmsg.NewCreateACLsRequestCreation()
			c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, "x", kmsg.ACLResourcePatternTypeLiteral
			c.Principal, c.Host, c.Operation, c.PermissionType = "User:bob", "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
			req.Version, req.Creations = 3, append(req.Creations, c)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.CreateACLsResponse).Results[0].ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"DeleteAcls", []acl.Binding{cluster(acl.OpAlter)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDeleteACLsRequest()
			f := kmsg.NewDeleteACLsRequestFilter()
			f.ResourceType, f.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.ACLResourcePatternTypeAny
			f.Principal, f.Operation, f.PermissionType = kmsg.StringPtr("User:bob"), kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
			req.Version, req.Filters = 3, append(req.Filters, f)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DeleteACLsResponse).Results[0].ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"OffsetForLeaderEpoch", []acl.Binding{topic(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrOffsetForLeaderEpochRequest()
			req.Version = 4
			rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
			rt.Topic = "orders"
			rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
			rp.CurrentLeaderEpoch, rp.LeaderEpoch = -1, 0
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			return req
		}, func(r kmsg.Response) int16 {
			return r.(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0].ErrorCode
		}, kerr.TopicAuthorizationFailed},
		{"DescribeClientQuotas", []acl.Binding{cluster(acl.OpDescribeConfigs)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDescribeClientQuotasRequest()
			req.Version = 1
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeClientQuotasResponse).ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"AlterClientQuotas", []acl.Binding{cluster(acl.OpAlterConfigs)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrAlterClientQuotasRequest()
			req.Version = 1
			e := kmsg.NewAlterClientQuotasRequestEntry()
			e.Entity = append(e.Entity, kmsg.AlterClientQuotasRequestEntryEntity{Type: "client-id", Name: kmsg.StringPtr("app")})
			op := kmsg.NewAlterClientQuotasRequestEntryOp()
			op.Key, op.Value = "producer_byte_rate", 1024
			e.Ops = append(e.Ops, op)
			req.Entries = append(req.Entries, e)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AlterClientQuotasResponse).Entries[0].ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"DescribeUserScramCredentials", []acl.Binding{cluster(acl.OpDescribe)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.DescribeUserSCRAMCredentialsResponse).ErrorCode }, kerr.ClusterAuthorizationFailed},
		{"AlterUserScramCredentials", []acl.Binding{cluster(acl.OpAlter)}, func(*Broker) kmsg.Request {
			req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
			u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
			u.Name, u.Mechanism, u.Iterations = "bob", 1, 4096
			u.Salt, u.SaltedPassword = []byte("salt"), make([]byte, 32)
			req.Upsertions = append(req.Upsertions, u)
			return req
		}, func(r kmsg.Response) int16 { return r.(*kmsg.AlterUserSCRAMCredentialsResponse).Results[0].ErrorCode }, kerr.ClusterAuthorizationFailed},
	}
}

// TestEveryAPIChecksWhatKafkaChecks is the ACL matrix: each API, as
// User:alice, with the ACLs that allow the request (served), with the
// same ACLs and a DENY of the same operations (refused with Kafka's
// code), and with no ACL (refused).
func TestEveryAPIChecksWhatKafkaChecks(t *testing.T) {
	for _, c := range aclMatrix() {
		t.Run(c.api, func(t *testing.T) {
			for _, mode := range []string{"allowed", "denied", "no ACL"} {
				b := newAuthorizingBroker(t)
				createTopicAsAdmin(t, b, "orders")
				switch mode {
				case "allowed":
					grant(t, b, c.allows...)
				case "denied":
					grant(t, b, c.allows...)
					for _, a := range c.allows {
						grant(t, b, denied(a))
					}
				}
				code := c.code(serveOn(t, b, aliceConn, "", c.request(b)))
				if mode == "allowed" {
					if code == c.refused.Code {
						t.Errorf("%s: refused with %v", mode, c.refused)
					}
				} else if code != c.refused.Code {
					t.Errorf("%s: answered %v, want %v", mode, kerr.ErrorForCode(code), c.refused)
				}
			}
		})
	}
}

func TestCreateTopicsLeavesOutTheConfigsACreatorMayNotDescribe(t *testing.T) {
	b := newAuthorizingBroker(t)
	grant(t, b, aliceMay(acl.OpCreate, acl.ResourceTopic, "blind"), aliceMay(acl.OpCreate, acl.ResourceTopic, "seeing"),
		aliceMay(acl.OpDescribeConfigs, acl.ResourceTopic, "seeing"))
	create := func(name string) kmsg.CreateTopicsResponseTopic {
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.Topics = 7, []kmsg.CreateTopicsRequestTopic{newCreatableTopic(name, 2, 1, nil)}
		return serveOn(t, b, aliceConn, "", req).(*kmsg.CreateTopicsResponse).Topics[0]
	}
	blind := create("blind")
	if blind.ErrorCode != 0 || blind.ConfigErrorCode != kerr.TopicAuthorizationFailed.Code || len(blind.Configs) != 0 || blind.NumPartitions != -1 {
		t.Errorf("created without DESCRIBE_CONFIGS: error %v, config error %v, %d configs, %d partitions",
			kerr.ErrorForCode(blind.ErrorCode), kerr.ErrorForCode(blind.ConfigErrorCode), len(blind.Configs), blind.NumPartitions)
	}
	seeing := create("seeing")
	if seeing.ErrorCode != 0 || seeing.ConfigErrorCode != 0 || len(seeing.Configs) == 0 || seeing.NumPartitions != 2 {
		t.Errorf("created with DESCRIBE_CONFIGS: error %v, config error %v, %d configs, %d partitions",
			kerr.ErrorForCode(seeing.ErrorCode), kerr.ErrorForCode(seeing.ConfigErrorCode), len(seeing.Configs), seeing.NumPartitions)
	}
}

func TestDescribeTransactionsLeavesOutTopicsTheCallerMayNotDescribe(t *testing.T) {
	b := newAuthorizingBroker(t)
	createTopicAsAdmin(t, b, "orders")
	createTopicAsAdmin(t, b, "secret")
	if err := b.ensureTxnTopic(context.Background()); err != nil {
		t.Fatal(err)
	}
	initReq := kmsg.NewPtrInitProducerIDRequest()
	initReq.Version, initReq.TransactionalID, initReq.TransactionTimeoutMillis = 4, kmsg.StringPtr("t"), 60000
	var init *kmsg.InitProducerIDResponse
	checkForTxn(t, func() error {
		init = serveOn(t, b, adminConn, "", initReq).(*kmsg.InitProducerIDResponse)
		return kerr.ErrorForCode(init.ErrorCode)
	})
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.Version, add.TransactionalID, add.ProducerID, add.ProducerEpoch = 3, "t", init.ProducerID, init.ProducerEpoch
	for _, topic := range []string{"orders", "secret"} {
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{0}
		add.Topics = append(add.Topics, rt)
	}
	for _, rt := range serveOn(t, b, adminConn, "", add).(*kmsg.AddPartitionsToTxnResponse).Topics {
		if code := rt.Partitions[0].ErrorCode; code != 0 {
			t.Fatalf("add %s to the transaction: %v", rt.Topic, kerr.ErrorForCode(code))
		}
	}
	grant(t, b, aliceMay(acl.OpDescribe, acl.ResourceTransactionalID, "t"), aliceMay(acl.OpDescribe, acl.ResourceTopic, "orders"))
	describe := kmsg.NewPtrDescribeTransactionsRequest()
	describe.TransactionalIDs = []string{"t"}
	st := serveOn(t, b, aliceConn, "", describe).(*kmsg.DescribeTransactionsResponse).TransactionStates[0]
	if st.ErrorCode != 0 || len(st.Topics) != 1 || st.Topics[0].Topic != "orders" {
		t.Fatalf("alice sees error %v and topics %+v, want orders alone", kerr.ErrorForCode(st.ErrorCode), st.Topics)
	}
}
