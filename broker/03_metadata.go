package broker

// Metadata. A null topic list (v1+), or an empty one in v0, asks
// for every topic. Topics may be named by ID from v10 (UNKNOWN_TOPIC_ID).
// A missing topic is created when auto.create.topics.enable is set and the
// request allows it (always before v4). As in Kafka's ZooKeeper mode, the
// request that creates it (or races another creation) gets the topic back
// with LEADER_NOT_AVAILABLE and no partitions; clients retry, and the next
// Metadata describes it.
//
// With an authorizer, as Kafka: a topic needs DESCRIBE to be shown; the
// all-topics list leaves out the others, a request naming one gets
// TOPIC_AUTHORIZATION_FAILED (without its name when named by ID). A
// missing topic is auto-created only for a caller with CREATE on the
// cluster or on the topic (else TOPIC_AUTHORIZATION_FAILED). Authorized
// operations (KIP-430) are filled when the request asks: each topic's
// and, v8-v10, the cluster's; without an authorizer, every operation.

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.Metadata, min: 0, max: 13, serve: typed((*Broker).handleMetadata),
		note: "topic IDs; auto-creation with `auto.create.topics.enable`"})
}

func (b *Broker) handleMetadata(ctx context.Context, conn *wire.Conn, req *kmsg.MetadataRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	for _, br := range b.store.Brokers() {
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID, mb.Host, mb.Port, mb.Rack = brokerEndpoint(br, conn.Listener)
		resp.Brokers = append(resp.Brokers, mb)
	}
	clusterID := b.store.ClusterID()
	resp.ClusterID = &clusterID
	resp.ControllerID = b.store.ControllerID()

	live := map[int32]bool{}
	for _, br := range b.store.Brokers() {
		live[br.ID] = true
	}
	if req.Version >= 8 && req.Version <= 10 && req.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = b.clusterAuthorizedOperations(conn)
	}
	mayDescribe := b.topicCheck(conn, acl.OpDescribe)
	describe := func(t controller.Topic) kmsg.MetadataResponseTopic {
		mt := describeTopicMetadata(t, live)
		if req.IncludeTopicAuthorizedOperations && req.Version >= 8 {
			mt.AuthorizedOperations = b.authorizedOperations(conn, acl.ResourceTopic, t.Name)
		}
		return mt
	}
	all := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if all {
		topics := b.store.Topics()
		sort.Slice(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })
		for _, t := range topics {
			if mayDescribe(t.Name) {
				resp.Topics = append(resp.Topics, describe(t))
			}
		}
		return resp, nil
	}
	autoCreate := req.Version < 4 || req.AllowAutoTopicCreation
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			id := controller.TopicID(rt.TopicID)
			t, ok := b.store.TopicByID(id)
			if !ok || id.IsZero() {
				mt := kmsg.NewMetadataResponseTopic()
				mt.TopicID = rt.TopicID
				mt.ErrorCode = kerr.UnknownTopicID.Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			if !mayDescribe(t.Name) {
				mt := kmsg.NewMetadataResponseTopic()
				mt.TopicID = rt.TopicID
				mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
			resp.Topics = append(resp.Topics, describe(t))
			continue
		}
		name := *rt.Topic
		t, ok := b.store.Topic(name)
		mayCreate := func() bool {
			return b.authorizedCluster(conn, acl.OpCreate) || b.authorizedTopic(conn, acl.OpCreate, name)
		}
		if !mayDescribe(name) || (!ok && autoCreate && b.effectiveConfig().AutoCreateTopicsEnable && !mayCreate()) {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic = &name
			mt.ErrorCode = kerr.TopicAuthorizationFailed.Code
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		if !ok && autoCreate && b.effectiveConfig().AutoCreateTopicsEnable {
			err := b.autoCreateTopic(ctx, name)
			if err == nil || err == kerr.TopicAlreadyExists {
				err = kerr.LeaderNotAvailable
			}
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic = &name
			mt.ErrorCode = errCode(err)
			mt.IsInternal = controller.IsInternalTopic(name)
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		if !ok {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic = &name
			mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		resp.Topics = append(resp.Topics, describe(t))
	}
	return resp, nil
}

// describeTopicMetadata describes a topic's partitions: leader, replicas,
// ISR, and the replicas on brokers that are not alive (offline).
func describeTopicMetadata(t controller.Topic, live map[int32]bool) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = t.Internal
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, 0, len(t.Partitions))
	for _, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p.Partition
		mp.Leader = p.Leader
		mp.LeaderEpoch = p.LeaderEpoch
		mp.Replicas = append([]int32(nil), p.Replicas...)
		mp.ISR = append([]int32(nil), p.ISR...)
		mp.OfflineReplicas = []int32{}
		for _, r := range p.Replicas {
			if !live[r] {
				mp.OfflineReplicas = append(mp.OfflineReplicas, r)
			}
		}
		if p.Leader < 0 {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}
