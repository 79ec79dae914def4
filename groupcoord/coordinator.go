package groupcoord

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"unicode/utf16"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Coordinator coordinates the groups of the __consumer_offsets partitions
// it has loaded. Its methods are safe for concurrent use.
type Coordinator struct {
	cfg     Config
	journal Journal
	log     zerolog.Logger
	clock   Clock

	mu         sync.Mutex
	closed     bool
	partitions map[int32]*partitionState // loaded or loading
	groups     map[string]*group         // groups of loaded partitions
	expiry     *timerRef
	loads      sync.WaitGroup
}

// partitionState is one __consumer_offsets partition this coordinator
// leads.
type partitionState struct {
	id     int32
	loaded bool // replay finished; guarded by Coordinator.mu
	ctx    context.Context
	cancel context.CancelFunc
	// writeMu orders appends to this partition with the in-memory changes
	// they stand for. Taken before any group lock.
	writeMu sync.Mutex
	// nextPosition numbers offset records in log order (offsetEntry's
	// position); txnGroups lists, by producer ID, the groups that may hold
	// its pending transactional offsets. Both guarded by writeMu, set by
	// the load before the partition is loaded.
	nextPosition uint64
	txnGroups    map[int64]map[string]bool
	// earlyMarkers are transactions completed while the partition was
	// loading, applied when its groups are installed. Guarded by
	// Coordinator.mu.
	earlyMarkers []txnOutcome
}

// txnOutcome is how a producer's transaction ended.
type txnOutcome struct {
	producerID int64
	commit     bool
}

// takePosition returns the position of the next offset record.
// ps.writeMu held.
func (ps *partitionState) takePosition() uint64 {
	ps.nextPosition++
	return ps.nextPosition
}

// New builds a coordinator that owns no partition yet; Load gives it some.
func New(cfg Config, journal Journal) (*Coordinator, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("group coordinator config: %w", err)
	}
	if journal == nil {
		return nil, errors.New("group coordinator needs a journal")
	}
	c := &Coordinator{
		cfg:        cfg,
		journal:    journal,
		log:        cfg.Logger.With().Str("component", "groupcoord").Logger(),
		clock:      cfg.Clock,
		partitions: make(map[int32]*partitionState),
		groups:     make(map[string]*group),
	}
	if c.clock == nil {
		c.clock = systemClock{}
	}
	c.scheduleExpiry()
	return c, nil
}

// Close unloads every partition (answering parked calls with
// NOT_COORDINATOR), stops the timers and waits for loads in progress to
// stop. Later requests answer COORDINATOR_NOT_AVAILABLE.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.expiry.stop()
	c.expiry = nil
	parts := make([]int32, 0, len(c.partitions))
	for p := range c.partitions {
		parts = append(parts, p)
	}
	c.mu.Unlock()
	for _, p := range parts {
		c.Unload(p)
	}
	c.loads.Wait()
}

// PartitionFor is the __consumer_offsets partition that holds a group, as
// Kafka computes it: Utils.abs(groupId.hashCode) % partitions, with Java's
// String.hashCode over UTF-16 code units.
func (c *Coordinator) PartitionFor(groupID string) int32 {
	return partitionFor(groupID, c.cfg.OffsetsTopicNumPartitions)
}

func partitionFor(groupID string, partitions int32) int32 {
	return kafkaAbs(javaHashCode(groupID)) % partitions
}

func javaHashCode(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// kafkaAbs is Kafka's Utils.abs: the absolute value, with MinInt32 mapped
// to 0 rather than overflowing.
func kafkaAbs(n int32) int32 {
	if n == math.MinInt32 {
		return 0
	}
	if n < 0 {
		return -n
	}
	return n
}

// Load makes the coordinator responsible for the groups of partition p,
// as when this broker becomes its leader. The partition is replayed in the
// background; until that is done its groups answer
// COORDINATOR_LOAD_IN_PROGRESS. Loading a partition already owned does
// nothing.
func (c *Coordinator) Load(p int32) {
	c.mu.Lock()
	if c.closed || p < 0 || p >= c.cfg.OffsetsTopicNumPartitions || c.partitions[p] != nil {
		c.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps := &partitionState{id: p, ctx: ctx, cancel: cancel, txnGroups: make(map[int64]map[string]bool)}
	c.partitions[p] = ps
	c.loads.Add(1)
	c.mu.Unlock()
	c.log.Info().Int32("partition", p).Msg("loading groups and offsets")
	go c.load(ps)
}

// Unload drops the groups of partition p, as when this broker stops leading
// it: later requests for them answer NOT_COORDINATOR, and JoinGroup and
// SyncGroup calls parked on them are answered NOT_COORDINATOR now. A load
// in progress is abandoned.
func (c *Coordinator) Unload(p int32) {
	c.mu.Lock()
	ps := c.partitions[p]
	if ps == nil {
		c.mu.Unlock()
		return
	}
	delete(c.partitions, p)
	ps.cancel()
	var dropped []*group
	for id, g := range c.groups {
		if g.ps == ps {
			dropped = append(dropped, g)
			delete(c.groups, id)
		}
	}
	c.mu.Unlock()
	for _, g := range dropped {
		g.mu.Lock()
		c.log.Info().Str("group", g.id).Int32("generation", g.generation).Msg("unloading group")
		c.killGroup(g, kerr.NotCoordinator)
		g.unlock()
	}
	ev := c.log.Debug()
	if len(dropped) > 0 {
		ev = c.log.Info()
	}
	ev.Int32("partition", p).Int("groups", len(dropped)).Msg("unloaded partition")
}

// groupFor checks that this coordinator serves groupID and returns its
// group (nil if it has none), creating an Empty group when create is set.
// The checks and their order are Kafka's: a valid group id (empty ones are
// only accepted where emptyIDOK, for old offset-storage clients), an
// active coordinator, a loaded partition, an owned partition.
func (c *Coordinator) groupFor(groupID string, emptyIDOK, create bool) (*group, *kerr.Error) {
	if groupID == "" && !emptyIDOK {
		return nil, kerr.InvalidGroupID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, kerr.CoordinatorNotAvailable
	}
	ps := c.partitions[c.PartitionFor(groupID)]
	if ps == nil {
		return nil, kerr.NotCoordinator
	}
	if !ps.loaded {
		return nil, kerr.CoordinatorLoadInProgress
	}
	g := c.groups[groupID]
	if g == nil && create {
		g = newGroup(groupID, ps, c.clock.Now())
		c.groups[groupID] = g
	}
	return g, nil
}

// appendRecords appends to the group's partition, bounded by
// offsets.commit.timeout.ms and abandoned if the partition is unloaded.
func (c *Coordinator) appendRecords(ps *partitionState, records []Record) error {
	ctx, cancel := context.WithTimeout(ps.ctx, c.cfg.OffsetCommitTimeout)
	defer cancel()
	return c.journal.Append(ctx, ps.id, records)
}

// appendError turns a Journal error into a Kafka error.
func appendError(err error) *kerr.Error {
	var ke *kerr.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ke):
		return ke
	case errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut
	case errors.Is(err, context.Canceled):
		return kerr.NotCoordinator
	default:
		return kerr.UnknownServerError
	}
}

// commitAppendError maps a failed offset append as Kafka's
// GroupMetadataManager does for commits.
func commitAppendError(err error) *kerr.Error {
	ke := appendError(err)
	if ke == nil {
		return nil
	}
	switch ke.Code {
	case kerr.UnknownTopicOrPartition.Code, kerr.NotEnoughReplicas.Code, kerr.NotEnoughReplicasAfterAppend.Code:
		return kerr.CoordinatorNotAvailable
	case kerr.NotLeaderForPartition.Code, kerr.KafkaStorageError.Code:
		return kerr.NotCoordinator
	case kerr.MessageTooLarge.Code, kerr.RecordListTooLarge.Code, kerr.InvalidFetchSize.Code:
		return kerr.InvalidCommitOffsetSize
	case kerr.NetworkException.Code:
		return kerr.CoordinatorLoadInProgress
	}
	return ke
}

// groupAppendError maps a failed group-metadata append as Kafka's
// storeGroup does.
func groupAppendError(err error) *kerr.Error {
	ke := appendError(err)
	if ke == nil {
		return nil
	}
	switch ke.Code {
	case kerr.UnknownTopicOrPartition.Code, kerr.NotEnoughReplicas.Code, kerr.NotEnoughReplicasAfterAppend.Code:
		return kerr.CoordinatorNotAvailable
	case kerr.NotLeaderForPartition.Code, kerr.KafkaStorageError.Code:
		return kerr.NotCoordinator
	case kerr.RequestTimedOut.Code:
		return kerr.RebalanceInProgress
	case kerr.MessageTooLarge.Code, kerr.RecordListTooLarge.Code, kerr.InvalidFetchSize.Code:
		return kerr.UnknownServerError
	}
	return ke
}

type clientKey struct{}

type clientInfo struct{ id, host string }

// WithClient attaches the requesting client's id (from the request header)
// and host to ctx. JoinGroup records them per member for DescribeGroups;
// Kafka reports the host as Java's InetAddress.toString, "/10.0.0.1".
func WithClient(ctx context.Context, clientID, clientHost string) context.Context {
	return context.WithValue(ctx, clientKey{}, clientInfo{clientID, clientHost})
}

func clientFrom(ctx context.Context) clientInfo {
	ci, _ := ctx.Value(clientKey{}).(clientInfo)
	return ci
}

func errCode(e *kerr.Error) int16 {
	if e == nil {
		return 0
	}
	return e.Code
}

func strPtr(s string) *string { return &s }
