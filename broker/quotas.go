package broker

// Client quota enforcement (package broker/quota holds the resolution and
// the rates). What each API records follows Kafka's KafkaApis:
//
//   - Produce: the bytes of the request's records, against
//     producer_byte_rate; the response carries the throttle time.
//   - Fetch by a consumer (never a follower): the bytes of the records it
//     would return, against consumer_byte_rate. A fetch over the quota
//     takes its bytes back and answers with no records and the throttle
//     time, as Kafka's throttled fetch response does.
//   - Every API: the time spent serving it, as a percentage of one
//     second, against request_percentage. Kafka measures request handler
//     and network thread time; Samsa has no handler pool, so the time
//     from decoding the request to building its response stands in for
//     it, without the time a Fetch waits for data or an acks=all Produce
//     waits for its followers (Kafka's purgatory time, not counted
//     either). The throttle is at most
//     quota.window.size.seconds, as in Kafka's ClientRequestQuotaManager.
//
// A throttled connection is muted for the throttle time after its
// response (wire.Conn.Throttle), as Kafka mutes the channel (KIP-219).

import (
	"context"
	"encoding/binary"
	"math"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/quota"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

// quotaWindow is how the broker's quota rates are measured.
func quotaWindow(num, sizeSeconds int32) quota.Window {
	return quota.Window{Samples: int(num), Size: time.Duration(sizeSeconds) * time.Second}
}

// reloadQuotas reads every user and client-id quota from the store.
func (b *Broker) reloadQuotas() {
	b.quotas.Reload(quota.NewTable(b.store.ListEntityConfigs(controller.EntityUsers), b.store.ListEntityConfigs(controller.EntityClients)))
}

type quotaClientKey struct{}

// withQuotaClient puts who the request is measured as in ctx: the
// connection's principal and the request's client ID.
func withQuotaClient(ctx context.Context, principal, clientID string) context.Context {
	return context.WithValue(ctx, quotaClientKey{}, quota.ClientFor(principal, clientID))
}

func quotaClientFrom(ctx context.Context) quota.Client {
	c, _ := ctx.Value(quotaClientKey{}).(quota.Client)
	return c
}

// admitMutations counts partitions a CreateTopics, DeleteTopics or
// CreatePartitions is about to create or delete against the client's
// controller_mutation_rate (KIP-599). With strict (the versions that
// know THROTTLING_QUOTA_EXCEEDED) a client already over its quota is
// refused with it, topic by topic.
func (b *Broker) admitMutations(ctx context.Context, partitions int, strict bool) *apiError {
	if b.quotas.RecordMutations(quotaClientFrom(ctx), partitions, strict, b.now()) {
		return newAPIError(kerr.ThrottlingQuotaExceeded, "The throttling quota has been exceeded.")
	}
	return nil
}

// throttleMutations mutes the connection until the client's
// controller_mutation_rate lets it mutate again and returns that time
// for the response.
func (b *Broker) throttleMutations(ctx context.Context, conn *wire.Conn) int32 {
	d := b.quotas.MutationThrottle(quotaClientFrom(ctx), b.now())
	conn.Throttle(d)
	return throttleMillis(d)
}

// throttleMillis is d as a response's throttle_time_ms.
func throttleMillis(d time.Duration) int32 {
	return int32(min(d.Milliseconds(), int64(^uint32(0)>>1)))
}

// throttleProduce records a produce request's bytes against the client's
// producer_byte_rate and the time spent appending it against its
// request_percentage, mutes the connection for the longer throttle and
// returns it for the response.
func (b *Broker) throttleProduce(ctx context.Context, conn *wire.Conn, req *kmsg.ProduceRequest, served time.Duration) int32 {
	var size int
	for i := range req.Topics {
		for j := range req.Topics[i].Partitions {
			size += len(req.Topics[i].Partitions[j].Records)
		}
	}
	d := b.quotas.Record(quota.ProducerByteRate, quotaClientFrom(ctx), float64(size), b.now())
	d = max(d, b.requestTimeThrottle(ctx, served))
	conn.Throttle(d)
	return throttleMillis(d)
}

// throttleFetch records the bytes a consumer's fetch would return
// against its consumer_byte_rate, and the time spent reading them
// against its request_percentage. Over either quota, the bytes are taken
// back (the records will not be sent, as in Kafka) and the longer
// throttle time returned.
func (b *Broker) throttleFetch(ctx context.Context, conn *wire.Conn, req *kmsg.FetchRequest, results []fetchPartitionResult, served time.Duration) time.Duration {
	if fetchReplicaID(req) >= 0 {
		return 0 // replication is not a client
	}
	var size int64
	for i := range results {
		size += results[i].records.Size
	}
	c, now := quotaClientFrom(ctx), b.now()
	d := b.quotas.Record(quota.ConsumerByteRate, c, float64(size), now)
	d = max(d, b.requestTimeThrottle(ctx, served))
	if d > 0 {
		b.quotas.Unrecord(quota.ConsumerByteRate, c, float64(size), now)
		conn.Throttle(d)
	}
	return d
}

// fetchQuotaWindowBytes bounds a consumer's fetch response by what its
// consumer_byte_rate allows over the quota's measurement window
// (quota × (quota.window.num - 1) × quota.window.size.seconds), as Kafka
// does: a larger response would be over the quota however long the
// consumer waited, and a throttled fetch returns nothing.
func (b *Broker) fetchQuotaWindowBytes(ctx context.Context, req *kmsg.FetchRequest) int64 {
	if fetchReplicaID(req) >= 0 {
		return math.MaxInt64
	}
	bound, ok := b.quotas.Bound(quota.ConsumerByteRate, quotaClientFrom(ctx))
	if !ok {
		return math.MaxInt64
	}
	window := float64(max(b.cfg.QuotaWindowNum-1, 1)) * float64(b.cfg.QuotaWindowSizeSeconds)
	return int64(max(bound.Limit*window, 1))
}

// throttleRequestTime records the time spent serving a request against
// the client's request_percentage and, over it, mutes the connection and
// sets the response's throttle_time_ms when it has one and it is lower.
func (b *Broker) throttleRequestTime(ctx context.Context, conn *wire.Conn, served time.Duration, resp kmsg.Response) {
	if d := b.requestTimeThrottle(ctx, served); d > 0 {
		conn.Throttle(d)
		raiseThrottle(resp, throttleMillis(d))
	}
}

// requestTimeThrottle records time spent serving a request, as a
// percentage of one second, against the client's request_percentage and
// returns its throttle, at most quota.window.size.seconds as in Kafka's
// ClientRequestQuotaManager.
func (b *Broker) requestTimeThrottle(ctx context.Context, served time.Duration) time.Duration {
	percentSeconds := float64(served) * 100 / float64(time.Second)
	d := b.quotas.Record(quota.RequestPercentage, quotaClientFrom(ctx), percentSeconds, b.now())
	return min(d, time.Duration(b.cfg.QuotaWindowSizeSeconds)*time.Second)
}

// raiseThrottle sets a response's throttle_time_ms to ms when that is
// longer.
func raiseThrottle(resp kmsg.Response, ms int32) {
	t, ok := resp.(kmsg.ThrottleResponse)
	if !ok {
		return
	}
	if cur, _ := t.Throttle(); cur < ms {
		resp.(kmsg.SetThrottleResponse).SetThrottle(ms)
	}
}

// setFetchThrottle writes throttle_time_ms, the first field of every
// Fetch response served (v1+), into an encoded one.
func setFetchThrottle(parts []wire.Part, ms int32) {
	binary.BigEndian.PutUint32(parts[0].Bytes[:4], uint32(ms))
}
