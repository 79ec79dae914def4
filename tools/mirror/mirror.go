package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxPollRecords bounds one poll: the records produced, acknowledged and
// committed together.
const maxPollRecords = 10000

// metadataMinAge is the clients' shortest time between metadata
// refreshes. Both refresh on demand when the mirror finds new topics or
// partitions (the consumer) or has just created them (the producer);
// franz-go's default of 5 s would hold each of those back that long.
const metadataMinAge = 250 * time.Millisecond

// Summary is what a run did.
type Summary struct {
	Elapsed time.Duration
	// Records and Bytes (keys and values) acknowledged by the target.
	Records, Bytes int64
	// Topics is how many source topics are mirrored.
	Topics int
	// GroupOffsets counts the partition offsets committed to target groups.
	GroupOffsets int
	// Lag is the source end offsets less the mirror's committed offsets,
	// over every mirrored partition, when the run ended (-1: unknown).
	Lag int64
}

// Run mirrors until ctx is cancelled, then finishes the poll in hand,
// commits, leaves the source group and returns nil; an error stops it
// early (what the target acknowledged is committed if it can be).
func Run(ctx context.Context, cfg Config) (Summary, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	m, err := start(ctx, cfg)
	if err != nil {
		return Summary{}, err
	}
	runErr := m.run(ctx)
	m.close()
	return m.summary(), runErr
}

// mirror is one run's state, owned by Run's goroutine (mu guards only
// pending, which the source group's revoke callback also reads).
type mirror struct {
	cfg     Config
	started time.Time

	src    *kgo.Client // the group consumer
	srcAdm *kadm.Client
	tgt    *kgo.Client // the producer
	tgtAdm *kadm.Client

	topics map[string]*topicState // by source name
	syncs  *offsetSyncs           // nil without SyncGroupOffsets

	mu      sync.Mutex
	pending map[string]map[int32]kgo.EpochOffset // acknowledged, not yet committed

	records, bytes int64
	groupOffsets   int
	lag            int64
	lastReport     time.Time
	lastRecords    int64
	lastBytes      int64
}

func start(ctx context.Context, cfg Config) (*mirror, error) {
	m := &mirror{
		cfg:     cfg,
		started: time.Now(),
		topics:  make(map[string]*topicState),
		pending: make(map[string]map[int32]kgo.EpochOffset),
		lag:     -1,
	}
	m.lastReport = m.started
	codec, _ := compression(cfg.Compression) // checked by withDefaults
	var err error
	m.tgt, err = connect(ctx, cfg.ConnectTimeout, "target", cfg.Target, cfg.TargetOpts,
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent: franz-go's default
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(2*maxPollRecords),
		kgo.MetadataMinAge(metadataMinAge),
	)
	if err != nil {
		return nil, err
	}
	m.tgtAdm = kadm.NewClient(m.tgt)
	metaAge := min(cfg.RefreshTopicsInterval, metadataMinAge)
	m.src, err = connect(ctx, cfg.ConnectTimeout, "source", cfg.Source, cfg.SourceOpts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Kafka's fetch.max.wait.ms (franz-go waits 5 s): partitions
		// assigned while a fetch waits are fetched only after it.
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.MetadataMinAge(metaAge),
		kgo.MetadataMaxAge(max(cfg.RefreshTopicsInterval, metaAge)),
		kgo.OnPartitionsRevoked(m.onRevoked),
		kgo.OnPartitionsLost(m.onLost),
	)
	if err != nil {
		m.tgt.Close()
		return nil, err
	}
	m.srcAdm = kadm.NewClient(m.src)
	if cfg.SyncGroupOffsets {
		m.syncs = newOffsetSyncs()
		if err := m.loadOffsetSyncs(ctx); err != nil {
			m.close()
			return nil, err
		}
	}
	return m, nil
}

// connect makes one side's client and checks that a broker answers.
func connect(ctx context.Context, timeout time.Duration, side string, seeds []string, opts []kgo.Opt, extra ...kgo.Opt) (*kgo.Client, error) {
	all := append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, opts...)
	cl, err := kgo.NewClient(append(all, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("%s cluster: %w", side, err)
	}
	pingCtx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		pingCtx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	if err := cl.Ping(pingCtx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("cannot reach the %s cluster at %s: %w", side, strings.Join(seeds, ","), err)
	}
	return cl, nil
}

func (m *mirror) close() {
	m.src.Close() // leaves the group
	m.tgt.Close()
}

func (m *mirror) logf(format string, args ...any) {
	fmt.Fprintf(m.cfg.Log, "mirror: "+format+"\n", args...)
}

// stopContext is a context for finishing work after ctx is cancelled: it
// ends grace later (or when cancelled).
func stopContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-time.After(grace):
			cancel()
		case <-sctx.Done():
		}
	})
	return sctx, func() { stop(); cancel() }
}

func (m *mirror) run(ctx context.Context) error {
	finish, cancel := stopContext(ctx, m.cfg.StopTimeout)
	defer cancel()

	if err := m.refreshTopics(ctx); err != nil {
		return err
	}
	now := time.Now()
	nextRefresh := now.Add(m.cfg.RefreshTopicsInterval)
	nextReport := now.Add(m.cfg.ReportInterval)
	nextGroups := now.Add(m.cfg.SyncGroupOffsetsInterval)
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(nextRefresh) {
			if err := m.refreshTopics(ctx); err != nil && ctx.Err() == nil {
				m.logf("refresh topics: %v", err)
			}
			nextRefresh = time.Now().Add(m.cfg.RefreshTopicsInterval)
		}
		if m.syncs != nil && !now.Before(nextGroups) {
			if err := m.syncGroupOffsets(ctx); err != nil && ctx.Err() == nil {
				m.logf("sync group offsets: %v", err)
			}
			nextGroups = time.Now().Add(m.cfg.SyncGroupOffsetsInterval)
		}
		if !now.Before(nextReport) {
			m.report(ctx, false)
			nextReport = time.Now().Add(m.cfg.ReportInterval)
		}
		wake := earliest(nextRefresh, nextReport)
		if m.syncs != nil {
			wake = earliest(wake, nextGroups)
		}
		pollCtx, stopPoll := context.WithDeadline(ctx, wake)
		fetches := m.src.PollRecords(pollCtx, maxPollRecords)
		stopPoll()
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, kgo.ErrClientClosed) {
				m.logf("fetch %s/%d: %v", topic, p, err)
			}
		})
		if err := m.mirrorRecords(finish, fetches.Records()); err != nil {
			return err
		}
		m.src.AllowRebalance()
	}

	// A clean stop: what was sent is acknowledged; commit it and leave.
	if err := m.tgt.Flush(finish); err != nil {
		return fmt.Errorf("flush the target producer: %w", err)
	}
	if err := m.commitPending(finish); err != nil {
		return err
	}
	if m.syncs != nil {
		if err := m.syncGroupOffsets(finish); err != nil {
			m.logf("sync group offsets: %v", err)
		}
	}
	m.report(finish, true)
	return nil
}

// earliest is the sooner of two instants.
func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// mirrorRecords produces one poll's records to the target, waits until
// each is acknowledged, notes their offset syncs and commits their source
// offsets. A record the target refused ends the run with nothing of the
// poll committed: the next run sends the poll again.
func (m *mirror) mirrorRecords(ctx context.Context, recs []*kgo.Record) error {
	if len(recs) == 0 {
		return nil
	}
	out := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		if err := m.ensurePartition(ctx, r.Topic, r.Partition); err != nil {
			return err
		}
		out[i] = &kgo.Record{
			Topic:     m.cfg.targetTopic(r.Topic),
			Partition: r.Partition,
			Key:       r.Key,
			Value:     r.Value,
			Headers:   r.Headers,
			Timestamp: r.Timestamp,
		}
	}
	if err := m.tgt.ProduceSync(ctx, out...).FirstErr(); err != nil {
		return fmt.Errorf("produce to the target (this poll's source offsets stay uncommitted): %w", err)
	}

	touched := make(map[offsetSyncKey]offsetRun)
	m.mu.Lock()
	for i, r := range recs {
		parts := m.pending[r.Topic]
		if parts == nil {
			parts = make(map[int32]kgo.EpochOffset)
			m.pending[r.Topic] = parts
		}
		parts[r.Partition] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
		m.records++
		m.bytes += int64(len(r.Key) + len(r.Value))
		if m.syncs != nil {
			tp := topicPartition{r.Topic, r.Partition}
			run := m.syncs.add(tp, r.Offset, out[i].Offset)
			touched[offsetSyncKey{tp, run.Source, run.Target}] = run
		}
	}
	m.mu.Unlock()
	m.writeOffsetSyncs(touched)

	if err := m.commitPending(ctx); err != nil {
		if ctx.Err() != nil {
			return err
		}
		// Kept pending: the next poll's commit carries it again.
		m.logf("%v", err)
	}
	return nil
}

// commitPending commits the acknowledged source offsets not committed yet.
func (m *mirror) commitPending(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.commitPendingLocked(ctx)
}

func (m *mirror) commitPendingLocked(ctx context.Context) error {
	if len(m.pending) == 0 {
		return nil
	}
	var commitErr error
	offsets := m.pending
	m.src.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && commitErr == nil {
					commitErr = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	if commitErr != nil {
		return fmt.Errorf("commit source offsets of group %s: %w", m.cfg.Group, commitErr)
	}
	m.pending = make(map[string]map[int32]kgo.EpochOffset)
	return nil
}

// onRevoked commits what is acknowledged before partitions move to
// another mirror of the group; what cannot be committed is sent again by
// their next owner.
func (m *mirror) onRevoked(ctx context.Context, _ *kgo.Client, _ map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.commitPendingLocked(ctx); err != nil {
		m.logf("%v (their records will be sent again)", err)
	}
	m.pending = make(map[string]map[int32]kgo.EpochOffset)
}

// onLost drops what can no longer be committed: the partitions' next
// owner sends those records again.
func (m *mirror) onLost(context.Context, *kgo.Client, map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending = make(map[string]map[int32]kgo.EpochOffset)
}

func (m *mirror) summary() Summary {
	return Summary{
		Elapsed:      time.Since(m.started),
		Records:      m.records,
		Bytes:        m.bytes,
		Topics:       len(m.topics),
		GroupOffsets: m.groupOffsets,
		Lag:          m.lag,
	}
}
