package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
)

// peersStore is a single-broker store that also lists other live brokers
// and may name one of them the controller, so the broker has somewhere to
// connect to.
type peersStore struct {
	controller.Store
	peers      []controller.Broker
	controller int32 // -1: the wrapped store's
}

func (s peersStore) Brokers() []controller.Broker {
	return append(s.Store.Brokers(), s.peers...)
}

func (s peersStore) ControllerID() int32 {
	if s.controller >= 0 {
		return s.controller
	}
	return s.Store.ControllerID()
}

// cutOffDialer fails every dial, recording its address, as a harness
// cutting a broker off from the others does.
type cutOffDialer struct {
	mu     sync.Mutex
	dialed []string
}

var errCutOff = errors.New("cut off by the test")

func (d *cutOffDialer) dial(_ context.Context, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dialed = append(d.dialed, addr)
	return nil, errCutOff
}

func (d *cutOffDialer) saw(addr string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Contains(d.dialed, addr)
}

// Both kinds of inter-broker connection, the replica fetchers' and the
// controlled shutdown's, go through Options.Dial and nowhere else: a
// broker whose dialer fails is cut off from the others.
func TestInterBrokerConnectionsGoThroughOptionsDial(t *testing.T) {
	const peer = 99
	peerAddr := "peer-99.invalid:9092"
	peers := []controller.Broker{{ID: peer, Host: "peer-99.invalid", Port: 9092}}

	t.Run("replica fetcher", func(t *testing.T) {
		d := &cutOffDialer{}
		b := newTestBrokerFrom(t, func(o *Options) {
			o.Store = peersStore{Store: o.Store, peers: peers, controller: -1}
			o.Dial = d.dial
		})
		createTopicForTest(t, b, "orders", 1, nil)
		p, err := b.replicas.Lookup("orders", 0)
		if err != nil {
			t.Fatal(err)
		}
		self := b.cfg.BrokerID
		b.replicas.ApplyState(p, controller.Partition{Replicas: []int32{peer, self}, ISR: []int32{peer, self}, Leader: peer, LeaderEpoch: 1})
		checkFor(t, 10*time.Second, func() error {
			if !d.saw(peerAddr) {
				return fmt.Errorf("the follower's fetcher has not dialed leader %s through Options.Dial", peerAddr)
			}
			return nil
		})
	})

	t.Run("controlled shutdown", func(t *testing.T) {
		d := &cutOffDialer{}
		b := newTestBrokerFrom(t, func(o *Options) {
			o.Store = peersStore{Store: o.Store, peers: peers, controller: peer}
			o.Dial = d.dial
		}, "controlled.shutdown.max.retries=0")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.ControlledShutdown(ctx); !errors.Is(err, errCutOff) {
			t.Fatalf("controlled shutdown with the controller cut off: %v, want the dialer's error", err)
		}
		if !d.saw(peerAddr) {
			t.Fatalf("the controlled shutdown did not dial controller %s through Options.Dial", peerAddr)
		}
	})
}
