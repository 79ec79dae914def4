package embedded

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/samsa-io/samsa/wire"
)

// network is a cluster's inter-broker traffic. Every connection a broker
// opens to another broker goes through the dialer the network gave it
// (node.Options.Dial, so the broker's replica fetchers and its
// controlled shutdown), which tells the network who is calling whom; the
// network refuses the connections of a broker it has cut off and closes
// the ones it had let through.
//
// Its lock is its own and never held while calling a broker: a broker
// stopping waits for its fetchers, which may be dialing.
type network struct {
	mu sync.Mutex
	// brokerAt maps each broker's advertised host:port to its ID.
	brokerAt map[string]int32
	isolated map[int32]bool // Isolate, until Heal
	paused   map[int32]bool // Pause, until Resume or Kill
	conns    map[*peerConn]struct{}
}

func newNetwork() *network {
	return &network{
		brokerAt: map[string]int32{},
		isolated: map[int32]bool{},
		paused:   map[int32]bool{},
		conns:    map[*peerConn]struct{}{},
	}
}

// peerConn is a connection one broker opened to another.
type peerConn struct {
	net.Conn
	nw       *network
	from, to int32 // to is -1 for an address no broker advertises
	once     sync.Once
}

func (c *peerConn) Close() error {
	var err error
	c.once.Do(func() {
		c.nw.mu.Lock()
		delete(c.nw.conns, c)
		c.nw.mu.Unlock()
		err = c.Conn.Close()
	})
	return err
}

// addBroker notes the address a broker advertises.
func (nw *network) addBroker(id int32, addr string) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	nw.brokerAt[addr] = id
}

// cutLocked reports whether broker id is cut off (nw.mu held).
func (nw *network) cutLocked(id int32) bool { return nw.isolated[id] || nw.paused[id] }

// dialer is broker from's node.Options.Dial.
func (nw *network) dialer(from int32) wire.DialFunc {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		nw.mu.Lock()
		to, known := nw.brokerAt[addr]
		if !known {
			to = -1
		}
		err := nw.refusedLocked(from, to)
		nw.mu.Unlock()
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		c := &peerConn{Conn: nc, nw: nw, from: from, to: to}
		nw.mu.Lock()
		defer nw.mu.Unlock()
		// Cut off while dialing: refused all the same.
		if err := nw.refusedLocked(from, to); err != nil {
			nc.Close()
			return nil, err
		}
		nw.conns[c] = struct{}{}
		return c, nil
	}
}

// refusedLocked is the error of a connection from one broker to another
// when either is cut off (nw.mu held).
func (nw *network) refusedLocked(from, to int32) error {
	switch {
	case nw.cutLocked(from):
		return fmt.Errorf("embedded: broker %d is cut off from the other brokers (isolated or paused)", from)
	case to >= 0 && nw.cutLocked(to):
		return fmt.Errorf("embedded: broker %d is cut off from the other brokers (isolated or paused)", to)
	}
	return nil
}

// setIsolated and setPaused cut broker id off (closing its open
// connections to and from other brokers) or restore it.
func (nw *network) setIsolated(id int32, on bool) { nw.set(nw.isolated, id, on) }
func (nw *network) setPaused(id int32, on bool)   { nw.set(nw.paused, id, on) }

func (nw *network) set(m map[int32]bool, id int32, on bool) {
	nw.mu.Lock()
	if on {
		m[id] = true
	} else {
		delete(m, id)
	}
	var cut []*peerConn
	if nw.cutLocked(id) {
		for c := range nw.conns {
			if c.from == id || c.to == id {
				cut = append(cut, c)
			}
		}
	}
	nw.mu.Unlock()
	for _, c := range cut {
		c.Close()
	}
}

func (nw *network) isIsolated(id int32) bool {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.isolated[id]
}
