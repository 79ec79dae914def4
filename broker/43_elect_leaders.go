package broker

// ElectLeaders (KIP-183, KIP-460): preferred (0) or unclean (1)
// elections, run by the controller; elsewhere the request gets
// NOT_CONTROLLER (v1+ at the top, v0 on every partition) and clients
// retry at the controller. A null topic list means every partition.

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.ElectLeaders, min: 0, max: 2, serve: typed((*Broker).handleElectLeaders),
		note: "preferred and unclean elections, on the controller"})
}

func (b *Broker) handleElectLeaders(ctx context.Context, conn *wire.Conn, req *kmsg.ElectLeadersRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	typ := controller.PreferredElection
	if req.Version >= 1 {
		switch req.ElectionType {
		case 0:
		case 1:
			typ = controller.UncleanElection
		default:
			resp.ErrorCode = kerr.InvalidRequest.Code
			return resp, nil
		}
	}
	var asked []controller.TopicPartition
	if req.Topics != nil {
		asked = []controller.TopicPartition{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				asked = append(asked, controller.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	var results map[controller.TopicPartition]error
	var err error
	if b.authorizedCluster(conn, acl.OpAlter) {
		results, err = b.store.ElectLeaders(ctx, typ, asked)
	} else {
		// Kafka: ALTER on the cluster, else the request and each
		// partition named fail.
		err = kerr.ClusterAuthorizationFailed
		if req.Version >= 1 {
			resp.ErrorCode = err.(*kerr.Error).Code
			results = make(map[controller.TopicPartition]error, len(asked))
			for _, tp := range asked {
				results[tp] = err
			}
			err = nil
		}
	}
	if err != nil {
		code := errCode(err)
		if req.Version >= 1 {
			resp.ErrorCode = code
			return resp, nil
		}
		results = make(map[controller.TopicPartition]error)
		for _, tp := range asked {
			results[tp] = kerr.ErrorForCode(code)
		}
	}
	byTopic := map[string]int{}
	for _, tp := range orderedPartitions(asked, results) {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(resp.Topics)
			byTopic[tp.Topic] = i
			t := kmsg.NewElectLeadersResponseTopic()
			t.Topic = tp.Topic
			resp.Topics = append(resp.Topics, t)
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = tp.Partition
		if err := results[tp]; err != nil {
			code, msg := electionError(err)
			rp.ErrorCode, rp.ErrorMessage = code, &msg
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return resp, nil
}

// orderedPartitions lists the partitions to answer: those asked for, in
// request order, or every partition with a result.
func orderedPartitions(asked []controller.TopicPartition, results map[controller.TopicPartition]error) []controller.TopicPartition {
	if asked != nil {
		return asked
	}
	out := make([]controller.TopicPartition, 0, len(results))
	for tp := range results {
		out = append(out, tp)
	}
	sortTopicPartitions(out)
	return out
}

// electionError is a partition's outcome: Kafka's code (errors.go) and
// the store's message.
func electionError(err error) (int16, string) {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code, ke.Message
	}
	return errCode(err), err.Error()
}

// sortTopicPartitions orders partitions by topic, then number.
func sortTopicPartitions(tps []controller.TopicPartition) {
	slices.SortFunc(tps, func(a, b controller.TopicPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition - b.Partition)
	})
}
