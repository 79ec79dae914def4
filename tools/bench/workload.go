package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// measurement is one workload's run against one target in one round.
type measurement struct {
	Workload string        `json:"workload"`
	Target   string        `json:"target"`
	Round    int           `json:"round"`
	Records  int64         `json:"records"`
	Bytes    int64         `json:"bytes"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	P999     time.Duration `json:"p99_9_ns"`
	CPU      time.Duration `json:"broker_cpu_ns"`
}

func (m *measurement) setLatencies(lat []time.Duration) {
	slices.Sort(lat)
	m.P50, m.P99, m.P999 = percentile(lat, 50), percentile(lat, 99), percentile(lat, 99.9)
}

// payload fills v (at least 8 bytes) with record seq's content: seq, then
// bytes derived from it, so a read-back can tell a record lost, repeated,
// reordered or corrupted from the value alone.
func payload(v []byte, seq uint64) {
	binary.BigEndian.PutUint64(v, seq)
	for j := 8; j < len(v); j++ {
		v[j] = byte(seq*31 + uint64(j)*7)
	}
}

// newProducer returns a kgo client as the workloads use it: acks=all and
// idempotent (kgo's defaults), records placed on the partition set in
// them, batches uncompressed (Kafka's producer default; kgo's own is
// snappy, which Samsa, as Kafka, decodes to check the records and kfake
// stores unread: the rows would compare different work); opts are added
// last, so a workload may set its codec.
func newProducer(addrs []string, linger time.Duration, opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(linger),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		// A topic just created may be unknown for a moment to the broker
		// asked (the cluster's metadata spreads through ZooKeeper): wait
		// for it, as a test writing at once would, within the timeout.
		kgo.UnknownTopicRetries(-1),
		kgo.RecordDeliveryTimeout(2 * time.Minute),
	}, opts...)...)
}

func createTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32, rf int16) error {
	return createTopicWith(ctx, cl, topic, partitions, rf, nil)
}

// createTopicWith creates topic with the topic configs in extra.
func createTopicWith(ctx context.Context, cl *kgo.Client, topic string, partitions int32, rf int16, extra map[string]string) error {
	// min.insync.replicas is at most the RF: the cluster's default (2)
	// would refuse every acks=all write to an RF 1 topic, as Kafka does.
	minISR := fmt.Sprint(min(rf, 2))
	configs := map[string]*string{"min.insync.replicas": &minISR}
	for k, v := range extra {
		configs[k] = &v
	}
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, rf, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}

// waitBrokers waits until the cluster's metadata lists n brokers.
func waitBrokers(ctx context.Context, cl *kgo.Client, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := kadm.NewClient(cl).BrokerMetadata(ctx)
		if err == nil && len(m.Brokers) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the cluster did not list %d brokers within 30s (last error: %v)", n, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitTopic waits until the cluster's metadata gives every partition of
// topic a leader.
func waitTopic(ctx context.Context, cl *kgo.Client, topic string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := kadm.NewClient(cl).Metadata(ctx, topic)
		if err == nil {
			err = m.Topics[topic].Err
		}
		if err == nil {
			ready := len(m.Topics[topic].Partitions) > 0
			for _, p := range m.Topics[topic].Partitions {
				ready = ready && p.Err == nil && p.Leader >= 0
			}
			if ready {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s has no leader for every partition within 30s (last error: %v)", topic, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func deleteTopic(ctx context.Context, cl *kgo.Client, topic string) {
	kadm.NewClient(cl).DeleteTopics(ctx, topic)
}

// endOffsets returns each partition's end offset.
func endOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %s: %w", topic, err)
	}
	ends := map[int32]int64{}
	var ferr error
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			ferr = o.Err
		}
		ends[o.Partition] = o.Offset
	})
	return ends, ferr
}

// settledEndOffsets is endOffsets on a topic perhaps just created on a
// cluster: a partition's leader may not know it yet when another broker's
// metadata already names the leader, and answers a retriable error
// (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER) for a moment.
func settledEndOffsets(ctx context.Context, cl *kgo.Client, topic string) (map[int32]int64, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ends, err := endOffsets(ctx, cl, topic)
		if err == nil || !kerr.IsRetriable(err) || time.Now().After(deadline) {
			return ends, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// produceSpec is a throughput workload: n records of size bytes, record i
// to partition i % partitions, as fast as one producer sends them.
type produceSpec struct {
	topic      string
	partitions int32
	n          int64
	size       int
	linger     time.Duration
	fresh      bool // the topic was just created: it starts at offset 0
	// compression is the producer's codec preference; none set is
	// uncompressed (newProducer).
	compression []kgo.CompressionCodec
}

// runProduce produces spec's records to topic (which exists), timing each
// record from Produce to its acknowledgement, then reads every record back
// and checks it. cpu reads the broker's CPU time; only the produce is
// counted.
func runProduce(ctx context.Context, addrs []string, spec produceSpec, cpu func() (time.Duration, error)) (measurement, error) {
	m := measurement{Records: spec.n, Bytes: spec.n * int64(spec.size)}
	var opts []kgo.Opt
	if len(spec.compression) > 0 {
		opts = append(opts, kgo.ProducerBatchCompression(spec.compression...))
	}
	cl, err := newProducer(addrs, spec.linger, opts...)
	if err != nil {
		return m, err
	}
	defer cl.Close()
	// A topic just created is written at once, as a test would, without
	// waiting for the cluster to list it: its partitions start at 0.
	start := map[int32]int64{}
	if !spec.fresh {
		if start, err = endOffsets(ctx, cl, spec.topic); err != nil {
			return m, err
		}
	}
	lat := make([]time.Duration, spec.n)
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	cpu0, err := cpu()
	if err != nil {
		return m, err
	}
	t0 := time.Now()
	for i := range spec.n {
		v := make([]byte, spec.size)
		payload(v, uint64(i))
		r := &kgo.Record{Topic: spec.topic, Partition: int32(i % int64(spec.partitions)), Value: v, Timestamp: time.Now()}
		wg.Add(1)
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
			lat[binary.BigEndian.Uint64(r.Value)] = time.Since(r.Timestamp)
		})
	}
	wg.Wait()
	m.Elapsed = time.Since(t0)
	cpu1, err := cpu()
	if err != nil {
		return m, err
	}
	m.CPU = cpu1 - cpu0
	if e := failed.Load(); e != nil {
		return m, fmt.Errorf("produce to %s: %w", spec.topic, *e)
	}
	m.setLatencies(lat)
	return m, verify(ctx, addrs, spec, start)
}

// runRead writes spec's records to topic (fresh, unmeasured, read back
// and checked), then reads them all back once more, checking them again,
// and measures that read: records/s and the broker's CPU per GiB served,
// which the fetch path (sendfile) should keep small.
func runRead(ctx context.Context, addrs []string, spec produceSpec, cpu func() (time.Duration, error)) (measurement, error) {
	m := measurement{Records: spec.n, Bytes: spec.n * int64(spec.size)}
	unmeasured := func() (time.Duration, error) { return 0, nil }
	if _, err := runProduce(ctx, addrs, spec, unmeasured); err != nil {
		return m, err
	}
	cpu0, err := cpu()
	if err != nil {
		return m, err
	}
	t0 := time.Now()
	if err := verify(ctx, addrs, spec, map[int32]int64{}); err != nil {
		return m, err
	}
	m.Elapsed = time.Since(t0)
	cpu1, err := cpu()
	if err != nil {
		return m, err
	}
	m.CPU = cpu1 - cpu0
	return m, nil
}

// verify reads spec's records back from start and checks that each
// partition holds exactly its records, in order, byte for byte.
func verify(ctx context.Context, addrs []string, spec produceSpec, start map[int32]int64) error {
	offsets := map[int32]kgo.Offset{}
	for p := range spec.partitions {
		offsets[p] = kgo.NewOffset().At(start[p])
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{spec.topic: offsets}),
		kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	next := make([]int64, spec.partitions) // next seq expected per partition
	for p := range next {
		next[p] = int64(p)
	}
	want := make([]byte, spec.size)
	var got int64
	for got < spec.n {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if pctx.Err() != nil && fs.NumRecords() == 0 {
			return fmt.Errorf("read back %s: %d of %d records after 30s without progress", spec.topic, got, spec.n)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("read back %s: %w", spec.topic, ferr)
		}
		for it := fs.RecordIter(); !it.Done(); {
			r := it.Next()
			p := r.Partition
			if next[p] >= spec.n {
				return fmt.Errorf("read back %s: partition %d holds more records than were produced (offset %d)", spec.topic, p, r.Offset)
			}
			payload(want, uint64(next[p]))
			if len(r.Value) != spec.size || string(r.Value) != string(want) {
				return fmt.Errorf("read back %s: partition %d offset %d is not record %d (lost, duplicated, reordered or corrupt)", spec.topic, p, r.Offset, next[p])
			}
			next[p] += int64(spec.partitions)
			got++
		}
	}
	ends, err := endOffsets(ctx, cl, spec.topic)
	if err != nil {
		return err
	}
	var stored int64
	for p, end := range ends {
		stored += end - start[p]
	}
	if stored != spec.n {
		return fmt.Errorf("read back %s: %d records stored, %d produced", spec.topic, stored, spec.n)
	}
	return nil
}

// runEndToEnd produces size-byte records to the one partition of topic at
// rate records/s for d (linger 0, acks=all) while a consumer reads them,
// and times each from its Produce call to its arrival at the consumer.
// Each record carries its sequence number and send time; a record out of
// sequence or corrupt fails the run.
func runEndToEnd(ctx context.Context, addrs []string, topic string, rate int, d time.Duration, size int, cpu func() (time.Duration, error)) (measurement, error) {
	size = max(size, 16)
	n := int64(float64(rate) * d.Seconds())
	m := measurement{Records: n, Bytes: n * int64(size)}
	prod, err := newProducer(addrs, 0)
	if err != nil {
		return m, err
	}
	defer prod.Close()
	start, err := settledEndOffsets(ctx, prod, topic)
	if err != nil {
		return m, err
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(start[0])}}),
		kgo.FetchMaxWait(time.Second))
	if err != nil {
		return m, err
	}
	defer cons.Close()
	base := time.Now()
	record := func(seq int64) *kgo.Record {
		v := make([]byte, size)
		binary.BigEndian.PutUint64(v, uint64(seq))
		binary.BigEndian.PutUint64(v[8:], uint64(time.Since(base)))
		for j := 16; j < size; j++ {
			v[j] = byte(seq*31 + int64(j)*7)
		}
		return &kgo.Record{Topic: topic, Value: v}
	}
	lat := make([]time.Duration, 0, n)
	consumed := make(chan error, 1)
	warm := make(chan struct{})
	go func() {
		next := int64(-1) // the warm-up record first
		for next < n {
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			fs := cons.PollFetches(pctx)
			cancel()
			now := time.Since(base)
			if fs.NumRecords() == 0 && pctx.Err() != nil {
				consumed <- fmt.Errorf("end-to-end %s: record %d not read within 30s", topic, next)
				return
			}
			for it := fs.RecordIter(); !it.Done(); {
				v := it.Next().Value
				seq := int64(binary.BigEndian.Uint64(v))
				if seq != next || len(v) != size {
					consumed <- fmt.Errorf("end-to-end %s: read record %d, want %d", topic, seq, next)
					return
				}
				for j := 16; j < size; j++ {
					if v[j] != byte(seq*31+int64(j)*7) {
						consumed <- fmt.Errorf("end-to-end %s: record %d is corrupt", topic, seq)
						return
					}
				}
				if seq < 0 {
					close(warm)
				} else {
					lat = append(lat, now-time.Duration(binary.BigEndian.Uint64(v[8:])))
				}
				next++
			}
		}
		consumed <- nil
	}()
	// A warm-up record read back first: the consumer is fetching and both
	// clients hold their connections when the timed records start.
	if err := prod.ProduceSync(ctx, record(-1)).FirstErr(); err != nil {
		return m, fmt.Errorf("end-to-end %s: %w", topic, err)
	}
	select {
	case <-warm:
	case err := <-consumed:
		return m, err
	case <-time.After(30 * time.Second):
		return m, fmt.Errorf("end-to-end %s: the warm-up record was not read within 30s", topic)
	}
	var failed atomic.Pointer[error]
	cpu0, err := cpu()
	if err != nil {
		return m, err
	}
	t0 := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := range n {
		if wait := time.Until(t0.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		prod.Produce(ctx, record(i), func(_ *kgo.Record, err error) {
			if err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	if err := <-consumed; err != nil {
		return m, err
	}
	m.Elapsed = time.Since(t0)
	cpu1, err := cpu()
	if err != nil {
		return m, err
	}
	m.CPU = cpu1 - cpu0
	if e := failed.Load(); e != nil {
		return m, fmt.Errorf("end-to-end %s: %w", topic, *e)
	}
	m.setLatencies(lat)
	return m, nil
}

// topicReady creates topic (one partition) and times from CreateTopics
// returning to the first acks=all write's acknowledgement.
func topicReady(ctx context.Context, addrs []string, topic string, rf int16) (time.Duration, error) {
	cl, err := newProducer(addrs, 0)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return 0, err
	}
	if err := createTopic(ctx, cl, topic, 1, rf); err != nil {
		return 0, err
	}
	t0 := time.Now()
	v := make([]byte, 100)
	payload(v, 0)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: v}).FirstErr(); err != nil {
		return 0, fmt.Errorf("first write to %s: %w", topic, err)
	}
	return time.Since(t0), nil
}
