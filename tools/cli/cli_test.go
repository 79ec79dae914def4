package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// run executes a root command with one subcommand, "do", whose RunE is
// given, and returns the exit status and both streams.
func run(t *testing.T, do func(env *Env, cmd *cobra.Command, args []string) error, args ...string) (int, string, string) {
	t.Helper()
	env := NewEnv()
	root := NewRoot(env, "samsa", "test")
	root.AddCommand(&cobra.Command{
		Use:  "do",
		Args: Args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return do(env, cmd, args) },
	})
	var out, errOut bytes.Buffer
	env.Stdout, env.Stderr = &out, &errOut
	code := Execute(context.Background(), root, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func ok(*Env, *cobra.Command, []string) error { return nil }

func TestExitStatuses(t *testing.T) {
	cases := []struct {
		name     string
		do       func(*Env, *cobra.Command, []string) error
		args     []string
		code     int
		stderr   string
		noStderr bool
	}{
		{"success", ok, []string{"do"}, 0, "", true},
		{"a failure while running is status 1, on one line", func(*Env, *cobra.Command, []string) error {
			return errors.Join(errors.New("first"), errors.New("second"))
		}, []string{"do"}, 1, "samsa do: first; second\n", false},
		{"a usage error from the command is status 2", func(*Env, *cobra.Command, []string) error {
			return Usagef("--partitions must be positive")
		}, []string{"do"}, 2, "samsa do: --partitions must be positive\nRun 'samsa do --help' for usage.\n", false},
		{"an exit status is returned as it is, nothing printed", func(*Env, *cobra.Command, []string) error {
			return ExitStatus(3)
		}, []string{"do"}, 3, "", true},
		{"an unknown flag is status 2", ok, []string{"do", "--frobnicate"}, 2, "unknown flag: --frobnicate", false},
		{"too many arguments is status 2", ok, []string{"do", "a", "b"}, 2, "accepts at most 1 arg(s), received 2", false},
		{"an unknown command is status 2", ok, []string{"frobnicate"}, 2, `unknown command "frobnicate" for "samsa"`, false},
		{"an unknown output format is status 2", ok, []string{"do", "-o", "xml"}, 2, `unknown output format "xml"`, false},
		{"an empty --bootstrap-server is status 2", ok, []string{"do", "--bootstrap-server", ","}, 2, "--bootstrap-server is empty", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := run(t, c.do, c.args...)
			if code != c.code {
				t.Errorf("exit status %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if c.noStderr && stderr != "" || !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q, want it to hold %q", stderr, c.stderr)
			}
		})
	}
}

func TestBootstrapServerListsAreSplitAndMerged(t *testing.T) {
	var got []string
	code, _, stderr := run(t, func(env *Env, _ *cobra.Command, _ []string) error {
		got = env.BootstrapServer
		return nil
	}, "do", "--bootstrap-server", "a:1, b:2", "--bootstrap-server", "c:3")
	if code != 0 || strings.Join(got, " ") != "a:1 b:2 c:3" {
		t.Errorf("status %d (%s), seeds %q, want a:1 b:2 c:3", code, stderr, got)
	}
}

func TestBootstrapServerDefaultComesFromTheEnvironment(t *testing.T) {
	t.Setenv(BootstrapEnv, "h1:9092,h2:9092")
	var got []string
	run(t, func(env *Env, _ *cobra.Command, _ []string) error {
		got = env.BootstrapServer
		return nil
	}, "do")
	if strings.Join(got, " ") != "h1:9092 h2:9092" {
		t.Errorf("seeds %q, want h1:9092 h2:9092", got)
	}
}

// A cluster nobody listens at is one clear error, at once.
func TestNewClientReportsAnUnreachableCluster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	code, _, stderr := run(t, func(env *Env, cmd *cobra.Command, _ []string) error {
		cl, err := env.NewClient(cmd.Context())
		if err == nil {
			cl.Close()
		}
		return err
	}, "do", "--bootstrap-server", addr)
	if code != 1 || !strings.HasPrefix(stderr, "samsa do: cannot reach a broker at "+addr+": ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("status %d, stderr %q: want 1 and one line naming %s", code, stderr, addr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to report a refused connection", d)
	}
}

func TestTableAlignsColumnsAndKeepsRowsOnOneLine(t *testing.T) {
	var b bytes.Buffer
	tab := NewTable(&b, "TOPIC", "PARTITIONS")
	tab.Row("orders", 3)
	tab.Row("a\tb\nc", 12)
	if err := tab.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "TOPIC   PARTITIONS\norders  3\na b c   12\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
