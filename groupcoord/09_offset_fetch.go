package groupcoord

// OffsetFetch. Offsets are returned whatever the group's state: a
// group may use Kafka only to store offsets. A partition without a committed
// offset, or a group that does not exist, answers offset -1, empty metadata
// and no error.
//
// Versions: v0 and v1 carry no group-level error code, so a group error is
// set on every requested partition; v2-v7 answer a group error at the top
// level with no partitions, and accept a null topic list meaning "every
// committed partition"; v5 returns the leader epoch; v7 adds require_stable
// (KIP-447): a partition with a pending transactional commit then answers
// UNSTABLE_OFFSET_COMMIT (offset -1), and the client retries; without it the
// last committed offset is returned, as if the transaction had not begun
// (28_txn_offset_commit.go); v8 (KIP-709) fetches several groups at once, each
// with its own error code; v9 adds the KIP-848 member id and epoch, which a
// classic group ignores; v10 names topics by ID (UNKNOWN_TOPIC_ID when an
// ID does not resolve; "every partition" lists only topics whose ID is
// known).

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	registerAPI(API{Key: kmsg.OffsetFetch, Min: 0, Max: 10, Serve: serveAs((*Coordinator).OffsetFetch),
		Note: "several groups per request (v8+), `require_stable`"})
}

// fetchTopic is one requested topic; its err, if set, answers every
// partition.
type fetchTopic struct {
	name       string
	id         [16]byte
	partitions []int32
	err        *kerr.Error
}

type fetchedPartition struct {
	partition   int32
	offset      int64
	leaderEpoch int32
	metadata    string
	err         *kerr.Error
}

type fetchedTopic struct {
	name       string
	id         [16]byte
	partitions []fetchedPartition
}

// OffsetFetch serves OffsetFetch.
func (c *Coordinator) OffsetFetch(_ context.Context, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			var topics []fetchTopic
			if rg.Topics != nil {
				topics = make([]fetchTopic, 0, len(rg.Topics))
				for _, t := range rg.Topics {
					ft := fetchTopic{name: t.Topic, id: t.TopicID, partitions: t.Partitions}
					if req.Version >= 10 {
						var ok bool
						if ft.name, ok = c.topicName(t.TopicID); !ok {
							ft.err = kerr.UnknownTopicID
						}
					}
					topics = append(topics, ft)
				}
			}
			out := kmsg.NewOffsetFetchResponseGroup()
			out.Group = rg.Group
			fetched, err := c.fetchOffsets(rg.Group, req.RequireStable, topics, req.Version >= 10)
			if err != nil {
				out.ErrorCode = err.Code
				resp.Groups = append(resp.Groups, out)
				continue
			}
			for _, ft := range fetched {
				gt := kmsg.NewOffsetFetchResponseGroupTopic()
				gt.Topic, gt.TopicID = ft.name, ft.id
				for _, fp := range ft.partitions {
					gp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					gp.Partition, gp.Offset, gp.LeaderEpoch, gp.Metadata, gp.ErrorCode = fp.partition, fp.offset, fp.leaderEpoch, strPtr(fp.metadata), errCode(fp.err)
					gt.Partitions = append(gt.Partitions, gp)
				}
				out.Topics = append(out.Topics, gt)
			}
			resp.Groups = append(resp.Groups, out)
		}
		return resp
	}

	var topics []fetchTopic
	if req.Topics != nil {
		topics = make([]fetchTopic, 0, len(req.Topics))
		for _, t := range req.Topics {
			topics = append(topics, fetchTopic{name: t.Topic, partitions: t.Partitions})
		}
	}
	fetched, err := c.fetchOffsets(req.Group, req.RequireStable, topics, false)
	if err != nil {
		if req.Version >= 2 {
			resp.ErrorCode = err.Code
			return resp
		}
		// No group-level error code before v2: every partition carries it.
		fetched = fetched[:0]
		for _, t := range topics {
			ft := fetchedTopic{name: t.name}
			for _, p := range t.partitions {
				ft.partitions = append(ft.partitions, fetchedPartition{partition: p, offset: -1, leaderEpoch: -1, err: err})
			}
			fetched = append(fetched, ft)
		}
	}
	for _, ft := range fetched {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = ft.name
		for _, fp := range ft.partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.Metadata, rp.ErrorCode = fp.partition, fp.offset, fp.leaderEpoch, strPtr(fp.metadata), errCode(fp.err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// fetchOffsets reads a group's committed offsets: the requested
// partitions, or every committed one when topics is nil.
func (c *Coordinator) fetchOffsets(groupID string, requireStable bool, topics []fetchTopic, byID bool) ([]fetchedTopic, *kerr.Error) {
	g, err := c.groupFor(groupID, true, false)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return requestedWithoutOffsets(topics), nil
	}
	g.mu.Lock()
	defer g.unlock()
	if g.is(stateDead) {
		return requestedWithoutOffsets(topics), nil
	}
	if topics == nil {
		return c.allOffsets(g, requireStable, byID), nil
	}
	out := make([]fetchedTopic, 0, len(topics))
	for _, t := range topics {
		ft := fetchedTopic{name: t.name, id: t.id}
		for _, p := range t.partitions {
			fp := fetchedPartition{partition: p, offset: -1, leaderEpoch: -1}
			tp := topicPartition{t.name, p}
			switch e, ok := g.offsets[tp]; {
			case t.err != nil:
				fp.err = t.err
			case requireStable && g.hasPendingTransactionalOffsets(tp):
				fp.err = kerr.UnstableOffsetCommit
			case ok:
				fp.offset, fp.leaderEpoch, fp.metadata = e.offset, e.leaderEpoch, e.metadata
			}
			ft.partitions = append(ft.partitions, fp)
		}
		out = append(out, ft)
	}
	return out, nil
}

func requestedWithoutOffsets(topics []fetchTopic) []fetchedTopic {
	out := make([]fetchedTopic, 0, len(topics))
	for _, t := range topics {
		ft := fetchedTopic{name: t.name, id: t.id}
		for _, p := range t.partitions {
			ft.partitions = append(ft.partitions, fetchedPartition{partition: p, offset: -1, leaderEpoch: -1, err: t.err})
		}
		out = append(out, ft)
	}
	return out
}

// allOffsets lists every committed offset of the group, by topic and
// partition; with requireStable, those with pending transactional offsets
// answer UNSTABLE_OFFSET_COMMIT instead, as Kafka's fetchAllOffsets does.
// byID resolves topic IDs and leaves out topics without one.
func (c *Coordinator) allOffsets(g *group, requireStable, byID bool) []fetchedTopic {
	tps := make([]topicPartition, 0, len(g.offsets))
	for tp := range g.offsets {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].topic != tps[j].topic {
			return tps[i].topic < tps[j].topic
		}
		return tps[i].partition < tps[j].partition
	})
	var out []fetchedTopic
	for _, tp := range tps {
		if len(out) == 0 || out[len(out)-1].name != tp.topic {
			ft := fetchedTopic{name: tp.topic}
			if byID {
				id, ok := c.topicID(tp.topic)
				if !ok {
					continue
				}
				ft.id = id
			}
			out = append(out, ft)
		}
		e := g.offsets[tp]
		fp := fetchedPartition{partition: tp.partition, offset: e.offset, leaderEpoch: e.leaderEpoch, metadata: e.metadata}
		if requireStable && g.hasPendingTransactionalOffsets(tp) {
			fp = fetchedPartition{partition: tp.partition, offset: -1, leaderEpoch: -1, err: kerr.UnstableOffsetCommit}
		}
		last := &out[len(out)-1]
		last.partitions = append(last.partitions, fp)
	}
	return out
}

func (c *Coordinator) topicID(name string) ([16]byte, bool) {
	if c.cfg.Topics == nil {
		return [16]byte{}, false
	}
	return c.cfg.Topics.TopicID(name)
}
