package broker

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

// lateMetadataPeer is another broker of the cluster, as far as Metadata
// goes: it does not know the topics asked about until its servesAfter-th
// Metadata request (0: never), then names broker 99 their leader and
// answers the ID the broker under test gave them, or staleID (a deleted
// topic of the same name) when set.
type lateMetadataPeer struct {
	servesAfter atomic.Int32
	staleID     bool
	asked       atomic.Int32
	b           atomic.Pointer[Broker]
}

func (p *lateMetadataPeer) ServeKafka(_ context.Context, _ *wire.Conn, r *wire.Request) (*wire.Response, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = r.APIVersion
	if err := req.ReadFrom(r.Body); err != nil {
		return nil, err
	}
	n := p.asked.Add(1)
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	for _, rt := range req.Topics {
		t := kmsg.NewMetadataResponseTopic()
		t.Topic = rt.Topic
		if after := p.servesAfter.Load(); after == 0 || n < after {
			t.ErrorCode = kerr.UnknownTopicOrPartition.Code
		} else {
			if b := p.b.Load(); b != nil && !p.staleID {
				meta, _ := b.store.Topic(*rt.Topic)
				t.TopicID = meta.ID
			} else {
				t.TopicID = [16]byte{0xde, 0xad}
			}
			n := 1
			if b := p.b.Load(); b != nil {
				meta, _ := b.store.Topic(*rt.Topic)
				n = len(meta.Partitions)
			}
			for i := range n {
				pp := kmsg.NewMetadataResponseTopicPartition()
				pp.Partition, pp.Leader = int32(i), 99
				t.Partitions = append(t.Partitions, pp)
			}
		}
		resp.Topics = append(resp.Topics, t)
	}
	return wire.BytesResponse(resp.IsFlexible(), resp.AppendTo(nil)), nil
}

// brokerBeside starts a broker whose cluster has one other live broker,
// peer, served on a free port as broker 99.
func brokerBeside(t *testing.T, peer *lateMetadataPeer) *Broker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := wire.NewServer(wire.ServerConfig{Logger: zerolog.Nop()}, peer)
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	other := controller.Broker{ID: 99, Host: "127.0.0.1", Port: int32(l.Addr().(*net.TCPAddr).Port)}
	b := newTestBrokerFrom(t, func(o *Options) {
		o.Store = peersStore{Store: o.Store, peers: []controller.Broker{other}, controller: -1}
	})
	peer.b.Store(b)
	return b
}

func createTopicWithTimeout(t *testing.T, b *Broker, name string, timeoutMs int32) *kmsg.CreateTopicsResponse {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version, req.TimeoutMillis = 7, timeoutMs
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
	req.Topics = append(req.Topics, rt)
	return serve(t, b, req).(*kmsg.CreateTopicsResponse)
}

// In a cluster, CreateTopics answers once every other live broker names
// a leader for the new topic's partitions, so a client that writes at
// once and asks any broker for the topic finds it; a broker that still
// does not know the topic at the request's timeout is not waited for
// longer (the topic is created all the same).
func TestCreateTopicsAnswersOnceEveryBrokerServesTheTopic(t *testing.T) {
	t.Run("peer learns of the topic", func(t *testing.T) {
		peer := &lateMetadataPeer{}
		peer.servesAfter.Store(3)
		b := brokerBeside(t, peer)
		resp := createTopicWithTimeout(t, b, "orders", 30000)
		if code := resp.Topics[0].ErrorCode; code != 0 {
			t.Fatalf("create: %v", kerr.ErrorForCode(code))
		}
		if n := peer.asked.Load(); n != 3 {
			t.Errorf("the other broker was asked %d times; want 3: CreateTopics answers once it serves the topic, not before", n)
		}
	})
	for name, staleID := range map[string]bool{
		"peer never learns of it":                      false,
		"peer serves a deleted topic of the same name": true,
	} {
		t.Run(name, func(t *testing.T) {
			peer := &lateMetadataPeer{staleID: staleID}
			if staleID {
				peer.servesAfter.Store(1)
			}
			b := brokerBeside(t, peer)
			start := time.Now()
			resp := createTopicWithTimeout(t, b, "orders", 300)
			took := time.Since(start)
			if code := resp.Topics[0].ErrorCode; code != 0 {
				t.Fatalf("create: %v, want success: the topic exists", kerr.ErrorForCode(code))
			}
			if took < 300*time.Millisecond || took > 5*time.Second {
				t.Errorf("CreateTopics answered after %v; want the request's 300 ms timeout", took)
			}
		})
	}
	t.Run("a single broker does not wait", func(t *testing.T) {
		b := newTestBroker(t)
		start := time.Now()
		if code := createTopicWithTimeout(t, b, "orders", 30000).Topics[0].ErrorCode; code != 0 {
			t.Fatalf("create: %v", kerr.ErrorForCode(code))
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("CreateTopics on a single broker took %v", took)
		}
	})
}

// CreatePartitions waits the same way for the other brokers to serve the
// new partitions.
func TestCreatePartitionsAnswersOnceEveryBrokerServesThem(t *testing.T) {
	peer := &lateMetadataPeer{}
	peer.servesAfter.Store(1)
	b := brokerBeside(t, peer)
	if code := createTopicWithTimeout(t, b, "orders", 30000).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("create: %v", kerr.ErrorForCode(code))
	}
	// The other broker learns of the new partitions on the third request
	// from now; until then it answers as one that has not seen them.
	asked := peer.asked.Load()
	peer.servesAfter.Store(asked + 3)
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Version, req.TimeoutMillis = 3, 30000
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = "orders", 3
	req.Topics = append(req.Topics, rt)
	resp := serve(t, b, req).(*kmsg.CreatePartitionsResponse)
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("create partitions: %v", kerr.ErrorForCode(code))
	}
	if n := peer.asked.Load() - asked; n != 3 {
		t.Errorf("the other broker was asked %d times; want 3: CreatePartitions answers once it serves the new partitions, not before", n)
	}
}
