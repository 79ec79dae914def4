package broker

// DeleteTopics. Topics are named by name, or from v6 by name or by
// topic ID (KIP-516): an entry with both or neither is INVALID_REQUEST, as
// is a name or ID given twice (Kafka's controller). Unknown names answer
// UNKNOWN_TOPIC_OR_PARTITION, unknown IDs UNKNOWN_TOPIC_ID.
//
// With delete.topic.enable=false every topic is refused with
// TOPIC_DELETION_DISABLED (v3+; INVALID_REQUEST before, as Kafka does).
//
// Internal topics are deleted like any other: Kafka's DeleteTopics API
// does not protect them (only ACLs do; the old kafka-topics --zookeeper
// tool refused client-side). Deleting __consumer_offsets unloads every
// group of this broker's coordinator, which answers NOT_COORDINATOR
// meanwhile, and loses every committed offset, as in Kafka; the next
// FindCoordinator creates the topic again, and groups start afresh.
//
// The topic's logs are deleted before the response is sent, so a topic of
// the same name can be created again right away (with a new topic ID).
// A failure to write the metadata is KAFKA_STORAGE_ERROR and deletes
// nothing. A topic deleted from the metadata whose directories cannot be
// removed from disk is KAFKA_STORAGE_ERROR too: it is gone for clients,
// the broker keeps trying to remove the directories (and a restart
// finishes the job), never serves their records again, and refuses to
// create a topic of the same name until they are gone.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DeleteTopics, min: 0, max: 6, serve: typed((*Broker).handleDeleteTopics),
		note: "by name and by topic ID"})
}

// deleteTarget is one topic of a DeleteTopics request.
type deleteTarget struct {
	name *string
	id   controller.TopicID
}

func (b *Broker) handleDeleteTopics(ctx context.Context, conn *wire.Conn, req *kmsg.DeleteTopicsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	defer func() { resp.ThrottleMillis = b.throttleMutations(ctx, conn) }()
	var targets []deleteTarget
	if req.Version < 6 {
		for _, name := range req.TopicNames {
			targets = append(targets, deleteTarget{name: &name})
		}
	} else {
		for _, t := range req.Topics {
			targets = append(targets, deleteTarget{name: t.Topic, id: t.TopicID})
		}
	}

	if !b.effectiveConfig().DeleteTopicEnable {
		aerr := newAPIError(kerr.TopicDeletionDisabled, "Topic deletion is disabled.")
		if req.Version < 3 {
			aerr.code = kerr.InvalidRequest
		}
		for _, tg := range targets {
			st := kmsg.NewDeleteTopicsResponseTopic()
			st.Topic, st.TopicID = tg.name, tg.id
			st.ErrorCode, st.ErrorMessage = aerr.codeAndMessage()
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil
	}

	// Resolve every entry to a topic first: a topic named twice, by name
	// or by ID, is refused in every entry that names it.
	names := make(map[string]int)
	ids := make(map[controller.TopicID]int)
	for _, tg := range targets {
		if tg.name != nil {
			names[*tg.name]++
		} else {
			ids[tg.id]++
		}
	}
	resolved := make([]controller.Topic, len(targets))
	errs := make([]*apiError, len(targets))
	targeted := make(map[controller.TopicID]int)
	for i, tg := range targets {
		switch {
		case tg.name != nil && !tg.id.IsZero():
			errs[i] = newAPIError(kerr.InvalidRequest, "You may not specify both topic name and topic id.")
		case tg.name == nil && tg.id.IsZero():
			errs[i] = newAPIError(kerr.InvalidRequest, "Neither topic name nor id were specified.")
		case tg.name != nil && names[*tg.name] > 1:
			errs[i] = newAPIError(kerr.InvalidRequest, "Duplicate topic name.")
		case tg.name == nil && ids[tg.id] > 1:
			errs[i] = newAPIError(kerr.InvalidRequest, "Duplicate topic id.")
		case tg.name != nil && !b.authorizedTopic(conn, acl.OpDelete, *tg.name):
			errs[i] = errTopicAuthorization // Kafka: DELETE on the topic
		case tg.name == nil:
			t, ok := b.store.TopicByID(tg.id)
			if !ok {
				errs[i] = newAPIError(kerr.UnknownTopicID, "This server does not host this topic ID.")
				break
			}
			if !b.authorizedTopic(conn, acl.OpDelete, t.Name) {
				errs[i] = errTopicAuthorization // named by ID: the name stays untold
				break
			}
			resolved[i] = t
			targeted[t.ID]++
		default:
			t, ok := b.store.Topic(*tg.name)
			if !ok {
				errs[i] = newAPIError(kerr.UnknownTopicOrPartition, "This server does not host this topic-partition.")
				break
			}
			resolved[i] = t
			targeted[t.ID]++
		}
	}

	var deleted []int // indexes in resp.Topics
	for i, tg := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = tg.name, tg.id
		aerr := errs[i]
		if aerr == nil {
			t := resolved[i]
			name := t.Name
			st.Topic, st.TopicID = &name, t.ID
			switch {
			case targeted[t.ID] > 1 && tg.name == nil:
				aerr = newAPIError(kerr.InvalidRequest, "Duplicate topic id.")
			case targeted[t.ID] > 1:
				aerr = newAPIError(kerr.InvalidRequest, "The provided topic name maps to an ID that was already supplied.")
			case ctx.Err() != nil:
				aerr = errCancelledBeforeChange
			default:
				if aerr = b.admitMutations(ctx, len(t.Partitions), req.Version >= 5); aerr != nil {
					break
				}
				aerr = b.deleteTopic(ctx, t.Name, tg.name == nil)
				if aerr == nil {
					deleted = append(deleted, len(resp.Topics))
				}
			}
		}
		st.ErrorCode, st.ErrorMessage = aerr.codeAndMessage()
		resp.Topics = append(resp.Topics, st)
	}
	if len(deleted) == 0 {
		return resp, nil
	}
	b.syncAfterAdmin(ctx, "DeleteTopics")
	for _, i := range deleted {
		st := &resp.Topics[i]
		if aerr := b.undeletedData(*st.Topic); aerr != nil {
			st.ErrorCode, st.ErrorMessage = aerr.codeAndMessage()
		}
	}
	return resp, nil
}

// deleteTopic deletes one resolved topic from the store.
func (b *Broker) deleteTopic(ctx context.Context, name string, byID bool) *apiError {
	err := b.store.DeleteTopic(ctx, name)
	if err == nil {
		return nil
	}
	aerr := b.storeError(err)
	if byID && errors.Is(err, controller.ErrUnknownTopic) {
		aerr.code = kerr.UnknownTopicID
	}
	return aerr
}
