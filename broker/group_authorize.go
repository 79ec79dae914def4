package broker

// Authorization of the group APIs. The coordinator (package groupcoord)
// knows nothing of ACLs: the broker checks each group request before the
// coordinator sees it, as Kafka's KafkaApis does before calling its group
// coordinator, and answers what is refused itself:
//
//   - JoinGroup, SyncGroup, Heartbeat, LeaveGroup: READ on the group
//     (GROUP_AUTHORIZATION_FAILED);
//   - OffsetCommit: READ on the group, then READ on each topic
//     (TOPIC_AUTHORIZATION_FAILED for its partitions);
//   - TxnOffsetCommit: WRITE on the transactional ID
//     (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), READ on the group, READ on
//     each topic;
//   - OffsetFetch: DESCRIBE on each group, DESCRIBE on each topic named;
//     asked for all topics, the ones not described are left out;
//   - DescribeGroups: DESCRIBE on each group; DeleteGroups: DELETE on
//     each group; ListGroups: every group with DESCRIBE on the cluster,
//     else only the groups the caller may DESCRIBE;
//   - OffsetDelete: DELETE on the group, READ on each topic.
//
// Only the permitted part of a request reaches the coordinator; the
// refused parts are answered here and merged into its response.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

// authorizeGroupRequest serves req through serve with what conn may do,
// answering the rest as refused.
func (b *Broker) authorizeGroupRequest(conn *wire.Conn, req kmsg.Request, serve func(kmsg.Request) kmsg.Response) kmsg.Response {
	if b.authorizer == nil {
		if r, ok := req.(*kmsg.DescribeGroupsRequest); ok {
			return b.describeGroupsAuthorized(conn, r, serve)
		}
		return serve(req)
	}
	group := func(op acl.Operation, name string) bool { return b.authorized(conn, op, acl.ResourceGroup, name) }
	groupDenied := kerr.GroupAuthorizationFailed.Code
	switch r := req.(type) {
	case *kmsg.JoinGroupRequest:
		if !group(acl.OpRead, r.Group) {
			resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
			resp.ErrorCode = groupDenied
			return resp
		}
	case *kmsg.SyncGroupRequest:
		if !group(acl.OpRead, r.Group) {
			resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
			resp.ErrorCode, resp.MemberAssignment = groupDenied, []byte{}
			return resp
		}
	case *kmsg.HeartbeatRequest:
		if !group(acl.OpRead, r.Group) {
			resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
			resp.ErrorCode = groupDenied
			return resp
		}
	case *kmsg.LeaveGroupRequest:
		if !group(acl.OpRead, r.Group) {
			resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
			resp.ErrorCode = groupDenied
			return resp
		}
	case *kmsg.OffsetCommitRequest:
		return b.offsetCommitAuthorized(conn, r, group(acl.OpRead, r.Group), serve)
	case *kmsg.TxnOffsetCommitRequest:
		return b.txnOffsetCommitAuthorized(conn, r, group(acl.OpRead, r.Group), serve)
	case *kmsg.OffsetFetchRequest:
		return b.offsetFetchAuthorized(conn, r, serve)
	case *kmsg.DescribeGroupsRequest:
		return b.describeGroupsAuthorized(conn, r, serve)
	case *kmsg.ListGroupsRequest:
		resp := serve(r).(*kmsg.ListGroupsResponse)
		if !b.authorizedCluster(conn, acl.OpDescribe) {
			kept := resp.Groups[:0]
			for _, g := range resp.Groups {
				if group(acl.OpDescribe, g.Group) {
					kept = append(kept, g)
				}
			}
			resp.Groups = kept
		}
		return resp
	case *kmsg.DeleteGroupsRequest:
		return b.deleteGroupsAuthorized(conn, r, serve)
	case *kmsg.OffsetDeleteRequest:
		return b.offsetDeleteAuthorized(conn, r, group(acl.OpDelete, r.Group), serve)
	}
	return serve(req)
}

// requestTopicName is the name of a topic a group request names by name
// or, in versions with topic IDs, by ID ("" when the ID is unknown: the
// coordinator answers it).
func (b *Broker) requestTopicName(name string, id [16]byte) string {
	if name != "" {
		return name
	}
	n, _ := b.replicas.TopicName(id)
	return n
}

func (b *Broker) offsetCommitAuthorized(conn *wire.Conn, r *kmsg.OffsetCommitRequest, groupAllowed bool, serve func(kmsg.Request) kmsg.Response) kmsg.Response {
	mayRead := b.topicCheck(conn, acl.OpRead)
	permitted := *r
	permitted.Topics = nil
	var refused []kmsg.OffsetCommitResponseTopic
	for _, t := range r.Topics {
		name := b.requestTopicName(t.Topic, t.TopicID)
		code := kerr.GroupAuthorizationFailed.Code
		if groupAllowed {
			if name == "" || mayRead(name) {
				permitted.Topics = append(permitted.Topics, t)
				continue
			}
			code = kerr.TopicAuthorizationFailed.Code
		}
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		refused = append(refused, rt)
	}
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	if len(permitted.Topics) > 0 || len(r.Topics) == 0 {
		resp = serve(&permitted).(*kmsg.OffsetCommitResponse)
	}
	resp.Topics = append(resp.Topics, refused...)
	return resp
}

func (b *Broker) txnOffsetCommitAuthorized(conn *wire.Conn, r *kmsg.TxnOffsetCommitRequest, groupAllowed bool, serve func(kmsg.Request) kmsg.Response) kmsg.Response {
	whole := int16(0)
	switch {
	case !b.authorized(conn, acl.OpWrite, acl.ResourceTransactionalID, r.TransactionalID):
		whole = kerr.TransactionalIDAuthorizationFailed.Code
	case !groupAllowed:
		whole = kerr.GroupAuthorizationFailed.Code
	}
	mayRead := b.topicCheck(conn, acl.OpRead)
	permitted := *r
	permitted.Topics = nil
	var refused []kmsg.TxnOffsetCommitResponseTopic
	for _, t := range r.Topics {
		code := whole
		if code == 0 {
			if name := b.requestTopicName(t.Topic, t.TopicID); name == "" || mayRead(name) {
				permitted.Topics = append(permitted.Topics, t)
				continue
			}
			code = kerr.TopicAuthorizationFailed.Code
		}
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		refused = append(refused, rt)
	}
	resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	if len(permitted.Topics) > 0 || (len(r.Topics) == 0 && whole == 0) {
		resp = serve(&permitted).(*kmsg.TxnOffsetCommitResponse)
	}
	resp.Topics = append(resp.Topics, refused...)
	return resp
}

func (b *Broker) offsetFetchAuthorized(conn *wire.Conn, r *kmsg.OffsetFetchRequest, serve func(kmsg.Request) kmsg.Response) kmsg.Response {
	mayDescribe := b.topicCheck(conn, acl.OpDescribe)
	groupAllowed := func(name string) bool { return b.authorized(conn, acl.OpDescribe, acl.ResourceGroup, name) }
	if r.Version >= 8 {
		return b.offsetFetchGroupsAuthorized(r, groupAllowed, mayDescribe, serve)
	}
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	if !groupAllowed(r.Group) {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		if r.Version < 2 { // no top-level error code: on each partition
			for _, t := range r.Topics {
				resp.Topics = append(resp.Topics, refusedOffsetFetchTopic(t.Topic, t.Partitions, resp.ErrorCode))
			}
		}
		return resp
	}
	if r.Topics == nil { // every topic the group committed
		resp = serve(r).(*kmsg.OffsetFetchResponse)
		kept := resp.Topics[:0]
		for _, t := range resp.Topics {
			if mayDescribe(t.Topic) {
				kept = append(kept, t)
			}
		}
		resp.Topics = kept
		return resp
	}
	permitted := *r
	permitted.Topics = []kmsg.OffsetFetchRequestTopic{}
	var refused []kmsg.OffsetFetchResponseTopic
	for _, t := range r.Topics {
		if mayDescribe(t.Topic) {
			permitted.Topics = append(permitted.Topics, t)
		} else {
			refused = append(refused, refusedOffsetFetchTopic(t.Topic, t.Partitions, kerr.TopicAuthorizationFailed.Code))
		}
	}
	if len(permitted.Topics) > 0 || len(r.Topics) == 0 {
		resp = serve(&permitted).(*kmsg.OffsetFetchResponse)
	}
	resp.Topics = append(resp.Topics, refused...)
	return resp
}

func refusedOffsetFetchTopic(topic string, partitions []int32, code int16) kmsg.OffsetFetchResponseTopic {
	rt := kmsg.NewOffsetFetchResponseTopic()
	rt.Topic = topic
	for _, p := range partitions {
		rp := kmsg.NewOffsetFetchResponseTopicPartition()
		rp.Partition, rp.Offset, rp.ErrorCode = p, -1, code
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

// offsetFetchGroupsAuthorized is OffsetFetch v8+, which names several
// groups, each answered on its own.
func (b *Broker) offsetFetchGroupsAuthorized(r *kmsg.OffsetFetchRequest, groupAllowed, mayDescribe func(string) bool, serve func(kmsg.Request) kmsg.Response) kmsg.Response {
	permitted := *r
	permitted.Groups = nil
	refusedGroups := map[string]kmsg.OffsetFetchResponseGroup{}
	refusedTopics := map[string][]kmsg.OffsetFetchResponseGroupTopic{}
	for _, g := range r.Groups {
		if !groupAllowed(g.Group) {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group, rg.ErrorCode = g.Group, kerr.GroupAuthorizationFailed.Code
			refusedGroups[g.Group] = rg
			continue
		}
		if g.Topics != nil {
			topics := []kmsg.OffsetFetchRequestGroupTopic{}
			for _, t := range g.Topics {
				if name := b.requestTopicName(t.Topic, t.TopicID); name == "" || mayDescribe(name) {
					topics = append(topics, t)
					continue
				}
				rt := kmsg.NewOffsetFetchResponseGroupTopic()
				rt.Topic, rt.TopicID = t.Topic, t.TopicID
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					rp.Partition, rp.Offset, rp.ErrorCode = p, -1, kerr.TopicAuthorizationFailed.Code
					rt.Partitions = append(rt.Partitions, rp)
				}
				refusedTopics[g.Group] = append(refusedTopics[g.Group], rt)
			}
			g.Topics = topics
		}
		permitted.Groups = append(permitted.Groups, g)
	}
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	if len(permitted.Groups) > 0 {
		resp = serve(&permitted).(*kmsg.OffsetFetchResponse)
	}
	served := map[string]kmsg.OffsetFetchResponseGroup{}
	for _, g := range resp.Groups {
		kept := g.Topics[:0]
		for _, t := range g.Topics {
			if name := b.requestTopicName(t.Topic, t.TopicID); name == "" || mayDescribe(name) {
				kept = append(kept, t)
			}
		}
		g.Topics = append(kept, refusedTopics[g.Group]...)
		served[g.Group] = g
	}
	resp.Groups = resp.Groups[:0]
	for _, g := range r.Groups {
		if rg, ok := refusedGroups[g.Group]; ok {
			resp.Groups = append(resp.Groups, rg)
		} else if sg, ok := served[g.Group]; ok {
			resp.Groups = append(resp.Groups, sg)
		}
	}
	return resp
}

// groupOperations are the operations KIP-430 reports on a group.
var groupOperations = []acl.Operation{acl.OpRead, acl.OpDescribe, acl.OpDelete}

func (b *Broker) describeGroupsAuthorized(conn *wire.Conn, r *kmsg.DescribeGroupsRequest, serve func(kmsg.Request) kmsg.Response) kmsg.Response {
	permitted := *r
	permitted.Groups = nil
	for _, g := range r.Groups {
		if b.authorized(conn, acl.OpDescribe, acl.ResourceGroup, g) {
			permitted.Groups = append(permitted.Groups, g)
		}
	}
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	if len(permitted.Groups) > 0 {
		resp = serve(&permitted).(*kmsg.DescribeGroupsResponse)
	}
	served := map[string]kmsg.DescribeGroupsResponseGroup{}
	for _, g := range resp.Groups {
		if r.IncludeAuthorizedOperations && r.Version >= 3 && g.ErrorCode == 0 {
			g.AuthorizedOperations = 0
			for _, op := range groupOperations {
				if b.authorized(conn, op, acl.ResourceGroup, g.Group) {
					g.AuthorizedOperations |= 1 << op
				}
			}
		}
		served[g.Group] = g
	}
	resp.Groups = resp.Groups[:0]
	for _, name := range r.Groups {
		g, ok := served[name]
		if !ok {
			g = kmsg.NewDescribeGroupsResponseGroup()
			g.Group, g.ErrorCode = name, kerr.GroupAuthorizationFailed.Code
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

func (b *Broker) deleteGroupsAuthorized(conn *wire.Conn, r *kmsg.DeleteGroupsRequest, serve func(kmsg.Request) kmsg.Response) kmsg.Response {
	permitted := *r
	permitted.Groups = nil
	for _, g := range r.Groups {
		if b.authorized(conn, acl.OpDelete, acl.ResourceGroup, g) {
			permitted.Groups = append(permitted.Groups, g)
		}
	}
	resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
	if len(permitted.Groups) > 0 {
		resp = serve(&permitted).(*kmsg.DeleteGroupsResponse)
	}
	served := map[string]kmsg.DeleteGroupsResponseGroup{}
	for _, g := range resp.Groups {
		served[g.Group] = g
	}
	resp.Groups = resp.Groups[:0]
	for _, name := range r.Groups {
		g, ok := served[name]
		if !ok {
			g = kmsg.NewDeleteGroupsResponseGroup()
			g.Group, g.ErrorCode = name, kerr.GroupAuthorizationFailed.Code
		}
		resp.Groups = append(resp.Groups, g)
	}
	return resp
}

func (b *Broker) offsetDeleteAuthorized(conn *wire.Conn, r *kmsg.OffsetDeleteRequest, groupAllowed bool, serve func(kmsg.Request) kmsg.Response) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if !groupAllowed {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp
	}
	mayRead := b.topicCheck(conn, acl.OpRead)
	permitted := *r
	permitted.Topics = nil
	var refused []kmsg.OffsetDeleteResponseTopic
	for _, t := range r.Topics {
		if mayRead(t.Topic) {
			permitted.Topics = append(permitted.Topics, t)
			continue
		}
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, kerr.TopicAuthorizationFailed.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		refused = append(refused, rt)
	}
	if len(permitted.Topics) > 0 || len(r.Topics) == 0 {
		resp = serve(&permitted).(*kmsg.OffsetDeleteResponse)
	}
	resp.Topics = append(resp.Topics, refused...)
	return resp
}
