package groupcoord

// SyncGroup. A member of a CompletingRebalance group waits here until
// the leader's assignment is stored; the leader's call stores it (the
// group's metadata record, with every member's assignment, is appended to
// __consumer_offsets) and then answers everyone. In a Stable group the
// current assignment comes back at once; this is how a restarted static
// member gets its partitions back.
//
// Versions: v3 adds group.instance.id; v5 (KIP-559) requires the protocol
// type and name and checks them against the group's
// (INCONSISTENT_GROUP_PROTOCOL), and returns them.
//
// While the group's partition is loading the answer is REBALANCE_IN_PROGRESS,
// not COORDINATOR_LOAD_IN_PROGRESS: the rebalance state was lost anyway and
// old clients do not expect that error here (Kafka does the same). Members
// the leader left out get an empty assignment.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.SyncGroup, Min: 0, Max: 5, Serve: serveAs((*Coordinator).SyncGroup)})
}

// SyncGroup serves SyncGroup.
func (c *Coordinator) SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	ch := make(chan syncResult, 1)
	respond := func(r syncResult) {
		select {
		case ch <- r:
		default:
		}
	}
	c.syncGroup(req, respond)
	var r syncResult
	select {
	case r = <-ch:
	case <-ctx.Done():
		r = syncResult{err: kerr.CoordinatorNotAvailable}
	}
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	resp.ErrorCode = errCode(r.err)
	resp.ProtocolType = r.protocolType
	resp.Protocol = r.protocolName
	resp.MemberAssignment = r.assignment
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	return resp
}

func (c *Coordinator) syncGroup(req *kmsg.SyncGroupRequest, respond func(syncResult)) {
	if req.Version >= 5 && (req.ProtocolType == nil || req.Protocol == nil) {
		respond(syncResult{err: kerr.InconsistentGroupProtocol})
		return
	}
	g, err := c.groupFor(req.Group, false, false)
	if err == kerr.CoordinatorLoadInProgress {
		err = kerr.RebalanceInProgress
	}
	if err != nil {
		respond(syncResult{err: err})
		return
	}
	if g == nil {
		respond(syncResult{err: kerr.UnknownMemberID})
		return
	}

	g.mu.Lock()
	defer g.unlock()
	if err := c.validateSync(g, req); err != nil {
		respond(syncResult{err: err})
		return
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		respond(syncResult{err: kerr.UnknownMemberID})
	case statePreparingRebalance:
		respond(syncResult{err: kerr.RebalanceInProgress})
	case stateCompletingRebalance:
		m.syncWaiters = append(m.syncWaiters, respond)
		c.removePendingSync(g, m.id)
		if g.isLeader(m.id) && g.storingGeneration != g.generation {
			c.storeAssignment(g, req)
		}
	case stateStable:
		c.removePendingSync(g, m.id)
		respond(syncResult{protocolType: g.protocolTypePtr(), protocolName: g.protocolName, assignment: m.assignment})
		c.scheduleHeartbeat(g, m, ms(m.sessionTimeout))
	}
}

func (c *Coordinator) validateSync(g *group, req *kmsg.SyncGroupRequest) *kerr.Error {
	if g.is(stateDead) {
		return kerr.CoordinatorNotAvailable
	}
	if err := validateCurrentMember(g, req.MemberID, req.InstanceID); err != nil {
		return err
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration
	}
	if req.ProtocolType != nil && *req.ProtocolType != g.protocolType {
		return kerr.InconsistentGroupProtocol
	}
	if req.Protocol != nil && (g.protocolName == nil || *req.Protocol != *g.protocolName) {
		return kerr.InconsistentGroupProtocol
	}
	return nil
}

// storeAssignment persists the leader's assignment and, once stored,
// answers every parked SyncGroup and makes the group Stable. If the group
// moved on meanwhile (another rebalance), nothing is applied.
func (c *Coordinator) storeAssignment(g *group, req *kmsg.SyncGroupRequest) {
	generation := g.generation
	assignment := make(map[string][]byte, len(g.members))
	for _, a := range req.GroupAssignment {
		if g.members[a.MemberID] != nil {
			// Kept beyond the call; the request aliases a recycled frame.
			assignment[a.MemberID] = clone(a.MemberAssignment)
		}
	}
	var missing []string
	for id := range g.members {
		if _, ok := assignment[id]; !ok {
			assignment[id] = []byte{}
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		c.log.Warn().Str("group", g.id).Int32("generation", generation).Strs("members", missing).Msg("leader left members without assignment, giving them an empty one")
	}
	c.log.Info().Str("group", g.id).Int32("generation", generation).Str("leader", req.MemberID).
		Int("members", len(g.members)).Int("static_members", len(g.static)).Msg("assignment received from leader")
	g.storingGeneration = generation
	c.storeGroup(g, assignment, func(err *kerr.Error) {
		if g.storingGeneration == generation {
			g.storingGeneration = -1
		}
		if !g.is(stateCompletingRebalance) || g.generation != generation {
			return
		}
		if err != nil {
			c.resetAndPropagateAssignmentError(g, err)
			c.maybePrepareRebalance(g, "error "+err.Message+" when storing group assignment during SyncGroup")
			return
		}
		c.setAndPropagateAssignment(g, assignment)
		c.transition(g, stateStable)
	})
}
