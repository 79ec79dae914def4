package embedded

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// Isolation is the network's: an isolated or paused broker's open
// connections to and from other brokers close, new ones are refused both
// ways, and healing lets them through again.
func TestACutOffBrokersInterBrokerConnectionsCloseAndNewOnesAreRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	nw := newNetwork()
	nw.addBroker(2, ln.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(from int32) error {
		c, err := nw.dialer(from)(ctx, ln.Addr().String())
		if err == nil {
			c.Close()
		}
		return err
	}

	open, err := nw.dialer(1)(ctx, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nw.setIsolated(2, true)
	if _, err := open.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("writing on a connection to a broker isolated since: %v, want it closed", err)
	}
	if err := dial(1); err == nil {
		t.Fatal("a connection to an isolated broker was let through")
	}
	if err := dial(2); err == nil {
		t.Fatal("a connection from an isolated broker was let through")
	}
	nw.setPaused(2, true)
	nw.setIsolated(2, false)
	if err := dial(1); err == nil {
		t.Fatal("a connection to a paused broker was let through")
	}
	nw.setPaused(2, false)
	healed, err := nw.dialer(1)(ctx, ln.Addr().String())
	if err != nil {
		t.Fatalf("after healing: %v", err)
	}
	if n := len(nw.conns); n != 1 {
		t.Fatalf("%d connections tracked, want the one open", n)
	}
	healed.Close()
	if n := len(nw.conns); n != 0 {
		t.Fatalf("%d connections tracked after the last closed", n)
	}
}
