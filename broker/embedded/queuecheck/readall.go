package queuecheck

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ReadConfig says how ReadAll reaches the cluster.
type ReadConfig struct {
	// NewClient makes a client with the given options added (the caller
	// owns and closes it).
	NewClient func(opts ...kgo.Opt) *kgo.Client
	// OnFetchError sees each error a fetch reports; when it returns an
	// error, ReadAll stops with it. Nil: fetch errors are retried.
	OnFetchError func(topic string, partition int32, err error) error
}

// ReadAll reads every partition of topic from its start up to the end
// offset it has when ReadAll starts, and returns each partition's records
// in offset order (every partition of the topic has an entry). It is the
// final read of a fault test: what it returns is what the cluster holds.
// It ends with ctx's error if a partition is not read to its end in time.
func ReadAll(ctx context.Context, cfg ReadConfig, topic string) (map[int32][]*kgo.Record, error) {
	adm := kadm.NewClient(cfg.NewClient())
	// A leader elected moments ago answers the retriable
	// OFFSET_NOT_AVAILABLE until its high watermark settles: retry those.
	var ends, starts kadm.ListedOffsets
	for {
		var err error
		if ends, err = adm.ListEndOffsets(ctx, topic); err == nil {
			err = ends.Error()
		}
		if err == nil {
			if starts, err = adm.ListStartOffsets(ctx, topic); err == nil {
				err = starts.Error()
			}
		}
		if err == nil {
			break
		}
		if !kerr.IsRetriable(err) || ctx.Err() != nil {
			return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	want := map[int32]int64{} // partition -> end offset
	consume := map[int32]kgo.Offset{}
	got := map[int32][]*kgo.Record{}
	ends.Each(func(o kadm.ListedOffset) {
		got[o.Partition] = nil
		start, _ := starts.Lookup(topic, o.Partition)
		if o.Offset > start.Offset {
			want[o.Partition] = o.Offset
			consume[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(want) == 0 {
		return got, nil
	}
	cl := cfg.NewClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: consume}))
	for len(want) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reading %s: still waiting for partitions (partition: end offset) %v: %w", topic, want, ctx.Err())
		}
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			if cfg.OnFetchError != nil && fetchErr == nil {
				fetchErr = cfg.OnFetchError(topic, p, err)
			}
		})
		if fetchErr != nil {
			return nil, fetchErr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := want[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			got[r.Partition] = append(got[r.Partition], r)
			if r.Offset == end-1 {
				delete(want, r.Partition)
			}
		})
	}
	return got, nil
}
