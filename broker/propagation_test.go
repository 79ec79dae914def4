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
// Metadata request (0: never), then names broker 99 their leader.
type lateMetadataPeer struct {
	servesAfter int32
	asked       atomic.Int32
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
		if p.servesAfter == 0 || n < p.servesAfter {
			t.ErrorCode = kerr.UnknownTopicOrPartition.Code
		} else {
			pp := kmsg.NewMetadataResponseTopicPartition()
			pp.Leader = 99
			t.Partitions = append(t.Partitions, pp)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return wire.BytesResponse(resp.IsFlexible(), resp.AppendTo(nil)), nil
}

// startLatePeer serves peer on a free port and returns it as broker 99.
func startLatePeer(t *testing.T, peer *lateMetadataPeer) controller.Broker {
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
	return controller.Broker{ID: 99, Host: "127.0.0.1", Port: int32(l.Addr().(*net.TCPAddr).Port)}
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
		peer := &lateMetadataPeer{servesAfter: 3}
		self := startLatePeer(t, peer)
		b := newTestBrokerFrom(t, func(o *Options) {
			o.Store = peersStore{Store: o.Store, peers: []controller.Broker{self}, controller: -1}
		})
		resp := createTopicWithTimeout(t, b, "orders", 30000)
		if code := resp.Topics[0].ErrorCode; code != 0 {
			t.Fatalf("create: %v", kerr.ErrorForCode(code))
		}
		if n := peer.asked.Load(); n != 3 {
			t.Errorf("the other broker was asked %d times; want 3: CreateTopics answers once it serves the topic, not before", n)
		}
	})
	t.Run("peer never learns of it", func(t *testing.T) {
		peer := &lateMetadataPeer{}
		self := startLatePeer(t, peer)
		b := newTestBrokerFrom(t, func(o *Options) {
			o.Store = peersStore{Store: o.Store, peers: []controller.Broker{self}, controller: -1}
		})
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
