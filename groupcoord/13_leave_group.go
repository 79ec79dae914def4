package groupcoord

// LeaveGroup. A member that leaves is removed at once and the group
// rebalances without waiting for its session to expire.
//
// Versions: v0-v2 name one member (MemberID) and answer with a single error
// code: the group error, else that member's error. v3 (KIP-345) takes a
// batch of members, each by member id and/or group.instance.id, and answers
// per member; a member given only by instance id is removed whatever its
// member id (the administrative removal of a static member). v5 adds a
// per-member reason, logged.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.LeaveGroup, Min: 0, Max: 5, Serve: serveAs((*Coordinator).LeaveGroup),
		Note: "batched leaves of static members (v3+)"})
}

// LeaveGroup serves LeaveGroup.
func (c *Coordinator) LeaveGroup(_ context.Context, req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	leaving := req.Members
	if req.Version < 3 {
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = req.MemberID
		leaving = []kmsg.LeaveGroupRequestMember{lm}
	}
	groupErr, members := c.leaveGroup(req.Group, leaving)
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	if req.Version >= 3 {
		resp.ErrorCode = errCode(groupErr)
		resp.Members = members
		return resp
	}
	resp.ErrorCode = errCode(groupErr)
	if groupErr == nil {
		for _, m := range members {
			if m.ErrorCode != 0 {
				resp.ErrorCode = m.ErrorCode
				break
			}
		}
	}
	return resp
}

func (c *Coordinator) leaveGroup(groupID string, leaving []kmsg.LeaveGroupRequestMember) (*kerr.Error, []kmsg.LeaveGroupResponseMember) {
	answer := func(lm kmsg.LeaveGroupRequestMember, err *kerr.Error) kmsg.LeaveGroupResponseMember {
		r := kmsg.NewLeaveGroupResponseMember()
		r.MemberID, r.InstanceID, r.ErrorCode = lm.MemberID, lm.InstanceID, errCode(err)
		return r
	}
	g, err := c.groupFor(groupID, false, false)
	if err != nil {
		return err, nil
	}
	out := make([]kmsg.LeaveGroupResponseMember, 0, len(leaving))
	if g == nil {
		for _, lm := range leaving {
			out = append(out, answer(lm, kerr.UnknownMemberID))
		}
		return nil, out
	}
	g.mu.Lock()
	defer g.unlock()
	if g.is(stateDead) {
		return kerr.CoordinatorNotAvailable, nil
	}
	for _, lm := range leaving {
		reason := "not provided"
		if lm.Reason != nil {
			reason = *lm.Reason
		}
		switch {
		case lm.MemberID == "":
			// Removal of a static member by instance id alone.
			var current string
			if lm.InstanceID != nil {
				current = g.static[*lm.InstanceID]
			}
			if current == "" {
				out = append(out, answer(lm, kerr.UnknownMemberID))
				continue
			}
			c.leaveMember(g, g.members[current], reason)
			out = append(out, answer(lm, nil))
		case g.pending[lm.MemberID] != nil:
			c.log.Info().Str("group", g.id).Str("member", lm.MemberID).Msg("pending member left the group")
			c.removePendingMemberAndUpdateGroup(g, lm.MemberID)
			out = append(out, answer(lm, nil))
		default:
			if err := validateCurrentMember(g, lm.MemberID, lm.InstanceID); err != nil {
				out = append(out, answer(lm, err))
				continue
			}
			c.leaveMember(g, g.members[lm.MemberID], reason)
			out = append(out, answer(lm, nil))
		}
	}
	return nil, out
}

func (c *Coordinator) leaveMember(g *group, m *member, reason string) {
	c.log.Info().Str("group", g.id).Str("member", m.id).Str("reason", reason).Msg("member left the group")
	c.removeMemberAndUpdateGroup(g, m, "removing member "+m.id+" on LeaveGroup; client reason: "+reason)
}
