package embedded

import (
	"context"
	"fmt"
)

// The fault controls. Each acts as the fault would on a broker process
// and its network; the package documentation says exactly what each
// models. They run one at a time.

// lookup returns broker id for a fault control (c.mu held).
func (c *Cluster) lookup(id int32) (*Broker, error) {
	if c.closed {
		return nil, ErrClosed
	}
	b := c.Broker(id)
	if b == nil {
		return nil, fmt.Errorf("broker %d: %w", id, ErrUnknownBroker)
	}
	return b, nil
}

// Kill stops broker id as kill -9 would (node.Node.Kill: no controlled
// shutdown, connections dropped, logs abandoned without clean-shutdown
// markers), and ends its session in the ensemble at once, as if its
// session timeout had passed: the controller elects new leaders for its
// partitions and takes it out of their ISRs before Kill returns. A
// paused broker can be killed; it is no longer paused when restarted.
func (c *Cluster) Kill(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.lookup(id)
	if err != nil {
		return err
	}
	n := b.stopped()
	if n == nil {
		return fmt.Errorf("kill broker %d: %w", id, ErrNotRunning)
	}
	n.Kill()
	c.net.setPaused(id, false)
	if c.ensemble != nil {
		// Its session expired already when it was paused long enough.
		c.ensemble.Expire(id)
	}
	return nil
}

// Stop stops broker id gracefully, as SIGTERM does: its controlled
// shutdown moves its leaderships to other in-sync replicas while it still
// serves (in a cluster, unless controlled.shutdown.enable=false), then it
// closes, its logs cleanly. It stops even when the controlled shutdown
// fails (an isolated broker cannot reach the controller), and then
// returns that failure. A paused broker cannot be stopped (a stopped
// process handles SIGTERM once continued): Resume or Kill it.
func (c *Cluster) Stop(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.lookup(id)
	if err != nil {
		return err
	}
	b.mu.Lock()
	n, paused := b.node, b.paused
	b.mu.Unlock()
	switch {
	case n == nil:
		return fmt.Errorf("stop broker %d: %w", id, ErrNotRunning)
	case paused:
		return fmt.Errorf("stop broker %d: %w", id, ErrPaused)
	}
	shutdownErr := n.ControlledShutdown(context.Background())
	b.stopped()
	if err := n.Close(); err != nil {
		return fmt.Errorf("stop broker %d: %w", id, err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("broker %d stopped, but its controlled shutdown did not complete: %w", id, shutdownErr)
	}
	return nil
}

// Restart starts a killed or stopped broker again from its data, with
// the same broker.id, configuration and port, and returns once it serves
// and is registered. It then catches up as a follower (truncating what
// its leaders do not have, KIP-101) and rejoins the ISRs on its own;
// WaitInSync waits for that.
func (c *Cluster) Restart(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.lookup(id)
	if err != nil {
		return err
	}
	if b.Running() {
		return fmt.Errorf("restart broker %d: %w", id, ErrRunning)
	}
	return b.start(context.Background())
}

// Isolate cuts broker id off from the other brokers' traffic, both ways,
// until Heal: its connections to and from other brokers are closed and
// new ones refused, so it neither replicates nor serves replication, nor
// reaches the controller over the Kafka protocol. Clients still reach
// it, and so does the ensemble: its session lives on and it sees leaders
// change. A broker need not run to be isolated, and stays isolated
// across Kill and Restart.
func (c *Cluster) Isolate(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.lookup(id); err != nil {
		return err
	}
	c.net.setIsolated(id, true)
	return nil
}

// Heal ends Isolate: broker id's replica fetchers and those of the
// brokers it leads for connect again at their next attempt
// (replica.fetch.backoff.ms at most).
func (c *Cluster) Heal(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.lookup(id); err != nil {
		return err
	}
	c.net.setIsolated(id, false)
	return nil
}

// Pause makes broker id a stopped (SIGSTOP) process as far as the others
// and its clients can tell, until Resume: every request to it waits
// unanswered (node.Node.HoldRequests), it is cut off from the other
// brokers as by Isolate, and its session stops heartbeating, so that
// zookeeper.session.timeout.ms later the ensemble expires it and the
// controller moves its leaderships and takes it out of the ISRs. Its own
// goroutines go on (see the package documentation).
func (c *Cluster) Pause(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.lookup(id)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.node == nil:
		return fmt.Errorf("pause broker %d: %w", id, ErrNotRunning)
	case b.paused:
		return fmt.Errorf("pause broker %d: %w", id, ErrPaused)
	}
	b.node.HoldRequests()
	c.net.setPaused(id, true)
	if c.ensemble != nil {
		if err := c.ensemble.Pause(id); err != nil {
			c.net.setPaused(id, false)
			b.node.ReleaseRequests()
			return fmt.Errorf("pause broker %d: %w", id, err)
		}
	}
	b.paused = true
	return nil
}

// Resume continues a paused broker (SIGCONT): it reconnects to the
// ensemble, in its session if that is still alive, else registering
// again with a new broker epoch, so that the controller treats it as a
// broker that restarted; its view of the cluster becomes current, it is
// no longer cut off from the other brokers (unless Isolated), and the
// requests it held are served. It rejoins the ISRs as a follower once it
// has caught up.
func (c *Cluster) Resume(id int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.lookup(id)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.node == nil || !b.paused {
		return fmt.Errorf("resume broker %d: %w", id, ErrNotPaused)
	}
	if c.ensemble != nil {
		if err := c.ensemble.Resume(id); err != nil {
			return fmt.Errorf("resume broker %d: %w", id, err)
		}
	}
	c.net.setPaused(id, false)
	b.node.ReleaseRequests()
	b.paused = false
	return nil
}
