package groupcoord

// ListGroups: the groups of every partition this coordinator has
// loaded. While a partition is still loading the error is
// COORDINATOR_LOAD_IN_PROGRESS and the groups loaded so far are listed, as
// in Kafka.
//
// Versions: v4 (KIP-518) filters by state, case-insensitively, and returns
// each group's state; v5 (KIP-848) filters by group type and returns it:
// every group here is "classic", so a types filter without "classic" lists
// nothing.

import (
	"context"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.ListGroups, Min: 0, Max: 5, Serve: serveAs((*Coordinator).ListGroups),
		Note: "state (v4+) and type (v5+) filters"})
}

const classicGroupType = "classic"

// ListGroups serves ListGroups.
func (c *Coordinator) ListGroups(_ context.Context, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	states := make(map[string]bool, len(req.StatesFilter))
	for _, s := range req.StatesFilter {
		states[strings.ToLower(s)] = true
	}
	typeOK := len(req.TypesFilter) == 0
	for _, t := range req.TypesFilter {
		if strings.EqualFold(t, classicGroupType) {
			typeOK = true
		}
	}

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	for _, ps := range c.partitions {
		if !ps.loaded {
			resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		}
	}
	groups := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		groups = append(groups, g)
	}
	c.mu.Unlock()
	if !typeOK {
		return resp
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].id < groups[j].id })
	for _, g := range groups {
		g.mu.Lock()
		state, protocolType := g.state, g.protocolType
		g.unlock()
		if state == stateDead || (len(states) > 0 && !states[strings.ToLower(state.String())]) {
			continue
		}
		lg := kmsg.NewListGroupsResponseGroup()
		lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.id, protocolType, state.String(), classicGroupType
		resp.Groups = append(resp.Groups, lg)
	}
	return resp
}
