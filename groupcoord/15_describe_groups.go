package groupcoord

// DescribeGroups. Members carry their protocol metadata and
// assignment only while the group is Stable (the protocol name is empty
// otherwise), as in Kafka.
//
// Versions: v3 can ask for authorized operations, which stay at Kafka's
// "not provided" value until ACLs exist; v4 returns group.instance.id; v6
// (KIP-1043) answers a group that does not exist with GROUP_ID_NOT_FOUND and
// an error message, where earlier versions answer state "Dead" and no error.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.DescribeGroups, Min: 0, Max: 6, Serve: serveAs((*Coordinator).DescribeGroups)})
}

// DescribeGroups serves DescribeGroups.
func (c *Coordinator) DescribeGroups(_ context.Context, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		resp.Groups = append(resp.Groups, c.describeGroup(id, req.Version))
	}
	return resp
}

func (c *Coordinator) describeGroup(id string, version int16) kmsg.DescribeGroupsResponseGroup {
	dg := kmsg.NewDescribeGroupsResponseGroup()
	dg.Group = id
	notFound := func() kmsg.DescribeGroupsResponseGroup {
		dg.State = stateDead.String()
		if version >= 6 {
			dg.ErrorCode = kerr.GroupIDNotFound.Code
			dg.ErrorMessage = strPtr("Group " + id + " not found.")
		}
		return dg
	}
	g, err := c.groupFor(id, true, false)
	if err != nil {
		dg.ErrorCode = err.Code
		if version >= 6 {
			dg.ErrorMessage = strPtr(err.Description)
		}
		return dg
	}
	if g == nil {
		return notFound()
	}
	g.mu.Lock()
	defer g.unlock()
	if g.is(stateDead) {
		return notFound()
	}
	dg.State = g.state.String()
	dg.ProtocolType = g.protocolType
	stable := g.is(stateStable) && g.protocolName != nil
	if stable {
		dg.Protocol = *g.protocolName
	}
	for _, m := range g.sortedMembers() {
		dm := kmsg.NewDescribeGroupsResponseGroupMember()
		dm.MemberID, dm.InstanceID, dm.ClientID, dm.ClientHost = m.id, m.instanceID, m.clientID, m.clientHost
		dm.ProtocolMetadata, dm.MemberAssignment = []byte{}, []byte{}
		if stable {
			if md := m.metadata(*g.protocolName); md != nil {
				dm.ProtocolMetadata = md
			}
			if m.assignment != nil {
				dm.MemberAssignment = m.assignment
			}
		}
		dg.Members = append(dg.Members, dm)
	}
	return dg
}
