package compattests

// Consumer groups of the other stock clients — sarama's ConsumerGroup,
// kafka-go's Reader with a GroupID, kcat -G (librdkafka's KafkaConsumer)
// and kafkajs's consumer — each as its own group over the same records,
// and kcat processes sharing one group with a franz-go member while they
// start, leave and are killed.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kadm"
)

// lineProcess is a client run as a child process whose stdout and stderr
// are read line by line.
type lineProcess struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser // nil unless asked for
	exited  chan struct{}  // closed once both outputs are read and it is waited for
	stderr  lockedBuffer
	waitErr error
}

// startLineProcess starts cmd, calling onStdout and onStderr (either may be
// nil) with each line it prints. It is killed, if still running, when the
// test ends, and its stderr is logged if the test failed.
func startLineProcess(t *testing.T, name string, cmd *exec.Cmd, withStdin bool, onStdout, onStderr func(string)) *lineProcess {
	t.Helper()
	p := &lineProcess{name: name, cmd: cmd, exited: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if withStdin {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	dieWithTests(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	var wg sync.WaitGroup
	scan := func(r io.Reader, fn func(string), keep *lockedBuffer) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			if keep != nil {
				_, _ = keep.Write(append(sc.Bytes(), '\n'))
			}
			if fn != nil {
				fn(sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}
	wg.Add(2)
	go scan(stdout, onStdout, nil)
	go scan(stderr, onStderr, &p.stderr)
	go func() {
		wg.Wait()
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, tail(p.stderr.Bytes(), 32<<10))
		}
	})
	return p
}

func (p *lineProcess) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to the process by its PID, if it still runs.
func (p *lineProcess) signal(sig syscall.Signal) {
	if p.running() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// stop sends sig and waits for the process to exit, killing it (and
// failing the test) if it does not within timeout.
func (p *lineProcess) stop(t *testing.T, sig syscall.Signal, timeout time.Duration) {
	t.Helper()
	p.signal(sig)
	p.wait(t, timeout)
}

// wait waits for the process to exit, killing it (and failing the test) if
// it does not within timeout.
func (p *lineProcess) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.signal(syscall.SIGKILL)
		<-p.exited
		t.Errorf("%s still running after %v; killed", p.name, timeout)
	}
}

// requireKcat skips (fails under CI) without kcat on PATH.
func requireKcat(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("kcat"); err != nil {
		requireClientTool(t, "kcat is not on PATH", "apt-get install kcat")
	}
}

// kcatGroupMember is one `kcat -G` process: librdkafka's KafkaConsumer in
// a balanced consumer group.
type kcatGroupMember struct {
	*lineProcess
	mu       sync.Mutex
	memberID string
	holds    map[int32]bool
}

var (
	// librdkafka's cooperative protocol, as kcat logs it:
	// "% Group g rebalanced: incremental assignment of 3 partition(s)
	// (memberid rdkafka-…, COOPERATIVE rebalance protocol): t [0], t [1]"
	kcatIncremental = regexp.MustCompile(`rebalanced: incremental (assignment|revoke) of \d+ partition\(s\) \(memberid ([^,]+), [^)]*\):(.*)$`)
	// and the eager one: "% Group g rebalanced (memberid rdkafka-…):
	// assigned: t [0], t [1]".
	kcatEager     = regexp.MustCompile(`rebalanced \(memberid ([^)]+)\): (assigned|revoked): (.*)$`)
	kcatPartition = regexp.MustCompile(`\[(\d+)\]`)
)

// startKcatGroupMember runs `kcat -G group topic` reading from the earliest
// offset, printing each record as "partition offset value"; conf are extra
// librdkafka properties (-X). What it consumes goes to the ledger; what it
// holds is taken from its rebalance log lines.
func startKcatGroupMember(t *testing.T, b *testBroker, name, group, topic string, ledger *groupLedger, conf ...string) *kcatGroupMember {
	t.Helper()
	args := []string{"-b", b.Addr(), "-G", group, "-u", "-f", `%p %o %s\n`,
		"-X", "client.id=" + name,
		"-X", "auto.offset.reset=earliest",
		"-X", "heartbeat.interval.ms=500",
	}
	for _, c := range conf {
		args = append(args, "-X", c)
	}
	args = append(args, topic)
	k := &kcatGroupMember{holds: map[int32]bool{}}
	onStdout := func(line string) {
		f := strings.SplitN(line, " ", 3)
		if len(f) != 3 {
			ledger.failed(name, fmt.Errorf("kcat printed %q, not \"partition offset value\"", line))
			return
		}
		p, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			ledger.failed(name, fmt.Errorf("kcat printed %q, not \"partition offset value\"", line))
			return
		}
		ledger.consumedOutside(name, []consumedRecord{{Partition: int32(p), Offset: o, Value: f[2]}})
	}
	onStderr := func(line string) {
		var id, kind, list string
		if m := kcatIncremental.FindStringSubmatch(line); m != nil {
			kind, id, list = m[1], m[2], m[3]
		} else if m := kcatEager.FindStringSubmatch(line); m != nil {
			id, kind, list = m[1], m[2], m[3]
		} else {
			return
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		k.memberID = id
		if kind == "assigned" {
			clear(k.holds) // an eager assignment is the whole of it
		}
		for _, pm := range kcatPartition.FindAllStringSubmatch(list, -1) {
			p, _ := strconv.ParseInt(pm[1], 10, 32)
			if kind == "assignment" || kind == "assigned" {
				k.holds[int32(p)] = true
			} else {
				delete(k.holds, int32(p))
			}
		}
	}
	k.lineProcess = startLineProcess(t, name, exec.Command("kcat", args...), false, onStdout, onStderr)
	return k
}

// ownViews is what kcat's own log says it holds, by its member id.
func (k *kcatGroupMember) ownViews() map[string][]int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.memberID == "" || !k.running() {
		return nil
	}
	return map[string][]int32{k.memberID: slices.Sorted(maps.Keys(k.holds))}
}

func (k *kcatGroupMember) id() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.memberID
}

// requireLeftGroup waits until the group is Empty; the clients' session
// timeouts are long, so only their LeaveGroup can empty it this fast.
func requireLeftGroup(t *testing.T, adm *kadm.Client, group, topic string) {
	t.Helper()
	checkFor(t, 5*time.Second, 50*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err := describeGroupView(ctx, adm, group, topic)
		if err != nil {
			return err
		}
		if v.state != "Empty" || len(v.assigned) != 0 {
			return fmt.Errorf("group %s is %v after its members closed, want Empty (they leave, their sessions are long)", group, v)
		}
		return nil
	})
}

func TestStockClientGroupsEachReadEveryRecordAndCommit(t *testing.T) {
	t.Parallel()
	b := startGroupBroker(t)
	adm := b.admin(t)
	topic := uniqueTopic(t)
	const partitions, perPartition = 4, 30
	createTopic(t, adm, topic, partitions, nil)
	produceNumbered(t, b, topic, partitions, perPartition)

	// consumeAsGroup runs one client's group of two members, started by
	// start, and requires: the partitions spread over both, every record
	// read with its value, and once the members close, the group left
	// Empty with every partition committed at its end.
	consumeAsGroup := func(t *testing.T, group string, start func(*groupLedger) (closeAll func())) {
		t.Helper()
		ledger := newGroupLedger()
		ledger.expectNumbered(partitions, perPartition)
		closeAll := start(ledger)
		requireBalanced(t, adm, group, topic, partitions, 2, 30*time.Second)
		checkFor(t, 30*time.Second, 100*time.Millisecond, ledger.missing)
		closeAll()
		requireCommittedAtEnd(t, adm, group, topic, 10*time.Second)
		requireLeftGroup(t, adm, group, topic)
		ledger.check(t)
	}

	// A franz-go group reads everything first; every client's group then
	// reads the same records again: a group's commits are its own.
	t.Run("kgo", func(t *testing.T) {
		consumeAsGroup(t, "kgo-group", func(ledger *groupLedger) func() {
			m1 := startKgoMember(t, b, newMemberSpec("kgo-group", topic, "kgo-1", 20*time.Second), ledger)
			m2 := startKgoMember(t, b, newMemberSpec("kgo-group", topic, "kgo-2", 20*time.Second), ledger)
			return func() { m1.close(); m2.close() }
		})
	})

	for _, version := range saramaVersions {
		t.Run("sarama/kafka-"+version.String(), func(t *testing.T) {
			t.Parallel()
			group := "sarama-" + version.String()
			consumeAsGroup(t, group, func(ledger *groupLedger) func() {
				m1 := startSaramaGroupMember(t, b.Addr(), version, group, topic, "sarama-1", ledger)
				m2 := startSaramaGroupMember(t, b.Addr(), version, group, topic, "sarama-2", ledger)
				return func() { m1.close(t); m2.close(t) }
			})
		})
	}

	t.Run("kafka-go", func(t *testing.T) {
		t.Parallel()
		consumeAsGroup(t, "kafka-go-group", func(ledger *groupLedger) func() {
			r1 := startKafkaGoGroupReader(t, b.Addr(), "kafka-go-group", topic, "kafka-go-1", ledger)
			r2 := startKafkaGoGroupReader(t, b.Addr(), "kafka-go-group", topic, "kafka-go-2", ledger)
			return func() { r1.close(t); r2.close(t) }
		})
	})

	t.Run("kcat", func(t *testing.T) {
		requireKcat(t)
		t.Parallel()
		consumeAsGroup(t, "kcat-group", func(ledger *groupLedger) func() {
			k1 := startKcatGroupMember(t, b, "kcat-1", "kcat-group", topic, ledger)
			k2 := startKcatGroupMember(t, b, "kcat-2", "kcat-group", topic, ledger)
			// SIGTERM: kcat closes its consumer, which commits and leaves.
			return func() { k1.stop(t, syscall.SIGTERM, 20*time.Second); k2.stop(t, syscall.SIGTERM, 20*time.Second) }
		})
	})

	t.Run("kafkajs", func(t *testing.T) {
		node := requireKafkajs(t)
		t.Parallel()
		consumeAsGroup(t, "kafkajs-group", func(ledger *groupLedger) func() {
			cmd := exec.Command(node, "group.js", b.Addr(), topic, "kafkajs-group", "2")
			cmd.Dir = kafkajsDir
			p := startLineProcess(t, "kafkajs", cmd, true, func(line string) {
				var m struct {
					Member    int     `json:"member"`
					Partition int32   `json:"partition"`
					Offset    int64   `json:"offset"`
					Value     *string `json:"value"`
				}
				if err := json.Unmarshal([]byte(line), &m); err != nil || m.Value == nil {
					ledger.failed("kafkajs", fmt.Errorf("group.js printed %q", line))
					return
				}
				ledger.consumedOutside(fmt.Sprintf("kafkajs-%d", m.Member), []consumedRecord{{Partition: m.Partition, Offset: m.Offset, Value: *m.Value}})
			}, nil)
			return func() {
				// Closing stdin makes the script disconnect its consumers
				// (a commit and a LeaveGroup each) and exit.
				_ = p.stdin.Close()
				p.wait(t, 30*time.Second)
				if p.waitErr != nil {
					t.Errorf("group.js: %v", p.waitErr)
				}
			}
		})
	})
}

// saramaGroupMember is a sarama ConsumerGroup consuming one topic.
type saramaGroupMember struct {
	cg     sarama.ConsumerGroup
	cancel context.CancelFunc
	done   chan struct{}
}

// saramaGroupHandler records every message of its claims and marks it.
type saramaGroupHandler struct {
	name   string
	ledger *groupLedger
}

func (saramaGroupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaGroupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h saramaGroupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			h.ledger.consumedOutside(h.name, []consumedRecord{{Partition: m.Partition, Offset: m.Offset, Value: string(m.Value)}})
			sess.MarkMessage(m, "")
		case <-sess.Context().Done():
			return nil
		}
	}
}

func startSaramaGroupMember(t *testing.T, addr string, version sarama.KafkaVersion, group, topic, name string, ledger *groupLedger) *saramaGroupMember {
	t.Helper()
	cfg := saramaConfig(version)
	cfg.ClientID = name
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 20 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	cfg.Consumer.Group.Rebalance.Timeout = 15 * time.Second
	cfg.Consumer.MaxWaitTime = 250 * time.Millisecond
	cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
	if err != nil {
		t.Fatalf("sarama NewConsumerGroup: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &saramaGroupMember{cg: cg, cancel: cancel, done: make(chan struct{})}
	go func() {
		// Errors (a commit refused during a rebalance) are retried by
		// sarama; the final commit check is what counts.
		for range cg.Errors() {
		}
	}()
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, saramaGroupHandler{name, ledger}); err != nil {
				if errors.Is(err, sarama.ErrClosedConsumerGroup) {
					return
				}
				ledger.failed(name, fmt.Errorf("sarama Consume: %w", err))
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-m.done; _ = cg.Close() })
	return m
}

// close ends the session (committing what was marked) and leaves the group.
func (m *saramaGroupMember) close(t *testing.T) {
	t.Helper()
	m.cancel()
	<-m.done
	if err := m.cg.Close(); err != nil {
		t.Errorf("sarama ConsumerGroup.Close: %v", err)
	}
}

// kafkaGoGroupReader is a kafka-go Reader with a GroupID: ReadMessage
// commits each message (synchronously, CommitInterval 0).
type kafkaGoGroupReader struct {
	r      *kafka.Reader
	cancel context.CancelFunc
	done   chan struct{}
}

func startKafkaGoGroupReader(t *testing.T, addr, group, topic, name string, ledger *groupLedger) *kafkaGoGroupReader {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           []string{addr},
		GroupID:           group,
		Topic:             topic,
		Dialer:            &kafka.Dialer{ClientID: name, Timeout: 10 * time.Second},
		MinBytes:          1,
		MaxBytes:          1 << 20,
		MaxWait:           250 * time.Millisecond,
		HeartbeatInterval: 500 * time.Millisecond,
		SessionTimeout:    20 * time.Second,
		RebalanceTimeout:  15 * time.Second,
		JoinGroupBackoff:  500 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		Logger:            kafkaGoLogger(name),
		ErrorLogger:       kafkaGoLogger(name + " error"),
	})
	ctx, cancel := context.WithCancel(context.Background())
	k := &kafkaGoGroupReader{r: r, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for {
			m, err := r.ReadMessage(ctx)
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				// A commit refused across a rebalance surfaces here; the
				// message is read again by whoever owns it next.
				time.Sleep(50 * time.Millisecond)
				continue
			}
			ledger.consumedOutside(name, []consumedRecord{{Partition: int32(m.Partition), Offset: m.Offset, Value: string(m.Value)}})
		}
	}()
	t.Cleanup(func() { cancel(); <-k.done; _ = r.Close() })
	return k
}

// close stops reading and closes the reader, which leaves the group.
func (k *kafkaGoGroupReader) close(t *testing.T) {
	t.Helper()
	k.cancel()
	<-k.done
	if err := k.r.Close(); err != nil {
		t.Errorf("kafka-go Reader.Close: %v", err)
	}
}

func TestKcatGroupConsumersAndKgoMemberShareAndMovePartitions(t *testing.T) {
	requireKcat(t)
	t.Parallel()
	for _, tc := range []struct {
		name        string
		kgoBalancer string   // groupMemberSpec.Balancer
		kcatConf    []string // librdkafka's default strategy is "range,roundrobin"
	}{
		// Both at their defaults would share no protocol (Kafka refuses
		// that too: INCONSISTENT_GROUP_PROTOCOL), so one side moves.
		{"cooperative-sticky", "", []string{"partition.assignment.strategy=cooperative-sticky"}},
		{"range", "range", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := startGroupBroker(t)
			adm := b.admin(t)
			topic, group := uniqueTopic(t), "shared"
			const partitions = 6
			createTopic(t, adm, topic, partitions, nil)
			produceNumbered(t, b, topic, partitions, 10)
			ledger := newGroupLedger()
			ledger.expectNumbered(partitions, 10)
			settle := 30 * time.Second

			// The franz-go member alone holds everything.
			spec := newMemberSpec(group, topic, "kgo", memberSessionTimeout)
			spec.Balancer = tc.kgoBalancer
			startKgoMember(t, b, spec, ledger)
			requireBalanced(t, adm, group, topic, partitions, 1, settle, agree(ledger.ownViews))

			// A first kcat joins: three partitions each, as both clients'
			// own views agree. Its session timeout is long, so that only
			// its LeaveGroup can remove it quickly below.
			ka := startKcatGroupMember(t, b, "kcat-a", group, topic, ledger,
				append(slices.Clone(tc.kcatConf), "session.timeout.ms=30000", "max.poll.interval.ms=30000")...)
			requireBalanced(t, adm, group, topic, partitions, 2, settle, agree(ledger.ownViews, ka.ownViews))

			// A second kcat joins: two each.
			crash := crashSessionTimeout()
			kb := startKcatGroupMember(t, b, "kcat-b", group, topic, ledger,
				append(slices.Clone(tc.kcatConf), "session.timeout.ms="+itoa(crash.Milliseconds()), "max.poll.interval.ms=15000")...)
			requireBalanced(t, adm, group, topic, partitions, 3, settle, agree(ledger.ownViews, ka.ownViews, kb.ownViews))

			// SIGTERM: kcat-a leaves cleanly and its partitions move at
			// once, long before its 30s session could expire.
			ka.stop(t, syscall.SIGTERM, 20*time.Second)
			requireBalanced(t, adm, group, topic, partitions, 2, 15*time.Second, agree(ledger.ownViews, kb.ownViews))

			// SIGKILL: kcat-b stays a member until its session times out,
			// then everything is back on the franz-go member.
			kbID := kb.id()
			kb.stop(t, syscall.SIGKILL, 10*time.Second)
			if v, err := describeGroupView(testContext(t, 5*time.Second), adm, group, topic); err != nil {
				t.Fatal(err)
			} else if _, ok := v.assigned[kbID]; !ok {
				t.Errorf("the killed kcat left the group at once (%v); Kafka keeps it until its %v session timeout", v, crash)
			}
			requireBalanced(t, adm, group, topic, partitions, 1, crash+settle, agree(ledger.ownViews))

			// Every record was read by one of them.
			checkFor(t, settle, 100*time.Millisecond, ledger.missing)
			ledger.check(t)
		})
	}
}
