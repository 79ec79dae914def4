package broker

// ControlledShutdown: a stopping broker asks the controller to move
// its leaderships to other in-sync replicas first (Kafka's controlled
// shutdown), and is told which partitions it still leads. Only the
// controller serves it (NOT_CONTROLLER elsewhere). v0's header has no
// client ID, which the wire layer does not parse, so it is not served; no
// client released since Kafka 0.11 sends it. The broker epoch (KIP-380)
// is not checked.

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.ControlledShutdown, min: 1, max: 3, serve: typed((*Broker).handleControlledShutdown),
		note: "served by the controller: a stopping broker's leaderships move to other in-sync replicas"})
}

func (b *Broker) handleControlledShutdown(ctx context.Context, conn *wire.Conn, req *kmsg.ControlledShutdownRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ControlledShutdownResponse)
	if !b.authorizedCluster(conn, acl.OpClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code // Kafka: CLUSTER_ACTION
		return resp, nil
	}
	remaining, err := b.store.ControlledShutdown(ctx, req.BrokerID)
	if err != nil {
		// NOT_CONTROLLER and BROKER_NOT_AVAILABLE are the caller's to
		// handle; anything else is worth a line in the log.
		if code := kafkaError(err, kerr.UnknownServerError); code != kerr.NotController && code != kerr.BrokerNotAvailable {
			b.logger.Warn().Err(err).Int32("broker", req.BrokerID).Msg("controlled shutdown")
		}
		resp.ErrorCode = errCode(err)
		return resp, nil
	}
	for _, tp := range remaining {
		rp := kmsg.NewControlledShutdownResponsePartitionsRemaining()
		rp.Topic, rp.Partition = tp.Topic, tp.Partition
		resp.PartitionsRemaining = append(resp.PartitionsRemaining, rp)
	}
	b.logger.Info().Int32("broker", req.BrokerID).Int("still_leading", len(remaining)).Msg("controlled shutdown: leadership moved")
	return resp, nil
}

// ControlledShutdown moves this broker's leaderships away before it stops
// (controlled.shutdown.enable), asking the controller up to
// controlled.shutdown.max.retries more times while partitions remain, and
// waits until its own view shows it leading none of them. It returns an
// error when leaderships could not all be moved; the broker stops anyway.
func (b *Broker) ControlledShutdown(ctx context.Context) error {
	var lastErr error
	for attempt := int32(0); attempt <= b.cfg.ControlledShutdownMaxRetries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(b.cfg.ControlledShutdownRetryBackoff):
			}
		}
		remaining, err := b.askControlledShutdown(ctx)
		if err != nil {
			lastErr = err
			b.logger.Warn().Err(err).Int32("attempt", attempt+1).Msg("controlled shutdown")
			continue
		}
		if len(remaining) > 0 {
			lastErr = fmt.Errorf("%d partitions have no other in-sync replica to lead them", len(remaining))
			b.logger.Warn().Int("partitions", len(remaining)).Int32("attempt", attempt+1).Msg("controlled shutdown: still leading")
			continue
		}
		// Out of every ISR now: it fetches no more (Kafka's StopReplica).
		b.replicas.StopFetching()
		// Wait for the store's view to move the leaderships here too, so
		// clients asking this broker are sent on.
		deadline := time.Now().Add(10 * time.Second)
		for len(b.replicas.LedPartitions()) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		return nil
	}
	return lastErr
}

// askControlledShutdown asks the controller, in process when this broker
// is it, else over the Kafka protocol (through Options.Dial).
func (b *Broker) askControlledShutdown(ctx context.Context) ([]controller.TopicPartition, error) {
	ctrl := b.store.ControllerID()
	if ctrl == b.cfg.BrokerID {
		return b.store.ControlledShutdown(ctx, b.cfg.BrokerID)
	}
	addr := ""
	for _, br := range b.store.Brokers() {
		if br.ID == ctrl {
			host, port := br.Addr(b.cfg.InterBrokerListener().Name)
			addr = net.JoinHostPort(host, strconv.Itoa(int(port)))
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("no live controller (controller id %d)", ctrl)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := wire.DialWith(rctx, b.dial, addr, "samsa-controlled-shutdown-"+strconv.Itoa(int(b.cfg.BrokerID)))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	req := kmsg.NewPtrControlledShutdownRequest()
	req.Version = 3
	req.BrokerID = b.cfg.BrokerID
	kresp, err := c.Request(rctx, req)
	if err != nil {
		return nil, err
	}
	resp := kresp.(*kmsg.ControlledShutdownResponse)
	if resp.ErrorCode != 0 {
		return nil, kerr.ErrorForCode(resp.ErrorCode)
	}
	var remaining []controller.TopicPartition
	for _, rp := range resp.PartitionsRemaining {
		remaining = append(remaining, controller.TopicPartition{Topic: rp.Topic, Partition: rp.Partition})
	}
	return remaining, nil
}
