package compattests

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// `samsa mirror` as a separate process between two brokers: killed with
// SIGKILL it loses nothing (its source offsets are committed only after
// the target acknowledged), and stopped with SIGTERM it commits what it
// sent, so that a run stopped only that way copies each record once.

const mirrorPartitions = 3

// mirrorProcess is one `samsa mirror` child process.
type mirrorProcess struct {
	cmd    *exec.Cmd
	output lockedBuffer // stdout and stderr
	exited chan struct{}
	err    error
}

func startMirrorProcess(t *testing.T, source, target *testBroker, topic string) *mirrorProcess {
	t.Helper()
	p := &mirrorProcess{exited: make(chan struct{})}
	p.cmd = exec.Command(samsaBinary, "mirror",
		"--source", source.Addr(), "--target", target.Addr(),
		"--topics", topic, "--report-interval", "500ms")
	p.cmd.Stdout = &p.output
	p.cmd.Stderr = &p.output
	dieWithTests(p.cmd)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start samsa mirror: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		if t.Failed() {
			t.Logf("samsa mirror (pid %d) output:\n%s", p.cmd.Process.Pid, string(p.output.Bytes()))
		}
	})
	return p
}

// kill is kill -9: no flush, no commit.
func (p *mirrorProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL samsa mirror (pid %d): %v", p.cmd.Process.Pid, err)
	}
	<-p.exited
}

// stop sends SIGTERM and requires exit status 0 within 60 s. The signal
// goes once the mirror has printed its first progress report: one sent
// while the process is still starting (before Go installs its handler)
// kills it, as it would any program.
func (p *mirrorProcess) stop(t *testing.T) {
	t.Helper()
	checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		if !bytes.Contains(p.output.Bytes(), []byte("mirror: ")) {
			return fmt.Errorf("samsa mirror (pid %d) has not reported yet", p.cmd.Process.Pid)
		}
		return nil
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM samsa mirror (pid %d): %v", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		// A stopping mirror commits its progress; while its group waits
		// for a killed member's session to time out (45 s), the commit
		// waits for the rebalance.
		t.Fatalf("samsa mirror (pid %d) still running 60s after SIGTERM", p.cmd.Process.Pid)
	}
	if p.err != nil {
		t.Fatalf("samsa mirror did not exit cleanly on SIGTERM: %v\n%s", p.err, string(p.output.Bytes()))
	}
}

// produceInBackground produces records "0" to "n-1" to topic, record i
// to partition i%mirrorPartitions, in small batches, and returns a wait
// for the last acknowledgement.
func produceInBackground(t *testing.T, b *testBroker, topic string, n int) (wait func()) {
	t.Helper()
	cl := b.client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx := testContext(t, 60*time.Second)
	var wg sync.WaitGroup
	var failed error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; {
			var batch []*kgo.Record
			for ; i < n && len(batch) < 50; i++ {
				batch = append(batch, &kgo.Record{Topic: topic, Partition: int32(i % mirrorPartitions), Value: []byte(strconv.Itoa(i))})
			}
			if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
				failed = err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() {
		t.Helper()
		wg.Wait()
		if failed != nil {
			t.Fatalf("produce to the source: %v", failed)
		}
	}
}

// mirroredCounts waits until every record "0" to "n-1" is on the target
// in its partition, and returns how many times each is there. Records of
// a partition must come in the source's order (a resent run may repeat
// some, starting again from an earlier one).
func mirroredCounts(t *testing.T, target *testBroker, topic string, n int, within time.Duration) map[int]int {
	t.Helper()
	var counts map[int]int
	checkFor(t, within, 200*time.Millisecond, func() error {
		counts = make(map[int]int)
		for p, recs := range readAll(t, target, topic) {
			for _, r := range recs {
				i, err := strconv.Atoi(string(r.Value))
				if err != nil || i%mirrorPartitions != int(p) {
					return fmt.Errorf("target %s/%d holds %q at offset %d: not a record of that source partition", topic, p, r.Value, r.Offset)
				}
				counts[i]++
			}
		}
		for i := range n {
			if counts[i] == 0 {
				return fmt.Errorf("record %d is not on the target (%d of %d distinct records are)", i, len(counts), n)
			}
		}
		return nil
	})
	return counts
}

// waitMirrored waits until the mirror has copied records to topic on the
// target (readAll names every partition of the topic, records or not).
func waitMirrored(t *testing.T, target *testBroker, topic string) {
	t.Helper()
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		copied := 0
		for _, recs := range readAll(t, target, topic) {
			copied += len(recs)
		}
		if copied == 0 {
			return fmt.Errorf("nothing mirrored yet")
		}
		return nil
	})
}

func TestMirrorKilledMidRunAndStartedAgainLosesNoRecord(t *testing.T) {
	skipOnKfake(t, "runs samsa mirror as a process")
	source, target := startBroker(t), startBroker(t)
	createTopic(t, source.admin(t), "stream", mirrorPartitions, nil)
	const n = 3000
	waitProduced := produceInBackground(t, source, "stream", n)

	mirror := startMirrorProcess(t, source, target, "stream")
	waitMirrored(t, target, "stream")
	mirror.kill(t)

	// The killed mirror is still a member of the group on the source
	// until its session times out (kgo's default session.timeout.ms,
	// 45 s, as Kafka's consumer): the partitions it held wait for that,
	// then go to the new mirror.
	mirror = startMirrorProcess(t, source, target, "stream")
	waitProduced()
	counts := mirroredCounts(t, target, "stream", n, 45*time.Second+30*time.Second)
	mirror.stop(t)
	dups := 0
	for _, c := range counts {
		dups += c - 1
	}
	t.Logf("%d records mirrored, %d of them sent again after the kill", n, dups)
}

func TestMirrorStoppedBySIGTERMMidRunCopiesEachRecordExactlyOnce(t *testing.T) {
	skipOnKfake(t, "runs samsa mirror as a process")
	source, target := startBroker(t), startBroker(t)
	createTopic(t, source.admin(t), "stream", mirrorPartitions, nil)
	const n = 3000
	waitProduced := produceInBackground(t, source, "stream", n)

	mirror := startMirrorProcess(t, source, target, "stream")
	waitMirrored(t, target, "stream")
	mirror.stop(t) // while records still flow in

	mirror = startMirrorProcess(t, source, target, "stream")
	waitProduced()
	counts := mirroredCounts(t, target, "stream", n, 30*time.Second)
	mirror.stop(t)
	for i := range n {
		if counts[i] != 1 {
			t.Errorf("record %d is %d times on the target, want exactly once", i, counts[i])
		}
	}
}
