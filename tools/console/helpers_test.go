package console_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/tools/cli"
	"github.com/samsa-io/samsa/tools/console"
)

// startBroker is one embedded broker for a test, with its overrides. A
// broker per test keeps tests apart (topics, groups) and costs little.
func startBroker(t *testing.T, overrides map[string]string) *embedded.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cluster, err := embedded.Start(ctx, embedded.Config{Overrides: overrides})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { cluster.Close() })
	return cluster
}

// syncBuffer is a bytes.Buffer a command writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is what a user sees of one command run.
type result struct {
	code           int
	stdout, stderr string
}

// samsa runs `samsa ARGS...` in-process against cluster, with stdin, as
// the binary would, under ctx (cancel it for Ctrl-C); stdout and stderr
// may be read while it runs.
func samsaCtx(ctx context.Context, cluster *embedded.Cluster, stdin io.Reader, stdout, stderr *syncBuffer, args ...string) int {
	return samsaEnv(ctx, cluster, &cli.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}, args...)
}

// samsaEnv is samsaCtx with an Env of the test's (its ClientOpts, for
// hooks into the command's client).
func samsaEnv(ctx context.Context, cluster *embedded.Cluster, env *cli.Env, args ...string) int {
	stdout, stderr := env.Stdout, env.Stderr
	root := cli.NewRoot(env, "samsa", "")
	root.AddCommand(console.NewProduceCommand(env), console.NewConsumeCommand(env))
	args = append([]string{"--bootstrap-server", strings.Join(cluster.Seeds(), ","), "--timeout", "10s"}, args...)
	return cli.Execute(ctx, root, args, env.Stdin, stdout, stderr)
}

// samsa runs a command to its end (at most 30 s).
func samsa(t *testing.T, cluster *embedded.Cluster, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code := samsaCtx(ctx, cluster, strings.NewReader(stdin), &stdout, &stderr, args...)
	if ctx.Err() != nil {
		t.Fatalf("samsa %s: did not end within 30 s; stderr: %s", strings.Join(args, " "), stderr.String())
	}
	return result{code, stdout.String(), stderr.String()}
}

// mustSucceed runs a command and fails the test unless it exits 0.
func mustSucceed(t *testing.T, cluster *embedded.Cluster, stdin string, args ...string) result {
	t.Helper()
	res := samsa(t, cluster, stdin, args...)
	if res.code != 0 {
		t.Fatalf("samsa %s: exit status %d, stderr:\n%s", strings.Join(args, " "), res.code, res.stderr)
	}
	return res
}

func newClient(t *testing.T, cluster *embedded.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cluster.Seeds()...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// createTopic creates a topic with partitions and configs.
func createTopic(t *testing.T, cluster *embedded.Cluster, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(newClient(t, cluster))
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// readAll reads every record of topic's partitions from the start, as a
// plain kgo consumer sees them, waiting for want records.
func readAll(t *testing.T, cluster *embedded.Cluster, topic string, want int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := newClient(t, cluster, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var out []*kgo.Record
	for len(out) < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: got %d of %d records", topic, len(out), want)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// checkFor polls fn until it holds or wait passes.
func checkFor(t *testing.T, wait time.Duration, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
