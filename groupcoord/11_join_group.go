package groupcoord

// JoinGroup. The call blocks until the rebalance it joins completes,
// the coordinator drops the group, or ctx ends.
//
// Versions: v0 has no rebalance timeout, so the session timeout stands in
// for it (as Kafka does; -1 would mean a rebalance that never times out).
// From v4 a dynamic member joining without a member id is handed one with
// MEMBER_ID_REQUIRED and must join again with it (KIP-394); that id expires
// after the session timeout if it never comes back. v5 adds
// group.instance.id (static membership, KIP-345). v7 returns the protocol
// type and makes the protocol name nullable. v9 adds SkipAssignment
// (KIP-814): it is true only for a static leader that rejoins a Stable group
// without changing the selected protocol, which keeps its old assignment.
//
// Kafka behaviour kept: the protocol type must be the group's and at least
// one protocol must be supported by every member (INCONSISTENT_GROUP_PROTOCOL);
// the chosen protocol is the one every member supports with the most
// first-preference votes; only the leader gets the member list; members that
// do not rejoin within the rebalance timeout are dropped (static ones stay);
// a static member rejoining with a new member id takes its old place, fencing
// the old id (FENCED_INSTANCE_ID), and a Stable group does not rebalance for
// it unless the selected protocol would change.

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.JoinGroup, Min: 0, Max: 9, Serve: serveAs((*Coordinator).JoinGroup),
		Note: "Kafka's group state machine; member ID round (KIP-394); static membership (KIP-345); v0's session timeout doubles as the rebalance timeout"})
}

// JoinGroup serves JoinGroup. Attach the client id and host with
// WithClient for DescribeGroups to report them.
func (c *Coordinator) JoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	ch := make(chan joinResult, 1)
	respond := func(r joinResult) {
		select {
		case ch <- r:
		default: // answered already
		}
	}
	c.joinGroup(ctx, req, respond)
	var r joinResult
	select {
	case r = <-ch:
	case <-ctx.Done():
		// The client is gone or the broker is stopping; the member stays
		// parked and, as in Kafka, is dropped if it never syncs.
		r = joinError(req.MemberID, kerr.CoordinatorNotAvailable)
	}
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.ErrorCode = errCode(r.err)
	resp.Generation = r.generation
	resp.ProtocolType = r.protocolType
	resp.Protocol = r.protocolName
	resp.LeaderID = r.leader
	resp.SkipAssignment = r.skipAssignment && req.Version >= 9
	resp.MemberID = r.memberID
	resp.Members = r.members
	return resp
}

// joinRequest is a JoinGroup with its version-dependent fields resolved.
type joinRequest struct {
	memberID             string
	instanceID           *string
	clientID, clientHost string
	rebalanceTimeout     int32
	sessionTimeout       int32
	protocolType         string
	protocols            []protocol
	requireKnownMemberID bool
	supportSkip          bool
	reason               string
	respond              func(joinResult)
}

func (c *Coordinator) joinGroup(ctx context.Context, req *kmsg.JoinGroupRequest, respond func(joinResult)) {
	client := clientFrom(ctx)
	jr := joinRequest{
		memberID:         req.MemberID,
		instanceID:       req.InstanceID,
		clientID:         client.id,
		clientHost:       client.host,
		rebalanceTimeout: req.RebalanceTimeoutMillis,
		sessionTimeout:   req.SessionTimeoutMillis,
		protocolType:     req.ProtocolType,
		// KIP-394 applies to dynamic members only: a static member is
		// identified by its instance id already.
		requireKnownMemberID: req.Version >= 4 && req.InstanceID == nil,
		supportSkip:          req.Version >= 9,
		reason:               "not provided",
		respond:              respond,
	}
	if req.Version == 0 {
		jr.rebalanceTimeout = req.SessionTimeoutMillis
	}
	if req.Reason != nil {
		jr.reason = *req.Reason
	}
	for _, p := range req.Protocols {
		// The metadata outlives the call (the leader's member list,
		// DescribeGroups, the group-metadata record), while the decoded
		// request aliases the frame the wire layer recycles once the
		// handler returns: keep a copy.
		jr.protocols = append(jr.protocols, protocol{name: p.Name, metadata: clone(p.Metadata)})
	}

	g, err := c.groupFor(req.Group, false, false)
	if err != nil {
		respond(joinError(req.MemberID, err))
		return
	}
	if st := ms(jr.sessionTimeout); st < c.cfg.GroupMinSessionTimeout || st > c.cfg.GroupMaxSessionTimeout {
		respond(joinError(req.MemberID, kerr.InvalidSessionTimeout))
		return
	}
	unknownMember := jr.memberID == ""
	if g == nil {
		// Only a member without an id creates a group; a member id for a
		// group that does not exist is stale.
		if !unknownMember {
			respond(joinError(req.MemberID, kerr.UnknownMemberID))
			return
		}
		if g, err = c.groupFor(req.Group, false, true); err != nil {
			respond(joinError(req.MemberID, err))
			return
		}
	}

	g.mu.Lock()
	defer g.unlock()
	switch {
	case !c.acceptJoiningMember(g, jr.memberID):
		c.removeMember(g, jr.memberID)
		respond(joinError("", kerr.GroupMaxSizeReached))
	case unknownMember:
		c.doNewMemberJoin(g, jr)
	default:
		c.doCurrentMemberJoin(g, jr)
	}
	if g.is(statePreparingRebalance) {
		c.tryCompleteJoin(g)
	}
}

// acceptJoiningMember applies group.max.size. While rebalancing, the
// members already rejoined are counted (the group may be over a lowered
// limit, and the last to rejoin are the ones turned away).
func (c *Coordinator) acceptJoiningMember(g *group, memberID string) bool {
	m := g.members[memberID]
	switch g.state {
	case stateEmpty, stateDead:
		return true
	case statePreparingRebalance:
		return (m != nil && m.awaitingJoin()) || int64(g.numAwaitingJoin()) < int64(c.cfg.GroupMaxSize)
	default:
		return m != nil || int64(len(g.members)) < int64(c.cfg.GroupMaxSize)
	}
}

func (c *Coordinator) doNewMemberJoin(g *group, jr joinRequest) {
	switch {
	case g.is(stateDead):
		// Unloaded or deleted a moment ago: the client rediscovers the
		// coordinator and retries.
		jr.respond(joinError("", kerr.CoordinatorNotAvailable))
		return
	case !g.supportsProtocols(jr.protocolType, jr.protocols):
		jr.respond(joinError("", kerr.InconsistentGroupProtocol))
		return
	}
	prefix := jr.clientID
	if jr.instanceID != nil {
		prefix = *jr.instanceID
	}
	newID := newMemberID(prefix)
	switch {
	case jr.instanceID != nil:
		if oldID, ok := g.static[*jr.instanceID]; ok {
			c.log.Info().Str("group", g.id).Str("instance_id", *jr.instanceID).Str("old_member", oldID).
				Str("member", newID).Str("state", g.state.String()).Msg("static member rejoined with a new member id, replacing the old one")
			c.updateStaticMemberAndRebalance(g, oldID, newID, jr)
			return
		}
		c.addMemberAndRebalance(g, newID, jr)
	case jr.requireKnownMemberID:
		c.addPendingMember(g, newID, ms(jr.sessionTimeout))
		jr.respond(joinError(newID, kerr.MemberIDRequired))
	default:
		c.addMemberAndRebalance(g, newID, jr)
	}
}

func (c *Coordinator) doCurrentMemberJoin(g *group, jr joinRequest) {
	switch {
	case g.is(stateDead):
		jr.respond(joinError(jr.memberID, kerr.CoordinatorNotAvailable))
		return
	case !g.supportsProtocols(jr.protocolType, jr.protocols):
		jr.respond(joinError(jr.memberID, kerr.InconsistentGroupProtocol))
		return
	}
	if _, pending := g.pending[jr.memberID]; pending {
		if jr.instanceID != nil {
			// Kafka treats this as an internal error: pending ids are only
			// handed to dynamic members.
			jr.respond(joinError(jr.memberID, kerr.UnknownServerError))
			return
		}
		c.addMemberAndRebalance(g, jr.memberID, jr)
		return
	}
	if err := validateCurrentMember(g, jr.memberID, jr.instanceID); err != nil {
		jr.respond(joinError(jr.memberID, err))
		return
	}
	m := g.members[jr.memberID]
	switch g.state {
	case statePreparingRebalance:
		c.updateMemberAndRebalance(g, m, jr, "member "+m.id+" joining group during PreparingRebalance; client reason: "+jr.reason)
	case stateCompletingRebalance:
		if m.matches(jr.protocols) {
			// The member probably missed the JoinGroup response: give it
			// the current generation again.
			jr.respond(c.currentJoinResult(g, m.id, g.isLeader(m.id)))
			return
		}
		c.updateMemberAndRebalance(g, m, jr, "updating metadata for member "+m.id+" during CompletingRebalance; client reason: "+jr.reason)
	case stateStable:
		switch {
		case g.isLeader(m.id):
			// A leader's rejoin forces a rebalance: it is how a consumer
			// reacts to changes its metadata does not show (new partitions).
			c.updateMemberAndRebalance(g, m, jr, "leader "+m.id+" re-joining group during Stable; client reason: "+jr.reason)
		case !m.matches(jr.protocols):
			c.updateMemberAndRebalance(g, m, jr, "updating metadata for member "+m.id+" during Stable; client reason: "+jr.reason)
		default:
			jr.respond(c.currentJoinResult(g, m.id, false))
		}
	default:
		jr.respond(joinError(jr.memberID, kerr.UnknownMemberID))
	}
}

func (c *Coordinator) currentJoinResult(g *group, memberID string, withMembers bool) joinResult {
	r := joinResult{
		memberID:     memberID,
		generation:   g.generation,
		protocolType: g.protocolTypePtr(),
		protocolName: g.protocolName,
		leader:       g.leader,
	}
	if withMembers {
		r.members = g.currentMemberMetadata()
	}
	return r
}

// validateCurrentMember checks a request's member id and, if given, its
// group.instance.id: an instance id now mapped to another member id is
// fenced; an unknown one, or an unknown member id, is UNKNOWN_MEMBER_ID.
func validateCurrentMember(g *group, memberID string, instanceID *string) *kerr.Error {
	if instanceID != nil {
		current, ok := g.static[*instanceID]
		if !ok {
			return kerr.UnknownMemberID
		}
		if current != memberID {
			return kerr.FencedInstanceID
		}
	}
	if g.members[memberID] == nil {
		return kerr.UnknownMemberID
	}
	return nil
}

func (c *Coordinator) addMemberAndRebalance(g *group, memberID string, jr joinRequest) {
	m := &member{
		id:               memberID,
		instanceID:       jr.instanceID,
		clientID:         jr.clientID,
		clientHost:       jr.clientHost,
		rebalanceTimeout: jr.rebalanceTimeout,
		sessionTimeout:   jr.sessionTimeout,
		protocolType:     jr.protocolType,
		protocols:        jr.protocols,
		isNew:            true,
	}
	// Lets the initial delayed join of a new group wait for more members.
	if g.is(statePreparingRebalance) && g.generation == 0 {
		g.newMemberAdded = true
	}
	c.addMember(g, m, jr.respond)
	// The session timeout cannot apply yet: the member has no id to
	// heartbeat with and its socket is busy. Expire it only if its join
	// stays parked unreasonably long.
	c.scheduleHeartbeat(g, m, newMemberJoinTimeout)
	c.maybePrepareRebalance(g, fmt.Sprintf("adding new member %s with group instance id %v; client reason: %s", memberID, strOrNil(jr.instanceID), jr.reason))
}

func (c *Coordinator) updateMemberAndRebalance(g *group, m *member, jr joinRequest, reason string) {
	c.updateMember(g, m, jr.protocols, jr.rebalanceTimeout, jr.sessionTimeout, jr.respond)
	c.maybePrepareRebalance(g, reason)
}

// updateStaticMemberAndRebalance lets a restarted static member take its
// old place under a new member id. In a Stable group whose selected
// protocol would not change, the group is only stored with the new id and
// the member is answered with the current generation; it then gets its old
// assignment from SyncGroup, without a rebalance. Before JoinGroup v9 the
// old leader id is returned so that a restarted leader does not run an
// assignment a Stable group would ignore; from v9 the leader is told to
// skip the assignment instead.
func (c *Coordinator) updateStaticMemberAndRebalance(g *group, oldID, newID string, jr joinRequest) {
	instanceID := *jr.instanceID
	currentLeader := g.leader
	m := c.replaceStaticMember(g, instanceID, oldID, newID)
	c.scheduleHeartbeat(g, m, ms(jr.sessionTimeout))
	oldProtocols, oldRebalanceTimeout, oldSessionTimeout := m.protocols, m.rebalanceTimeout, m.sessionTimeout
	c.updateMember(g, m, jr.protocols, jr.rebalanceTimeout, jr.sessionTimeout, jr.respond)

	switch g.state {
	case stateStable:
		if g.protocolName == nil || *g.protocolName != g.selectProtocol() {
			c.maybePrepareRebalance(g, "static member "+newID+" with instance id "+instanceID+" joined with a change of protocol")
			return
		}
		assignment := make(map[string][]byte, len(g.members))
		for id, gm := range g.members {
			assignment[id] = gm.assignment
		}
		c.storeGroup(g, assignment, func(err *kerr.Error) {
			if g.members[newID] != m {
				return // gone meanwhile; its parked call was answered then
			}
			if err != nil {
				c.log.Warn().Str("group", g.id).Str("error", err.Message).Msg("failed to persist replaced static member, reverting")
				c.updateMember(g, m, oldProtocols, oldRebalanceTimeout, oldSessionTimeout, nil)
				old := c.replaceStaticMember(g, instanceID, newID, oldID)
				c.scheduleHeartbeat(g, old, ms(old.sessionTimeout))
				jr.respond(joinResult{
					generation:   g.generation,
					protocolType: g.protocolTypePtr(),
					protocolName: g.protocolName,
					leader:       currentLeader,
					err:          err,
				})
				return
			}
			r := c.currentJoinResult(g, newID, false)
			if jr.supportSkip {
				if g.isLeader(newID) {
					r.members = g.currentMemberMetadata()
					r.skipAssignment = true
				}
			} else {
				r.leader = currentLeader
			}
			m.invokeJoin(r)
		})
	case stateCompletingRebalance:
		// The leader may already be assigning with the old member id; the
		// new id would get nothing. Start over.
		c.prepareRebalance(g, "updating metadata for static member "+newID+" with instance id "+instanceID)
	case statePreparingRebalance:
		// The member is parked with the others.
	}
}

// newMemberID is Kafka's member id: the client id (or group.instance.id)
// and a random UUID.
func newMemberID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func strOrNil(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
