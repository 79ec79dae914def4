package compattests

// The consumer-group harness of groups_test.go and groups_clients_test.go:
// franz-go group members in this process or in a child process a test can
// kill, a ledger judging what every member observed, and the group as
// kadm's DescribeGroups shows it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startGroupBroker starts a broker with group settings that let a test
// rebalance in well under a second and evict a crashed member in a few:
// 100 ms before an empty group's first rebalance completes, session
// timeouts down to one second.
func startGroupBroker(t *testing.T, opts ...brokerOpt) *testBroker {
	t.Helper()
	return startBroker(t, append([]brokerOpt{
		withOverride("group.initial.rebalance.delay.ms", "100"),
		withOverride("group.min.session.timeout.ms", "1000"),
	}, opts...)...)
}

// memberSessionTimeout is the session timeout of members that stay alive:
// Kafka's default group.min.session.timeout.ms, long enough that a member
// of a -race test binary on a busy machine never misses it.
const memberSessionTimeout = 6 * time.Second

// crashSessionTimeout is the session timeout of members a test kills, so
// that their eviction does not stretch the test. kfake's minimum is fixed
// at Kafka's default of 6s.
func crashSessionTimeout() time.Duration {
	if useKfake {
		return 6 * time.Second
	}
	return 3 * time.Second
}

// groupMemberSpec is one franz-go group member: in this process, or in a
// child process that a test can kill (it is passed there as JSON).
type groupMemberSpec struct {
	Broker     string `json:"broker"`
	Group      string `json:"group"`
	Topic      string `json:"topic"`
	Member     string `json:"member"`     // the test's name for it; also its client id
	InstanceID string `json:"instanceID"` // group.instance.id; empty: dynamic
	Balancer   string `json:"balancer"`   // "" for kgo's default (cooperative-sticky), or "range"
	SessionMs  int    `json:"sessionMs"`
	// RebalanceMs is the member's rebalance timeout; 0 means 15s.
	RebalanceMs int `json:"rebalanceMs"`
	// beforeRevoke, if set, runs first in OnPartitionsRevoked (in this
	// process only): a test makes a member slow to rejoin with it.
	beforeRevoke func()
}

func newMemberSpec(group, topic, name string, session time.Duration) groupMemberSpec {
	return groupMemberSpec{Group: group, Topic: topic, Member: name, SessionMs: int(session / time.Millisecond)}
}

// consumedRecord is a record as a member reports processing it.
type consumedRecord struct {
	Partition int32  `json:"p"`
	Offset    int64  `json:"o"`
	Value     string `json:"v"`
}

// groupEvents receives what a member observes: the partitions its
// OnPartitionsAssigned / Revoked / Lost callbacks are given, the records it
// processes, each with the generation the client was in at that moment
// (kgo's GroupMetadata), and errors it sees.
type groupEvents interface {
	assigned(member, memberID string, generation int32, partitions []int32)
	revoked(member, memberID string, generation int32, partitions []int32)
	consumed(member string, generation int32, recs []consumedRecord)
	failed(member string, err error)
}

// memberOpts are the kgo options of a member: a group consumer of one
// topic from its start that processes records between polls with
// rebalances blocked (so its callbacks never run while it is processing),
// commits what it processed every 200 ms and, in OnPartitionsRevoked,
// before it gives partitions up: at-least-once, as a careful user writes it.
func memberOpts(spec groupMemberSpec, events groupEvents) []kgo.Opt {
	topic := spec.Topic
	rebalance := 15 * time.Second
	if spec.RebalanceMs > 0 {
		rebalance = time.Duration(spec.RebalanceMs) * time.Millisecond
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(spec.Broker),
		kgo.ClientID(spec.Member),
		kgo.ConsumerGroup(spec.Group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(time.Duration(spec.SessionMs) * time.Millisecond),
		kgo.HeartbeatInterval(time.Duration(spec.SessionMs) * time.Millisecond / 10),
		kgo.RebalanceTimeout(rebalance),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.MetadataMinAge(100 * time.Millisecond),
		kgo.BlockRebalanceOnPoll(),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, cl *kgo.Client, ps map[string][]int32) {
			id, gen := cl.GroupMetadata()
			events.assigned(spec.Member, id, gen, ps[topic])
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, ps map[string][]int32) {
			if spec.beforeRevoke != nil {
				spec.beforeRevoke()
			}
			// Overriding the callback replaces kgo's own commit on
			// revoke, so commit what was processed before letting go.
			if err := cl.CommitMarkedOffsets(ctx); err != nil && len(ps[topic]) > 0 {
				events.failed(spec.Member, fmt.Errorf("commit on revoking %v: %w", ps[topic], err))
			}
			id, gen := cl.GroupMetadata()
			events.revoked(spec.Member, id, gen, ps[topic])
		}),
		kgo.OnPartitionsLost(func(_ context.Context, cl *kgo.Client, ps map[string][]int32) {
			id, gen := cl.GroupMetadata()
			events.revoked(spec.Member, id, gen, ps[topic])
		}),
	}
	if spec.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(spec.InstanceID))
	}
	if spec.Balancer == "range" {
		opts = append(opts, kgo.Balancers(kgo.RangeBalancer()))
	}
	return opts
}

// runGroupMember polls until ctx ends, reporting each poll's records with
// the generation the client is in, then marking them for commit.
func runGroupMember(ctx context.Context, cl *kgo.Client, name string, events groupEvents) {
	defer cl.AllowRebalance()
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return // what this poll returned is not processed, so not committed
		}
		fetches.EachError(func(topic string, p int32, err error) {
			events.failed(name, fmt.Errorf("fetch %s/%d: %w", topic, p, err))
		})
		_, gen := cl.GroupMetadata()
		var recs []consumedRecord
		fetches.EachRecord(func(r *kgo.Record) {
			recs = append(recs, consumedRecord{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value)})
		})
		if len(recs) > 0 {
			events.consumed(name, gen, recs)
		}
		cl.MarkCommitRecords(fetches.Records()...)
		cl.AllowRebalance()
	}
}

// kgoMember is a group member running in this process.
type kgoMember struct {
	name        string
	cl          *kgo.Client
	stopPolling context.CancelFunc
	polling     chan struct{}
	closeOnce   sync.Once
}

func startKgoMember(t *testing.T, b *testBroker, spec groupMemberSpec, events groupEvents, opts ...kgo.Opt) *kgoMember {
	t.Helper()
	spec.Broker = b.Addr()
	cl, err := kgo.NewClient(append(memberOpts(spec, events), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &kgoMember{name: spec.Member, cl: cl, stopPolling: cancel, polling: make(chan struct{})}
	go func() {
		defer close(m.polling)
		runGroupMember(ctx, cl, spec.Member, events)
	}()
	t.Cleanup(m.abandon)
	return m
}

// close stops the member as a user's program does on shutdown: it stops
// polling and closes the client, which commits in OnPartitionsRevoked and
// sends LeaveGroup (a static member does not leave).
func (m *kgoMember) close() {
	m.stopPolling()
	<-m.polling
	m.closeOnce.Do(m.cl.Close)
}

// abandon stops the member without waiting for a broker that may be gone.
func (m *kgoMember) abandon() {
	m.stopPolling()
	<-m.polling
	m.closeOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = m.cl.LeaveGroupContext(ctx)
		m.cl.Close()
	})
}

// memberID is the member id the broker gave this member.
func (m *kgoMember) memberID() string {
	id, _ := m.cl.GroupMetadata()
	return id
}

func (m *kgoMember) generation() int32 {
	_, gen := m.cl.GroupMetadata()
	return gen
}

// memberProcessEnv carries a groupMemberSpec to a child process running
// TestKgoGroupMemberProcess.
const memberProcessEnv = "SAMSA_COMPAT_GROUP_MEMBER"

// TestKgoGroupMemberProcess is not a test of its own: it is the body of a
// group member that a test runs as a child process (this test binary again)
// so that it can kill it with SIGKILL. It prints its events as JSON lines on
// stdout and runs until killed.
func TestKgoGroupMemberProcess(t *testing.T) {
	raw := os.Getenv(memberProcessEnv)
	if raw == "" {
		t.Skip("the body of a group member process; runs only as a child of a group test")
	}
	var spec groupMemberSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		t.Fatalf("%s: %v", memberProcessEnv, err)
	}
	events := &jsonEvents{w: os.Stdout}
	cl, err := kgo.NewClient(memberOpts(spec, events)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// Never outlive a test run, should the parent fail to kill it.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runGroupMember(ctx, cl, spec.Member, events)
}

// memberEvent is one line a member process prints.
type memberEvent struct {
	Event      string           `json:"event"` // assigned, revoked, consumed or failed
	Member     string           `json:"member"`
	MemberID   string           `json:"memberID,omitempty"`
	Generation int32            `json:"generation"`
	Partitions []int32          `json:"partitions,omitempty"`
	Records    []consumedRecord `json:"records,omitempty"`
	Error      string           `json:"error,omitempty"`
}

// jsonEvents prints events as JSON lines, each with one write, before the
// member goes on (so a record is reported before it is marked for commit).
type jsonEvents struct {
	mu sync.Mutex
	w  *os.File
}

func (j *jsonEvents) emit(e memberEvent) {
	line, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.w.Write(append(line, '\n'))
}

func (j *jsonEvents) assigned(member, id string, gen int32, ps []int32) {
	j.emit(memberEvent{Event: "assigned", Member: member, MemberID: id, Generation: gen, Partitions: ps})
}

func (j *jsonEvents) revoked(member, id string, gen int32, ps []int32) {
	j.emit(memberEvent{Event: "revoked", Member: member, MemberID: id, Generation: gen, Partitions: ps})
}

func (j *jsonEvents) consumed(member string, gen int32, recs []consumedRecord) {
	j.emit(memberEvent{Event: "consumed", Member: member, Generation: gen, Records: recs})
}

func (j *jsonEvents) failed(member string, err error) {
	j.emit(memberEvent{Event: "failed", Member: member, Error: err.Error()})
}

// memberProcess is a group member running in a child process.
type memberProcess struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once its output is read and it is waited for
	stderr lockedBuffer
}

// startMemberProcess runs spec as TestKgoGroupMemberProcess in a child
// process and feeds its events to events.
func startMemberProcess(t *testing.T, b *testBroker, spec groupMemberSpec, events groupEvents) *memberProcess {
	t.Helper()
	spec.Broker = b.Addr()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	p := &memberProcess{name: spec.Member, exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestKgoGroupMemberProcess$", "-test.count=1")
	p.cmd.Env = append(os.Environ(), memberProcessEnv+"="+string(raw))
	if !useKfake {
		p.cmd.Env = append(p.cmd.Env, "SAMSA_BINARY="+samsaBinary) // not a second build
	}
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	dieWithTests(p.cmd)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start member process %s: %v", spec.Member, err)
	}
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var e memberEvent
			if !bytes.HasPrefix(sc.Bytes(), []byte("{")) || json.Unmarshal(sc.Bytes(), &e) != nil {
				continue // the test framework's own lines, or a line cut by SIGKILL
			}
			switch e.Event {
			case "assigned":
				events.assigned(e.Member, e.MemberID, e.Generation, e.Partitions)
			case "revoked":
				events.revoked(e.Member, e.MemberID, e.Generation, e.Partitions)
			case "consumed":
				events.consumed(e.Member, e.Generation, e.Records)
			case "failed":
				events.failed(e.Member, errors.New(e.Error))
			}
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("member process %s stderr:\n%s", p.name, tail(p.stderr.Bytes(), 16<<10))
		}
	})
	return p
}

// kill sends SIGKILL to the member process (by its PID) and waits until
// everything it printed has been read.
func (p *memberProcess) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

// partOffset names a record by partition and offset.
type partOffset struct {
	partition int32
	offset    int64
}

// ownershipSpan says member held partition from generation from through
// generation to (inclusive; math.MaxInt32 while it still holds it).
type ownershipSpan struct {
	member    string
	partition int32
	from, to  int32
}

// groupLedger collects what was produced and what every member of a group
// observed, and judges it: every produced record processed, no record
// processed by two members in one generation, no partition held by two
// members in overlapping generations.
type groupLedger struct {
	mu           sync.Mutex
	produced     map[partOffset]string
	byGeneration map[partOffset]map[int32]map[string]bool // generation → members that processed it
	outside      map[partOffset]bool                      // processed by a client without generations
	wrong        []string                                 // records processed with another value than produced
	owned        map[string]map[int32]int32               // member → partition → generation it got it in
	memberIDs    map[string]string                        // member → its current member id
	lastGen      map[string]int32
	spans        []ownershipSpan
	callbacks    map[string]int // member → assign/revoke/lost callbacks seen
	errs         []string
	processedN   map[string]int // member → records processed
}

func newGroupLedger() *groupLedger {
	return &groupLedger{
		produced:     map[partOffset]string{},
		byGeneration: map[partOffset]map[int32]map[string]bool{},
		outside:      map[partOffset]bool{},
		owned:        map[string]map[int32]int32{},
		memberIDs:    map[string]string{},
		lastGen:      map[string]int32{},
		callbacks:    map[string]int{},
		processedN:   map[string]int{},
	}
}

func (l *groupLedger) producedAt(p int32, o int64, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.produced[partOffset{p, o}] = value
}

func (l *groupLedger) seen(member, id string, gen int32) {
	if id != "" {
		l.memberIDs[member] = id
	}
	l.lastGen[member] = max(l.lastGen[member], gen)
}

func (l *groupLedger) assigned(member, id string, gen int32, ps []int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen(member, id, gen)
	l.callbacks[member]++
	if l.owned[member] == nil {
		l.owned[member] = map[int32]int32{}
	}
	for _, p := range ps {
		if _, ok := l.owned[member][p]; ok {
			continue
		}
		l.owned[member][p] = gen
	}
}

func (l *groupLedger) revoked(member, id string, gen int32, ps []int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen(member, id, gen)
	l.callbacks[member]++
	for _, p := range ps {
		if from, ok := l.owned[member][p]; ok {
			l.spans = append(l.spans, ownershipSpan{member, p, from, gen})
			delete(l.owned[member], p)
		}
	}
}

func (l *groupLedger) consumed(member string, gen int32, recs []consumedRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastGen[member] = max(l.lastGen[member], gen)
	l.processedN[member] += len(recs)
	for _, r := range recs {
		po := partOffset{r.Partition, r.Offset}
		l.checkValue(member, po, r.Value)
		if l.byGeneration[po] == nil {
			l.byGeneration[po] = map[int32]map[string]bool{}
		}
		if l.byGeneration[po][gen] == nil {
			l.byGeneration[po][gen] = map[string]bool{}
		}
		l.byGeneration[po][gen][member] = true
	}
}

func (l *groupLedger) failed(member string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 20 {
		l.errs = append(l.errs, member+": "+err.Error())
	}
}

// memberGone ends what a killed member held at the last generation it
// reported: it processes nothing more.
func (l *groupLedger) memberGone(member string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, from := range l.owned[member] {
		l.spans = append(l.spans, ownershipSpan{member, p, from, l.lastGen[member]})
	}
	delete(l.owned, member)
	delete(l.memberIDs, member)
}

// holds is what member's own callbacks say it holds now.
func (l *groupLedger) holds(member string) []int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.owned[member]))
}

func (l *groupLedger) callbackCount(member string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.callbacks[member]
}

// memberIDOf is the member id member last reported.
func (l *groupLedger) memberIDOf(member string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.memberIDs[member]
}

// ownViews is what each running member's callbacks say it holds, by
// member id.
func (l *groupLedger) ownViews() map[string][]int32 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]int32{}
	for name, id := range l.memberIDs {
		out[id] = slices.Sorted(maps.Keys(l.owned[name]))
	}
	return out
}

// agreesWith reports whether the ledger's members agree with what
// DescribeGroups shows each of them holding.
func (l *groupLedger) agreesWith(v groupView) error { return agree(l.ownViews)(v) }

// agree returns a check that every member DescribeGroups shows is one of
// the test's, whose own client says it holds what DescribeGroups says.
// Each source gives member id → the partitions that client says it holds.
func agree(sources ...func() map[string][]int32) func(groupView) error {
	return func(v groupView) error {
		own := map[string][]int32{}
		for _, src := range sources {
			maps.Copy(own, src())
		}
		for id, ps := range v.assigned {
			mine, ok := own[id]
			if !ok {
				return fmt.Errorf("DescribeGroups lists member %s (client %s), which no running member of the test has as its id", id, v.clients[id])
			}
			if !slices.Equal(mine, ps) {
				return fmt.Errorf("member %s (client %s) says it holds %v, DescribeGroups says %v", id, v.clients[id], mine, ps)
			}
		}
		return nil
	}
}

// consumedOutside records records processed by a client whose
// generation is not known (kcat, the other stock clients): they count as
// processed, and their values are checked.
func (l *groupLedger) consumedOutside(member string, recs []consumedRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.processedN[member] += len(recs)
	for _, r := range recs {
		po := partOffset{r.Partition, r.Offset}
		l.checkValue(member, po, r.Value)
		l.outside[po] = true
	}
}

func (l *groupLedger) checkValue(member string, po partOffset, value string) {
	if want, ok := l.produced[po]; ok && want != value && len(l.wrong) < 10 {
		l.wrong = append(l.wrong, fmt.Sprintf("%s read %q at partition %d offset %d, where %q was produced", member, value, po.partition, po.offset, want))
	}
}

// expectNumbered records what produceNumbered writes.
func (l *groupLedger) expectNumbered(partitions int32, n int) {
	for o := 0; o < n; o++ {
		for p := int32(0); p < partitions; p++ {
			l.producedAt(p, int64(o), fmt.Sprintf("p%d-o%d", p, o))
		}
	}
}

// missing reports the produced records nobody processed yet.
func (l *groupLedger) missing() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var miss []partOffset
	for po := range l.produced {
		if len(l.byGeneration[po]) == 0 && !l.outside[po] {
			miss = append(miss, po)
		}
	}
	if len(miss) == 0 {
		return nil
	}
	sort.Slice(miss, func(i, j int) bool {
		return miss[i].partition < miss[j].partition || miss[i].partition == miss[j].partition && miss[i].offset < miss[j].offset
	})
	return fmt.Errorf("%d of %d produced records not processed by any member, first (partition, offset) %v", len(miss), len(l.produced), miss[:min(len(miss), 5)])
}

// check fails the test on records read wrong, a record processed by two
// members in one generation, a partition held by two members in
// overlapping generations, or errors members reported.
func (l *groupLedger) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.wrong {
		t.Error(w)
	}
	var doubles []string
	for po, byGen := range l.byGeneration {
		for gen, members := range byGen {
			if len(members) > 1 {
				doubles = append(doubles, fmt.Sprintf("partition %d offset %d by %v in generation %d", po.partition, po.offset, slices.Sorted(maps.Keys(members)), gen))
			}
		}
	}
	if len(doubles) > 0 {
		sort.Strings(doubles)
		t.Errorf("%d records processed by two members of one generation, e.g. %s", len(doubles), strings.Join(doubles[:min(len(doubles), 5)], "; "))
	}
	spans := slices.Clone(l.spans)
	for m, ps := range l.owned {
		for p, from := range ps {
			spans = append(spans, ownershipSpan{m, p, from, math.MaxInt32})
		}
	}
	overlaps := 0
	for i, a := range spans {
		for _, b := range spans[i+1:] {
			if a.partition == b.partition && a.member != b.member && a.from <= b.to && b.from <= a.to {
				if overlaps++; overlaps <= 5 {
					t.Errorf("partition %d held by %s in generations %d..%d and by %s in %d..%d", a.partition, a.member, a.from, a.to, b.member, b.from, b.to)
				}
			}
		}
	}
	for _, e := range l.errs {
		t.Errorf("member error: %s", e)
	}
	t.Logf("records processed per member: %v; %d produced", l.processedN, len(l.produced))
}

// produceUntilStopped produces one record to every partition of topic
// every 20 ms, recording each acknowledged record in the ledger, until
// the returned function is called.
func produceUntilStopped(t *testing.T, b *testBroker, topic string, partitions int32, ledger *groupLedger) (stop func()) {
	t.Helper()
	cl := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := 0; ctx.Err() == nil; seq++ {
			recs := make([]*kgo.Record, partitions)
			for p := range recs {
				recs[p] = &kgo.Record{Topic: topic, Partition: int32(p), Value: fmt.Appendf(nil, "r%d-p%d", seq, p)}
			}
			results := cl.ProduceSync(ctx, recs...)
			if ctx.Err() != nil {
				return
			}
			if err := results.FirstErr(); err != nil {
				ledger.failed("producer", err)
				return
			}
			for _, r := range results {
				ledger.producedAt(r.Record.Partition, r.Record.Offset, string(r.Record.Value))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// groupView is a group as kadm's DescribeGroups shows it.
type groupView struct {
	state        string
	protocolType string
	protocol     string
	assigned     map[string][]int32 // member id → its partitions of the topic, sorted
	instances    map[string]string  // member id → group.instance.id
	clients      map[string]string  // member id → client id
	hosts        map[string]string  // member id → client host
	subscribed   map[string][]string
}

func (v groupView) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s (%s)", v.state, v.protocol)
	for _, id := range slices.Sorted(maps.Keys(v.assigned)) {
		fmt.Fprintf(&sb, "; %s %v", v.clients[id], v.assigned[id])
	}
	return sb.String()
}

func describeGroupView(ctx context.Context, adm *kadm.Client, group, topic string) (groupView, error) {
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return groupView{}, fmt.Errorf("describe group %s: %w", group, err)
	}
	g, ok := described[group]
	if !ok {
		return groupView{}, fmt.Errorf("describe group %s: not in the response", group)
	}
	if g.Err != nil {
		return groupView{}, fmt.Errorf("describe group %s: %w", group, g.Err)
	}
	v := groupView{
		state: g.State, protocolType: g.ProtocolType, protocol: g.Protocol,
		assigned: map[string][]int32{}, instances: map[string]string{}, clients: map[string]string{},
		hosts: map[string]string{}, subscribed: map[string][]string{},
	}
	for _, m := range g.Members {
		var ps []int32
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, at := range a.Topics {
				if at.Topic == topic {
					ps = append(ps, at.Partitions...)
				}
			}
		}
		slices.Sort(ps)
		v.assigned[m.MemberID] = ps
		v.clients[m.MemberID] = m.ClientID
		v.hosts[m.MemberID] = m.ClientHost
		if m.InstanceID != nil {
			v.instances[m.MemberID] = *m.InstanceID
		}
		if md, ok := m.Join.AsConsumer(); ok {
			v.subscribed[m.MemberID] = md.Topics
		}
	}
	return v, nil
}

// balanced reports whether the group is Stable with n members that hold
// each of the topic's partitions exactly once between them, each holding
// partitions/n of them or one more.
func (v groupView) balanced(partitions, n int) error {
	if v.state != "Stable" {
		return fmt.Errorf("group is %s, want Stable: %v", v.state, v)
	}
	if len(v.assigned) != n {
		return fmt.Errorf("group has %d members, want %d: %v", len(v.assigned), n, v)
	}
	held := map[int32]string{}
	for id, ps := range v.assigned {
		if len(ps) < partitions/n || len(ps) > (partitions+n-1)/n {
			return fmt.Errorf("member %s holds %d partitions, want %d/%d: %v", v.clients[id], len(ps), partitions, n, v)
		}
		for _, p := range ps {
			if other, ok := held[p]; ok {
				return fmt.Errorf("partition %d assigned to both %s and %s: %v", p, v.clients[other], v.clients[id], v)
			}
			held[p] = id
		}
	}
	if len(held) != partitions {
		return fmt.Errorf("%d of %d partitions assigned: %v", len(held), partitions, v)
	}
	return nil
}

// requireBalanced waits until the group is balanced over n members (see
// groupView.balanced) and every extra check holds, and returns what
// DescribeGroups then showed.
func requireBalanced(t *testing.T, adm *kadm.Client, group, topic string, partitions, n int, timeout time.Duration, also ...func(groupView) error) groupView {
	t.Helper()
	var v groupView
	checkFor(t, timeout, 100*time.Millisecond, func() error {
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if v, err = describeGroupView(ctx, adm, group, topic); err != nil {
			return err
		}
		if err := v.balanced(partitions, n); err != nil {
			return err
		}
		for _, check := range also {
			if err := check(v); err != nil {
				return err
			}
		}
		return nil
	})
	return v
}

// requireCommittedAtEnd waits until the group's committed offset of every
// partition of topic is the partition's end offset.
func requireCommittedAtEnd(t *testing.T, adm *kadm.Client, group, topic string, timeout time.Duration) {
	t.Helper()
	checkFor(t, timeout, 100*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			return fmt.Errorf("list end offsets: %w", err)
		}
		committed, err := adm.FetchOffsets(ctx, group)
		if err == nil {
			err = committed.Error()
		}
		if err != nil {
			return fmt.Errorf("fetch offsets of %s: %w", group, err)
		}
		var errs []error
		ends.Each(func(end kadm.ListedOffset) {
			c, ok := committed.Lookup(topic, end.Partition)
			if !ok || c.At != end.Offset {
				errs = append(errs, fmt.Errorf("partition %d: committed %d (present %v), end offset %d", end.Partition, c.At, ok, end.Offset))
			}
		})
		if len(errs) > 0 {
			return fmt.Errorf("group %s: %w", group, errors.Join(errs...))
		}
		return nil
	})
}
