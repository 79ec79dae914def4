package groups_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/tools/cli"
	"github.com/samsa-io/samsa/tools/groups"
)

// testCluster is one Samsa broker and an admin client on it.
type testCluster struct {
	t     *testing.T
	seeds []string
	adm   *kadm.Client
}

func startCluster(t *testing.T) *testCluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One offsets partition instead of Kafka's 50: a group's first
	// FindCoordinator waits for __consumer_offsets to be created.
	cluster, err := embedded.Start(ctx, embedded.Config{Overrides: map[string]string{"offsets.topic.num.partitions": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.Close() })
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.Seeds()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &testCluster{t: t, seeds: cluster.Seeds(), adm: kadm.NewClient(cl)}
}

// result is what a command printed and its exit status.
type result struct {
	stdout, stderr string
	code           int
}

// run runs `samsa groups args...` in-process against the cluster, as the
// binary would.
func (c *testCluster) run(args ...string) result {
	c.t.Helper()
	return runAgainst(c.t, c.seeds, args...)
}

func runAgainst(t *testing.T, seeds []string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr}
	root := cli.NewRoot(env, "samsa", "")
	root.AddCommand(groups.NewCommand(env))
	full := append([]string{"--bootstrap-server", strings.Join(seeds, ","), "--timeout", "10s", "groups"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := cli.Execute(ctx, root, full, env.Stdin, &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// mustRun runs a command that must succeed.
func (c *testCluster) mustRun(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("samsa groups %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// rows splits a table into its lines' fields (tables are aligned with
// spaces, and no test value holds one).
func rows(table string) [][]string {
	var out [][]string
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// checkTable compares a table, cell by cell, with the rows wanted (the
// header first).
func checkTable(t *testing.T, got string, want ...string) {
	t.Helper()
	var wantRows [][]string
	for _, w := range want {
		wantRows = append(wantRows, strings.Fields(w))
	}
	if fmt.Sprint(rows(got)) != fmt.Sprint(wantRows) {
		t.Errorf("table:\n%s\nwant rows:\n%s", got, strings.Join(want, "\n"))
	}
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}

// createTopic creates a topic with the given number of partitions and
// produces records to it: counts[p] records to partition p, the i-th with
// the timestamp stamp(p, i) (nil: now).
func (c *testCluster) createTopic(topic string, counts []int, stamp func(p, i int) time.Time) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := c.adm.CreateTopic(ctx, int32(len(counts)), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		c.t.Fatalf("create topic %s: %v", topic, err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.seeds...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		c.t.Fatal(err)
	}
	defer cl.Close()
	var records []*kgo.Record
	for p, n := range counts {
		for i := 0; i < n; i++ {
			r := &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte(fmt.Sprintf("%d-%d", p, i))}
			if stamp != nil {
				r.Timestamp = stamp(p, i)
			}
			records = append(records, r)
		}
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		c.t.Fatalf("produce to %s: %v", topic, err)
	}
}

// commit commits offsets for an inactive (or new) group as an admin does.
func (c *testCluster) commit(group string, offsets map[string]map[int32]int64) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	os := make(kadm.Offsets)
	for t, ps := range offsets {
		for p, o := range ps {
			os.AddOffset(t, p, o, -1)
		}
	}
	if err := c.adm.CommitAllOffsets(ctx, group, os); err != nil {
		c.t.Fatalf("commit offsets of %s: %v", group, err)
	}
}

// committed is the group's committed offsets, as kadm reads them.
func (c *testCluster) committed(group string) map[string]map[int32]int64 {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fetched, err := c.adm.FetchOffsets(ctx, group)
	if err != nil {
		c.t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := make(map[string]map[int32]int64)
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.At < 0 {
			return
		}
		if out[o.Topic] == nil {
			out[o.Topic] = make(map[int32]int64)
		}
		out[o.Topic][o.Partition] = o.At
	})
	return out
}

// member is a live consumer group member.
type member struct {
	cl *kgo.Client
}

// id is the member's ID in its group.
func (m *member) id() string {
	id, _ := m.cl.GroupMetadata()
	return id
}

// leave makes the member leave its group (a clean close).
func (m *member) leave() { m.cl.Close() }

// join starts a consumer in group that subscribes to topics, with
// auto-commit off, and waits until the group is Stable with every
// partition of the topics assigned to it. Its client ID is clientID.
func (c *testCluster) join(group, clientID string, topics ...string) *member {
	c.t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(c.seeds...),
		kgo.ClientID(clientID),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		c.t.Fatal(err)
	}
	m := &member{cl: cl}
	c.t.Cleanup(m.leave)
	// Polling drives the group's join and sync.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollRecords(ctx, 1000)
		}
	}()
	defer func() { cancel(); <-done }()
	checkFor(c.t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		described, err := c.adm.DescribeGroups(ctx, group)
		if err != nil {
			return err
		}
		d := described[group]
		if d.State != "Stable" || len(d.Members) != 1 {
			return fmt.Errorf("group %s is %s with %d members", group, d.State, len(d.Members))
		}
		td, err := c.adm.ListTopics(ctx, topics...)
		if err != nil {
			return err
		}
		want := 0
		for _, t := range td {
			want += len(t.Partitions)
		}
		n := 0
		d.AssignedPartitions().Each(func(string, int32) { n++ })
		if n != want {
			return fmt.Errorf("%d of %d partitions assigned", n, want)
		}
		return nil
	})
	return m
}

// checkFor polls fn until it returns nil, failing the test with fn's last
// error after wait.
func checkFor(t *testing.T, wait time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", wait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// firstOffsets starts a fresh consumer in group on topic and returns the
// offset of the first record it reads from each partition: where the
// group's committed offsets make it start.
func (c *testCluster) firstOffsets(group, topic string, partitions int) map[int32]int64 {
	c.t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(c.seeds...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(100*time.Millisecond),
	)
	if err != nil {
		c.t.Fatal(err)
	}
	defer cl.Close()
	first := make(map[int32]int64)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(first) < partitions {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			c.t.Fatalf("group %s read only partitions %v of %s", group, first, topic)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if _, ok := first[r.Partition]; !ok {
				first[r.Partition] = r.Offset
			}
		})
	}
	return first
}

// freePort is a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// commit commits offsets as the member, in its current generation, as a
// consumer does after processing records.
func (m *member) commit(t *testing.T, offsets map[string]map[int32]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	uncommitted := make(map[string]map[int32]kgo.EpochOffset)
	for topic, ps := range offsets {
		uncommitted[topic] = make(map[int32]kgo.EpochOffset)
		for p, o := range ps {
			uncommitted[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: o}
		}
	}
	var commitErr error
	m.cl.CommitOffsetsSync(ctx, uncommitted, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			commitErr = err
			return
		}
		for _, topic := range resp.Topics {
			for _, p := range topic.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && commitErr == nil {
					commitErr = fmt.Errorf("%s-%d: %w", topic.Topic, p.Partition, err)
				}
			}
		}
	})
	if commitErr != nil {
		t.Fatalf("member %s commits: %v", m.id(), commitErr)
	}
}

// waitState is nil once group is in state, for checkFor.
func (c *testCluster) waitState(group, state string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	described, err := c.adm.DescribeGroups(ctx, group)
	if err != nil {
		return err
	}
	if got := described[group].State; got != state {
		return fmt.Errorf("group %s is %s, want %s", group, got, state)
	}
	return nil
}
