package compattests

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// The samsa binary's produce and consume, as a shell runs them: lines on
// a pipe in, records out, and SIGINT for Ctrl-C.

func TestSamsaProduceThenConsumeWithAGroupStoppedBySIGINT(t *testing.T) {
	skipOnKfake(t, "runs the samsa binary's tools")
	b := startBroker(t)
	adm := b.admin(t)
	createTopic(t, adm, "console-tools", 2, nil)
	bootstrap := "--bootstrap-server=" + b.Addr()

	produce := exec.Command(samsaBinary, "produce", bootstrap, "--topic", "console-tools", "--key-separator", ":")
	produce.Stdin = strings.NewReader("a:1\nb:2\nc:3\nd:4\n")
	if out, err := produce.CombinedOutput(); err != nil || len(out) != 0 {
		t.Fatalf("samsa produce: %v, output %q; want success and no output", err, out)
	}

	var stdout, stderr lockedBuffer
	consume := exec.Command(samsaBinary, "consume", bootstrap, "--topic", "console-tools", "--group", "console-tools-g",
		"--from-beginning", "--format", `%k=%s\n`)
	consume.Stdout, consume.Stderr = &stdout, &stderr
	if err := consume.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- consume.Wait() }()
	defer func() {
		consume.Process.Kill() // by its PID; an error once it has exited

	}()
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if n := bytes.Count(stdout.Bytes(), []byte("\n")); n != 4 {
			return errorf("consumer printed %d of 4 records", n)
		}
		return nil
	})
	if err := consume.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("samsa consume after SIGINT: %v, stderr %q; want exit status 0", err, stderr.Bytes())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("samsa consume did not exit within 20 s of SIGINT")
	}
	printed := string(stdout.Bytes())
	for _, want := range []string{"a=1\n", "b=2\n", "c=3\n", "d=4\n"} {
		if !strings.Contains(printed, want) {
			t.Errorf("stdout %q; want a line %q", printed, want)
		}
	}
	if got := string(stderr.Bytes()); got != "Processed a total of 4 messages\n" {
		t.Errorf("stderr %q; want Kafka's count line", got)
	}
	offsets, err := adm.FetchOffsets(testContext(t, 10*time.Second), "console-tools-g")
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offsets.Each(func(o kadm.OffsetResponse) { committed += o.At })
	if committed != 4 {
		t.Errorf("the group committed offsets summing to %d over the partitions; want 4 (every printed record)", committed)
	}
}
