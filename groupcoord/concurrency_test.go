package groupcoord

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// consumerLoop is a minimal consumer as clients drive the classic
// protocol, on the system clock: join (with the KIP-394 round), the leader
// spreads the partitions round-robin, sync, then heartbeat and commit until
// told to rebalance. Every acknowledged commit is reported.
func consumerLoop(ctx context.Context, c *Coordinator, group, client string, partitions int32, next func() int64, acked func(p int32, v int64)) {
	memberID := ""
	var generation int32 = -1
	cctx := WithClient(ctx, client, "/10.0.0.1")
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", consumerMetadata("t")
	defer func() {
		if memberID == "" {
			return
		}
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Version = 5
		req.Group = group
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = memberID
		req.Members = []kmsg.LeaveGroupRequestMember{lm}
		c.LeaveGroup(context.Background(), req)
	}()
	for ctx.Err() == nil {
		join := kmsg.NewPtrJoinGroupRequest()
		join.Version = 9
		join.Group, join.MemberID = group, memberID
		join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 400, 800
		join.ProtocolType, join.Protocols = "consumer", []kmsg.JoinGroupRequestProtocol{p}
		jr := c.JoinGroup(cctx, join)
		switch jr.ErrorCode {
		case 0:
		case kerr.MemberIDRequired.Code:
			memberID = jr.MemberID
			continue
		case kerr.UnknownMemberID.Code, kerr.FencedInstanceID.Code:
			memberID = ""
			continue
		default:
			time.Sleep(5 * time.Millisecond)
			continue
		}
		memberID, generation = jr.MemberID, jr.Generation
		sync := kmsg.NewPtrSyncGroupRequest()
		sync.Version = 5
		sync.Group, sync.Generation, sync.MemberID = group, generation, memberID
		sync.ProtocolType, sync.Protocol = strPtr("consumer"), jr.Protocol
		if jr.LeaderID == memberID {
			parts := make(map[string][]int32)
			for i := int32(0); i < partitions; i++ {
				id := jr.Members[int(i)%len(jr.Members)].MemberID
				parts[id] = append(parts[id], i)
			}
			for _, m := range jr.Members {
				a := kmsg.NewSyncGroupRequestGroupAssignment()
				a.MemberID, a.MemberAssignment = m.MemberID, assignmentOf(map[string][]int32{"t": parts[m.MemberID]})
				sync.GroupAssignment = append(sync.GroupAssignment, a)
			}
		}
		sr := c.SyncGroup(cctx, sync)
		if sr.ErrorCode != 0 {
			if sr.ErrorCode == kerr.UnknownMemberID.Code {
				memberID = ""
			}
			continue
		}
		var mine []int32
		var asg kmsg.ConsumerMemberAssignment
		if asg.ReadFrom(sr.MemberAssignment) == nil {
			for _, at := range asg.Topics {
				mine = append(mine, at.Partitions...)
			}
		}
		for ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Group, hb.Generation, hb.MemberID = group, generation, memberID
			if code := c.Heartbeat(cctx, hb).ErrorCode; code != 0 {
				if code == kerr.UnknownMemberID.Code {
					memberID = ""
				}
				break
			}
			for _, part := range mine {
				v := next()
				commit := kmsg.NewPtrOffsetCommitRequest()
				commit.Version = 8
				commit.Group, commit.Generation, commit.MemberID = group, generation, memberID
				ct := kmsg.NewOffsetCommitRequestTopic()
				ct.Topic = "t"
				cp := kmsg.NewOffsetCommitRequestTopicPartition()
				cp.Partition, cp.Offset = part, v
				ct.Partitions = []kmsg.OffsetCommitRequestTopicPartition{cp}
				commit.Topics = []kmsg.OffsetCommitRequestTopic{ct}
				if c.OffsetCommit(cctx, commit).Topics[0].Partitions[0].ErrorCode == 0 {
					acked(part, v)
				}
			}
		}
	}
}

// TestConcurrentConsumersAdminAndPartitionMovesStayConsistent runs
// consumers of several groups on the system clock, with admin reads, the
// retention sweep and a partition unloaded and reloaded under them (go test
// -race). Afterwards every group must settle Empty once its consumers
// left, every committed offset must be one a commit was acknowledged for,
// and a coordinator reloading the log must see exactly what this one
// serves.
func TestConcurrentConsumersAdminAndPartitionMovesStayConsistent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a few seconds")
	}
	j := NewMemoryJournal()
	cfg := DefaultConfig()
	cfg.OffsetsTopicNumPartitions = 4
	cfg.GroupMinSessionTimeout = 10 * time.Millisecond
	cfg.GroupInitialRebalanceDelay = 50 * time.Millisecond
	cfg.OffsetsRetentionCheckInterval = 20 * time.Millisecond
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	c, err := New(cfg, j)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for p := int32(0); p < cfg.OffsetsTopicNumPartitions; p++ {
		c.Load(p)
	}

	const groups, consumersPerGroup, partitions = 3, 4, 6
	var counter atomic.Int64
	var mu sync.Mutex
	ackedValues := make(map[string]map[int64]bool) // "group/partition" → values
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := 0; g < groups; g++ {
		group := fmt.Sprintf("group-%d", g)
		for i := 0; i < consumersPerGroup; i++ {
			wg.Add(1)
			go func(client string) {
				defer wg.Done()
				consumerLoop(ctx, c, group, client, partitions, func() int64 { return counter.Add(1) }, func(p int32, v int64) {
					mu.Lock()
					defer mu.Unlock()
					key := fmt.Sprintf("%s/%d", group, p)
					if ackedValues[key] == nil {
						ackedValues[key] = make(map[int64]bool)
					}
					ackedValues[key][v] = true
				})
			}(fmt.Sprintf("%s-c%d", group, i))
		}
	}
	wg.Add(1)
	go func() { // an admin tool polling
		defer wg.Done()
		for ctx.Err() == nil {
			d := kmsg.NewPtrDescribeGroupsRequest()
			d.Groups = []string{"group-0", "group-1", "group-2"}
			c.DescribeGroups(ctx, d)
			c.ListGroups(ctx, kmsg.NewPtrListGroupsRequest())
			f := kmsg.NewPtrOffsetFetchRequest()
			f.Version = 8
			f.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "group-1", MemberEpoch: -1}}
			c.OffsetFetch(ctx, f)
			time.Sleep(5 * time.Millisecond)
		}
	}()

	time.Sleep(700 * time.Millisecond)
	moved := c.PartitionFor("group-0")
	c.Unload(moved) // leadership moves away and comes back
	time.Sleep(50 * time.Millisecond)
	c.Load(moved)
	time.Sleep(700 * time.Millisecond)
	cancel()
	wg.Wait()

	for g := 0; g < groups; g++ {
		group := fmt.Sprintf("group-%d", g)
		checkFor(t, 5*time.Second, func() error {
			d := kmsg.NewPtrDescribeGroupsRequest()
			d.Groups = []string{group}
			dg := c.DescribeGroups(context.Background(), d).Groups[0]
			if dg.ErrorCode != 0 || dg.State != "Empty" || len(dg.Members) != 0 {
				return fmt.Errorf("%s: %s state %s with %d members", group, errName(dg.ErrorCode), dg.State, len(dg.Members))
			}
			return nil
		})
	}

	served := allCommitted(t, c, groups)
	mu.Lock()
	for key, v := range served {
		if !ackedValues[key][v] {
			t.Errorf("%s holds %d, which no acknowledged commit wrote", key, v)
		}
	}
	if len(served) == 0 {
		t.Error("no offsets were committed at all")
	}
	acks := 0
	for _, vs := range ackedValues {
		acks += len(vs)
	}
	mu.Unlock()
	t.Logf("%d commits acknowledged, %d partitions committed, last offset value %d", acks, len(served), counter.Load())

	c2, err := New(cfg, j)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for p := int32(0); p < cfg.OffsetsTopicNumPartitions; p++ {
		c2.Load(p)
		checkFor(t, 5*time.Second, func() error {
			if _, loading := c2.owns(p); loading {
				return fmt.Errorf("partition %d loading", p)
			}
			return nil
		})
	}
	reloaded := allCommitted(t, c2, groups)
	if fmt.Sprint(sortedMap(reloaded)) != fmt.Sprint(sortedMap(served)) {
		t.Fatalf("the log replays to other offsets than were served:\n served %v\nreloaded %v", sortedMap(served), sortedMap(reloaded))
	}
}

func allCommitted(t *testing.T, c *Coordinator, groups int) map[string]int64 {
	t.Helper()
	out := make(map[string]int64)
	for g := 0; g < groups; g++ {
		group := fmt.Sprintf("group-%d", g)
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 7
		req.Group = group
		resp := c.OffsetFetch(context.Background(), req)
		if resp.ErrorCode != 0 {
			t.Fatalf("fetch %s: %s", group, errName(resp.ErrorCode))
		}
		for _, rt := range resp.Topics {
			for _, p := range rt.Partitions {
				out[fmt.Sprintf("%s/%d", group, p.Partition)] = p.Offset
			}
		}
	}
	return out
}

func sortedMap(m map[string]int64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}
