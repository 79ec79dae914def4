package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/tools/admin"
	"github.com/samsa-io/samsa/tools/cli"
)

// waitLong bounds every wait of these tests.
const waitLong = 30 * time.Second

// oneBroker starts a broker of the test's own, closed when it ends, and
// returns its address list. A broker starts in tens of milliseconds, so
// no test sees another's topics, and -count=N repeats each test as it
// first ran.
func oneBroker(t *testing.T) []string {
	t.Helper()
	return startCluster(t, 1).Seeds()
}

// startCluster starts brokers of the test's own, closed when it ends.
func startCluster(t *testing.T, brokers int) *embedded.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	c, err := embedded.Start(ctx, embedded.Config{Brokers: brokers})
	if err != nil {
		t.Fatalf("start %d brokers: %v", brokers, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// result is what a run of samsa showed its user.
type result struct {
	stdout, stderr string
	code           int
}

// samsa runs `samsa --bootstrap-server SEEDS ARGS...` in process, as the
// binary does, with the admin commands registered.
func samsa(t *testing.T, seeds []string, args ...string) result {
	t.Helper()
	env := cli.NewEnv()
	var stdout, stderr bytes.Buffer
	env.Stdin, env.Stdout, env.Stderr = strings.NewReader(""), &stdout, &stderr
	root := cli.NewRoot(env, "samsa", "")
	root.AddCommand(admin.NewTopicsCommand(env), admin.NewConfigsCommand(env), admin.NewClusterCommand(env))
	full := append([]string{"--bootstrap-server", strings.Join(seeds, ","), "--timeout", "10s"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	code := cli.Execute(ctx, root, full, env.Stdin, &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// ok runs samsa and fails the test unless it exits 0.
func ok(t *testing.T, seeds []string, args ...string) string {
	t.Helper()
	r := samsa(t, seeds, args...)
	if r.code != 0 {
		t.Fatalf("samsa %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs samsa and checks that it exits with code and a stderr whose
// first line is want.
func fails(t *testing.T, seeds []string, code int, want string, args ...string) {
	t.Helper()
	r := samsa(t, seeds, args...)
	first, _, _ := strings.Cut(r.stderr, "\n")
	if r.code != code || first != want {
		t.Errorf("samsa %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
	if r.stdout != "" {
		t.Errorf("samsa %s: stdout %q, want nothing", strings.Join(args, " "), r.stdout)
	}
}

// decode parses a command's JSON output into v, strictly: a field the
// document does not define fails the test.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
}

// lines are out's lines with runs of spaces squeezed to one, so that
// table rows compare without their alignment.
func lines(out string) []string {
	var ls []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		ls = append(ls, strings.Join(strings.Fields(l), " "))
	}
	return ls
}

// adminClient is a kadm client on seeds, to check what a command did.
func adminClient(t *testing.T, seeds []string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// closedPort is an address nothing listens on: a port the kernel gave
// and that was closed again.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// checkFor calls fn every 20 ms until it returns nil, failing the test
// with fn's last error after waitLong.
func checkFor(t *testing.T, what string, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, waitLong, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
