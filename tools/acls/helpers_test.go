package acls_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/tools/acls"
	"github.com/samsa-io/samsa/tools/cli"
)

// waitLong bounds every wait of these tests.
const waitLong = 30 * time.Second

// securedBroker starts a broker of the test's own with Kafka's ACL
// authorizer. Clients of a PLAINTEXT listener are User:ANONYMOUS, made a
// super user so that the test may manage ACLs.
func securedBroker(t *testing.T) []string {
	t.Helper()
	return startBroker(t, map[string]string{
		"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
		"super.users":           "User:ANONYMOUS",
	})
}

// startBroker starts one broker with overrides, closed when the test
// ends, and returns its address list.
func startBroker(t *testing.T, overrides map[string]string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	c, err := embedded.Start(ctx, embedded.Config{Overrides: overrides})
	if err != nil {
		t.Fatalf("start a broker: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.Seeds()
}

// result is what a run of samsa showed its user.
type result struct {
	stdout, stderr string
	code           int
}

// samsa runs `samsa --bootstrap-server SEEDS ARGS...` in process, as the
// binary does, with the acls command registered.
func samsa(t *testing.T, seeds []string, args ...string) result {
	t.Helper()
	env := cli.NewEnv()
	var stdout, stderr bytes.Buffer
	env.Stdin, env.Stdout, env.Stderr = strings.NewReader(""), &stdout, &stderr
	root := cli.NewRoot(env, "samsa", "")
	root.AddCommand(acls.NewCommand(env))
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
// first line is want; it returns stdout.
func fails(t *testing.T, seeds []string, code int, want string, args ...string) string {
	t.Helper()
	r := samsa(t, seeds, args...)
	first, _, _ := strings.Cut(r.stderr, "\n")
	if r.code != code || first != want {
		t.Errorf("samsa %s: exit %d, stderr %q; want exit %d and %q", strings.Join(args, " "), r.code, r.stderr, code, want)
	}
	return r.stdout
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

// header is the table's header row, squeezed as lines squeezes.
const header = "PRINCIPAL HOST OPERATION PERMISSION RESOURCE-TYPE NAME PATTERN-TYPE"

// clusterACLs is every ACL the cluster holds, as rows of the table
// ("User:alice * READ ALLOW TOPIC orders LITERAL"), sorted, read with
// kadm directly, not through the command under test.
func clusterACLs(t *testing.T, seeds []string) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	b := kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternAny).Operations().
		Allow().AllowHosts().Deny().DenyHosts()
	results, err := kadm.NewClient(cl).DescribeACLs(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("describe ACLs: %v", r.Err)
		}
		for _, d := range r.Described {
			rows = append(rows, strings.Join([]string{d.Principal, d.Host, d.Operation.String(), d.Permission.String(), d.Type.String(), d.Name, d.Pattern.String()}, " "))
		}
	}
	slices.Sort(rows)
	return rows
}
