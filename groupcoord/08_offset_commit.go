package groupcoord

// OffsetCommit. Commits are answered only once the records are
// appended to __consumer_offsets (committed to the ISR), so an
// acknowledged offset survives a coordinator change or restart.
//
// Who may commit (Kafka's rules): a member of the current generation; or,
// with generation -1 and no member id, a standalone consumer or admin
// client, but only while the group is Empty (or does not exist: it is
// created, Empty, to hold the offsets). Commits are accepted while the group
// prepares a rebalance (a consumer commits before it rejoins, the
// cooperative protocol relies on it) and refused with REBALANCE_IN_PROGRESS
// while it completes one. A commit from a member restarts its session.
//
// Versions: v0 has neither generation nor member id (a standalone commit);
// v1 has a per-partition commit timestamp, v2-v4 a retention time, which
// give the offset an explicit expiry (pre-KIP-211 semantics); v6 adds the
// leader epoch; v7 the group.instance.id; from v9 a generation for a group
// that does not exist answers GROUP_ID_NOT_FOUND instead of
// ILLEGAL_GENERATION; v10 names topics by ID (UNKNOWN_TOPIC_ID when it does
// not resolve). A metadata string longer than offset.metadata.max.bytes
// (counted in UTF-16 units, as Java's String.length) fails its partition
// with OFFSET_METADATA_TOO_LARGE; the others are still committed.
//
// A failed append is never answered OK and changes no offset. Its error is
// mapped as Kafka's GroupMetadataManager maps it for commits
// (commitAppendError): a storage failure (a full or failing disk,
// KAFKA_STORAGE_ERROR from the log) and NOT_LEADER_OR_FOLLOWER become
// NOT_COORDINATOR, so clients look for the coordinator again and retry;
// missing partitions and too few replicas COORDINATOR_NOT_AVAILABLE.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.OffsetCommit, Min: 0, Max: 10, Serve: serveAs((*Coordinator).OffsetCommit),
		Note: "offsets and group metadata are records in the compacted `__consumer_offsets`; v10 names topics by ID"})
}

// OffsetCommit serves OffsetCommit.
func (c *Coordinator) OffsetCommit(_ context.Context, req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	now := c.clock.Now().UnixMilli()
	expire := int64(-1)
	if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis != -1 {
		expire = now + req.RetentionTimeMillis
	}
	var commits []offsetCommit
	for ti, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		name := t.Topic
		var topicErr *kerr.Error
		if req.Version >= 10 {
			var ok bool
			if name, ok = c.topicName(t.TopicID); !ok {
				topicErr = kerr.UnknownTopicID
			}
		}
		for pi, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			switch {
			case topicErr != nil:
				rp.ErrorCode = topicErr.Code
			case c.cfg.Topics != nil && !c.cfg.Topics.PartitionExists(name, p.Partition):
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				e := offsetEntry{offset: p.Offset, leaderEpoch: p.LeaderEpoch, commitTime: now, expireTime: expire}
				if p.Metadata != nil {
					e.metadata = *p.Metadata
				}
				if req.Version == 1 && p.Timestamp != -1 {
					e.commitTime = p.Timestamp
				}
				commits = append(commits, offsetCommit{tp: topicPartition{name, p.Partition}, entry: e, ti: ti, pi: pi})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(commits) == 0 {
		return resp
	}
	c.commitOffsets(req, commits)
	for _, oc := range commits {
		resp.Topics[oc.ti].Partitions[oc.pi].ErrorCode = errCode(oc.err)
	}
	return resp
}

// offsetCommit is one partition of a commit request and its outcome.
type offsetCommit struct {
	tp     topicPartition
	entry  offsetEntry
	ti, pi int // position in the response
	err    *kerr.Error
}

func (c *Coordinator) topicName(id [16]byte) (string, bool) {
	if c.cfg.Topics == nil || id == [16]byte{} {
		return "", false
	}
	return c.cfg.Topics.TopicName(id)
}

func (c *Coordinator) commitOffsets(req *kmsg.OffsetCommitRequest, commits []offsetCommit) {
	failAll := func(err *kerr.Error) {
		for i := range commits {
			commits[i].err = err
		}
	}
	g, err := c.groupFor(req.Group, true, false)
	if err != nil {
		failAll(err)
		return
	}
	if g == nil {
		if req.Generation >= 0 {
			// A generation for a group that does not exist comes from an
			// older incarnation of the group.
			if req.Version >= 9 {
				failAll(kerr.GroupIDNotFound)
			} else {
				failAll(kerr.IllegalGeneration)
			}
			return
		}
		c.log.Info().Str("group", req.Group).Msg("creating simple consumer group via manual offset commit")
		if g, err = c.groupFor(req.Group, true, true); err != nil {
			failAll(err)
			return
		}
	}

	ps := g.ps
	ps.writeMu.Lock()
	defer ps.writeMu.Unlock()
	g.mu.Lock()
	if err := c.validateCommit(g, req.Generation, req.MemberID, req.InstanceID, false); err != nil {
		g.mu.Unlock()
		failAll(err)
		return
	}
	switch g.state {
	case stateStable, statePreparingRebalance:
		// Heartbeat responses tell a committing member of a rebalance.
		if m := g.members[req.MemberID]; m != nil {
			c.scheduleHeartbeat(g, m, ms(m.sessionTimeout))
		}
	case stateCompletingRebalance:
		// The member has its new generation from JoinGroup but no
		// assignment yet.
		g.mu.Unlock()
		failAll(kerr.RebalanceInProgress)
		return
	}
	records, accepted := c.offsetRecords(g, commits)
	g.mu.Unlock()
	if len(records) == 0 {
		return
	}

	appendErr := commitAppendError(c.appendRecords(ps, records))
	var position uint64
	if appendErr == nil {
		position = ps.takePosition()
	}
	g.mu.Lock()
	if appendErr == nil && !g.is(stateDead) {
		for _, i := range accepted {
			e := commits[i].entry
			e.position = position
			g.offsets[commits[i].tp] = e
		}
	}
	g.mu.Unlock()
	if appendErr != nil {
		c.log.Debug().Str("group", g.id).Str("error", appendErr.Message).Msg("offset commit append failed")
	}
	for _, i := range accepted {
		commits[i].err = appendErr
	}
}

// offsetRecords builds the records of the commits whose metadata fits
// offset.metadata.max.bytes, failing the others with
// OFFSET_METADATA_TOO_LARGE, and returns them with the indexes of the
// commits they hold. g.mu held.
func (c *Coordinator) offsetRecords(g *group, commits []offsetCommit) (records []Record, accepted []int) {
	for i := range commits {
		if utf16Len(commits[i].entry.metadata) > c.cfg.OffsetMetadataMaxBytes {
			commits[i].err = kerr.OffsetMetadataTooLarge
			continue
		}
		accepted = append(accepted, i)
		records = append(records, Record{Key: offsetKey(g.id, commits[i].tp), Value: offsetValue(commits[i].entry)})
	}
	return records, accepted
}

// validateCommit is Kafka's check of who may commit to a group, with
// OffsetCommit or (transactional) TxnOffsetCommit.
func (c *Coordinator) validateCommit(g *group, generation int32, memberID string, instanceID *string, transactional bool) *kerr.Error {
	switch {
	case g.is(stateDead):
		return kerr.CoordinatorNotAvailable
	case generation < 0 && g.is(stateEmpty):
		// An admin client or a consumer without group management.
		return nil
	case generation >= 0 || memberID != "" || instanceID != nil:
		if err := validateCurrentMember(g, memberID, instanceID); err != nil {
			return err
		}
		if generation != g.generation {
			return kerr.IllegalGeneration
		}
		return nil
	case !transactional && !g.is(stateEmpty):
		// Only members commit to a group that has some. Not so for
		// transactional commits: before KIP-447 (TxnOffsetCommit v3) they
		// carry no member.
		return kerr.UnknownMemberID
	}
	return nil
}

// utf16Len is Java's String.length of s.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}
