package groupcoord

// Heartbeat. A heartbeat from the current generation restarts the
// member's session timer. While the group prepares a rebalance the answer
// is REBALANCE_IN_PROGRESS, the member's cue to rejoin; while it completes
// one (members between JoinGroup and SyncGroup) heartbeats are fine.
//
// Versions: v3 adds group.instance.id (FENCED_INSTANCE_ID when another
// member id now holds it). While the group's partition is loading the answer
// is NONE, as Kafka answers "blindly": the member's session continues once
// the group is back.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.Heartbeat, Min: 0, Max: 4, Serve: serveAs((*Coordinator).Heartbeat)})
}

// Heartbeat serves Heartbeat.
func (c *Coordinator) Heartbeat(_ context.Context, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = errCode(c.heartbeat(req))
	return resp
}

func (c *Coordinator) heartbeat(req *kmsg.HeartbeatRequest) *kerr.Error {
	g, err := c.groupFor(req.Group, false, false)
	if err == kerr.CoordinatorLoadInProgress {
		return nil
	}
	if err != nil {
		return err
	}
	if g == nil {
		return kerr.UnknownMemberID
	}
	g.mu.Lock()
	defer g.unlock()
	if g.is(stateDead) {
		return kerr.CoordinatorNotAvailable
	}
	if err := validateCurrentMember(g, req.MemberID, req.InstanceID); err != nil {
		return err
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return kerr.UnknownMemberID
	case statePreparingRebalance:
		c.scheduleHeartbeat(g, m, ms(m.sessionTimeout))
		return kerr.RebalanceInProgress
	default: // CompletingRebalance: a member may heartbeat between its JoinGroup and SyncGroup.
		c.scheduleHeartbeat(g, m, ms(m.sessionTimeout))
		return nil
	}
}
