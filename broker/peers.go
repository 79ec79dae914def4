package broker

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

// peerClients lends connections to other brokers for the requests this
// broker sends on its own behalf: transaction markers to partition
// leaders and KIP-890 verification to transaction coordinators. A
// connection serves one request at a time, so concurrent requests to one
// broker take several; up to maxIdlePeerClients per broker are kept.
// (Replica fetchers keep their own connections.)
type peerClients struct {
	b      *Broker
	mu     sync.Mutex
	closed bool
	idle   map[int32][]*peerClient
}

type peerClient struct {
	c    *wire.Client
	addr string
}

const maxIdlePeerClients = 4

func newPeerClients(b *Broker) *peerClients {
	return &peerClients{b: b, idle: make(map[int32][]*peerClient)}
}

// request sends req to broker id and returns its response.
func (pc *peerClients) request(ctx context.Context, id int32, req kmsg.Request) (kmsg.Response, error) {
	addr := ""
	for _, br := range pc.b.store.Brokers() {
		if br.ID == id {
			host, port := br.Addr(pc.b.cfg.InterBrokerListener().Name)
			addr = net.JoinHostPort(host, strconv.Itoa(int(port)))
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("broker %d is not alive", id)
	}
	c := pc.take(id, addr)
	if c == nil {
		wc, err := wire.DialWith(ctx, pc.b.dial, addr, "samsa-broker-"+strconv.Itoa(int(pc.b.cfg.BrokerID)))
		if err != nil {
			return nil, fmt.Errorf("connect to broker %d: %w", id, err)
		}
		c = &peerClient{c: wc, addr: addr}
	}
	resp, err := c.c.Request(ctx, req)
	if err != nil {
		c.c.Close()
		return nil, fmt.Errorf("broker %d: %w", id, err)
	}
	pc.put(id, c)
	return resp, nil
}

func (pc *peerClients) take(id int32, addr string) *peerClient {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for cs := pc.idle[id]; len(cs) > 0; cs = pc.idle[id] {
		c := cs[len(cs)-1]
		pc.idle[id] = cs[:len(cs)-1]
		if c.addr == addr {
			return c
		}
		c.c.Close() // the broker moved
	}
	return nil
}

func (pc *peerClients) put(id int32, c *peerClient) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.closed || len(pc.idle[id]) >= maxIdlePeerClients {
		c.c.Close()
		return
	}
	pc.idle[id] = append(pc.idle[id], c)
}

func (pc *peerClients) close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.closed = true
	for id, cs := range pc.idle {
		for _, c := range cs {
			c.c.Close()
		}
		delete(pc.idle, id)
	}
}
