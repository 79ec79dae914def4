// Package cli is what Samsa's operator commands share: the connection
// flags Kafka's tools use (--bootstrap-server, --command-config), the
// output format (readable tables, or -o json for scripts), and one way to
// fail (a one-line error and a non-zero exit status).
//
// Each group of commands lives in its own package under tools/ and builds
// its cobra commands from an *Env; tools/samsa assembles them.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/samsa-io/samsa/broker/config"
)

// DefaultBootstrapServer is where the commands look for a broker when
// neither --bootstrap-server nor $SAMSA_BOOTSTRAP_SERVER says: where
// `make run` starts one.
const DefaultBootstrapServer = "localhost:9092"

// BootstrapEnv is the environment variable that sets --bootstrap-server's
// default.
const BootstrapEnv = "SAMSA_BOOTSTRAP_SERVER"

// Output formats for -o.
const (
	OutputTable = "table"
	OutputJSON  = "json"
)

// Env is a command's connection to the world: its streams, and the
// global flags every command that talks to a cluster takes.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	// BootstrapServer is --bootstrap-server: host:port pairs, comma
	// separated (a flag given several times adds to the list).
	BootstrapServer []string
	// Output is -o/--output: OutputTable or OutputJSON.
	Output string
	// Timeout is --timeout: how long a command waits for the cluster to
	// answer one step before it gives up (0: no limit).
	Timeout time.Duration

	// CommandConfig is --command-config: a client properties file (TLS
	// and SASL settings, as Kafka's tools take them).
	CommandConfig string

	// ClientOpts are added to every client the commands create (tests
	// use them for logging, for example).
	ClientOpts []kgo.Opt
}

// NewEnv is an Env on the process's standard streams.
func NewEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

// AddFlags adds the global flags to root, as persistent flags every
// subcommand inherits.
func (e *Env) AddFlags(root *cobra.Command) {
	def := []string{DefaultBootstrapServer}
	if v := os.Getenv(BootstrapEnv); v != "" {
		def = splitList(v)
	}
	f := root.PersistentFlags()
	f.StringSliceVar(&e.BootstrapServer, "bootstrap-server", def,
		"the brokers to connect to, `host:port[,...]`; $"+BootstrapEnv+" sets the default")
	f.StringVarP(&e.Output, "output", "o", OutputTable, "output format: table or json")
	f.DurationVar(&e.Timeout, "timeout", 30*time.Second, "how long to wait for the cluster to answer (0: no limit)")
	f.StringVar(&e.CommandConfig, "command-config", "", "a client properties `file`: security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.*, ssl.keystore.* (as Kafka's tools take it)")
}

// Validate checks the global flags; the root command calls it before any
// subcommand runs.
func (e *Env) Validate() error {
	switch e.Output {
	case OutputTable, OutputJSON:
	default:
		return Usagef("unknown output format %q: want table or json", e.Output)
	}
	var seeds []string
	for _, s := range e.BootstrapServer {
		seeds = append(seeds, splitList(s)...)
	}
	if len(seeds) == 0 {
		return Usagef("--bootstrap-server is empty")
	}
	e.BootstrapServer = seeds
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Context is ctx bounded by --timeout (when set).
func (e *Env) Context(ctx context.Context) (context.Context, context.CancelFunc) {
	if e.Timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, e.Timeout)
}

// NewClient connects a franz-go client to --bootstrap-server, with the
// Env's options and then extra, and checks that a broker answers: an
// unreachable cluster is one clear error here, not a hang in the first
// request.
func (e *Env) NewClient(ctx context.Context, extra ...kgo.Opt) (*kgo.Client, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(e.BootstrapServer...)}
	if e.CommandConfig != "" {
		props, err := config.ReadProperties(e.CommandConfig)
		if err != nil {
			return nil, UsageError{Err: fmt.Errorf("--command-config: %w", err)}
		}
		security, err := CommandConfigOpts(props)
		if err != nil {
			return nil, UsageError{Err: fmt.Errorf("--command-config %s: %w", e.CommandConfig, err)}
		}
		opts = append(opts, security...)
	}
	opts = append(opts, e.ClientOpts...)
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	pctx, cancel := e.Context(ctx)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("cannot reach a broker at %s: %w", strings.Join(e.BootstrapServer, ","), err)
	}
	return cl, nil
}

// NewAdmin is NewClient wrapped in kadm; closing the admin client closes
// the client under it.
func (e *Env) NewAdmin(ctx context.Context, extra ...kgo.Opt) (*kadm.Client, error) {
	cl, err := e.NewClient(ctx, extra...)
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	if e.Timeout > 0 {
		adm.SetTimeoutMillis(int32(e.Timeout / time.Millisecond))
	}
	return adm, nil
}

// JSON reports whether -o json was asked for.
func (e *Env) JSON() bool { return e.Output == OutputJSON }

// UsageError is a bad command line: the command did not run, and the
// process exits with status 2.
type UsageError struct{ Err error }

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// Usagef is a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// Args wraps a cobra argument check so that its failure is a UsageError.
func Args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return UsageError{err}
		}
		return nil
	}
}

// ExitCode is the process status for a command's error: 0 for none, 2 for
// a UsageError, 1 otherwise.
func ExitCode(err error) int {
	var u UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// OneLine flattens an error's message onto one line (joined errors and
// multi-line messages are separated by "; ").
func OneLine(err error) string {
	lines := strings.FieldsFunc(err.Error(), func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
