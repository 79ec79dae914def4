package groupcoord

// DeleteGroups. Only a group without members can be deleted (Empty;
// NON_EMPTY_GROUP otherwise, GROUP_ID_NOT_FOUND if there is none): its
// offsets, pending transactional ones included (a later COMMIT marker
// then brings nothing back), and its metadata are tombstoned in __consumer_offsets (the
// metadata only if the group ever had a generation, as Kafka does) and it
// is gone. A group named twice is deleted once.
//
// Versions: v2 is flexible; v3 adds an error message per group.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.DeleteGroups, Min: 0, Max: 3, Serve: serveAs((*Coordinator).DeleteGroups),
		Note: "only empty groups"})
}

// DeleteGroups serves DeleteGroups.
func (c *Coordinator) DeleteGroups(_ context.Context, req *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	seen := make(map[string]bool, len(req.Groups))
	for _, id := range req.Groups {
		if seen[id] {
			continue
		}
		seen[id] = true
		dg := kmsg.NewDeleteGroupsResponseGroup()
		dg.Group = id
		if err := c.deleteGroup(id); err != nil {
			dg.ErrorCode = err.Code
			if req.Version >= 3 {
				dg.ErrorMessage = strPtr(err.Description)
			}
		}
		resp.Groups = append(resp.Groups, dg)
	}
	return resp
}

func (c *Coordinator) deleteGroup(id string) *kerr.Error {
	g, err := c.groupFor(id, true, false)
	if err != nil {
		return err
	}
	if g == nil {
		return kerr.GroupIDNotFound
	}
	removed, _, err := c.cleanupGroup(g, func() ([]topicPartition, *kerr.Error) {
		switch g.state {
		case stateDead:
			return nil, kerr.GroupIDNotFound
		case stateEmpty:
			c.killGroup(g, kerr.CoordinatorNotAvailable)
			// Pending transactional offsets go too: a tombstone of each
			// partition that has only those (Kafka's deleteAllOffsets).
			tps := make([]topicPartition, 0, len(g.offsets))
			for tp := range g.offsets {
				tps = append(tps, tp)
			}
			for tp := range g.pendingPartitions() {
				if _, ok := g.offsets[tp]; !ok {
					tps = append(tps, tp)
				}
			}
			return tps, nil
		default:
			return nil, kerr.NonEmptyGroup
		}
	})
	if err == nil {
		c.log.Info().Str("group", id).Int("offsets", removed).Msg("deleted group")
	}
	return err
}
