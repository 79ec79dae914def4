// Command samsa is Samsa's one binary: the broker and the tools around it.
//
//	samsa broker [server.properties] [--config FILE] [--override key=value ...] [-c key=value ...]
//	samsa bench --brokers HOST:PORT ...
//	samsa config-table
//	samsa version
//	samsa help [command]
//	samsa completion bash|zsh|fish|powershell
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/tools/bench"
	"github.com/samsa-io/samsa/tools/cli"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs a command line and returns the exit code: 0 for success, 1 for
// a failure while running, 2 for a bad command line or configuration.
func run(args []string, stdout, stderr io.Writer) int {
	env := cli.NewEnv()
	env.Stdout, env.Stderr = stdout, stderr
	return execute(newRootCommand(env), args, stdout, stderr)
}

// execute runs root on args. An error before a command's RunE (an unknown
// command or flag, wrong arguments) is a usage error, status 2; an error
// the command returns is status 1 unless it is a cli.UsageError. Either is
// printed as one line, prefixed by the command's path.
func execute(root *cobra.Command, args []string, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(os.Stdin)
	ran := markRuns(root)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	code := cli.ExitCode(err)
	if !*ran {
		code = 2
	}
	var exit exitStatus
	if errors.As(err, &exit) {
		return int(exit)
	}
	fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), cli.OneLine(err))
	if code == 2 && !*ran {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// exitStatus is a command that already reported its failure (the broker
// logs its own) and wants only this exit status.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// markRuns wraps every command's RunE so that the returned flag says
// whether a command got as far as running.
func markRuns(root *cobra.Command) *bool {
	ran := new(bool)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				*ran = true
				return run(cmd, args)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return ran
}

func newRootCommand(env *cli.Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "samsa",
		Short: "Samsa is a Kafka-compatible broker",
		Long: `Samsa is a Kafka-compatible broker, and the tools to run it.

  samsa broker [server.properties] [flags]   run a broker (samsa broker -h for its flags)

The other commands work against Samsa or any Kafka cluster, reached
through --bootstrap-server (default: $` + cli.BootstrapEnv + `, else ` + cli.DefaultBootstrapServer + `).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// No command: the usage, and status 2.
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			cmd.Usage()
			return exitStatus(2)
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return env.Validate()
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = false
	env.AddFlags(root)

	root.AddCommand(
		passThrough("broker [server.properties] [flags]", "Run a broker", func(args []string) int {
			return runBroker(args, env.Stdout, env.Stderr)
		}),
		passThrough("bench [flags]", "Measure produce and fetch throughput against a broker", bench.Main),
		&cobra.Command{
			Use:   "config-table",
			Short: "Print the supported configuration keys as Markdown",
			Args:  cli.Args(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, args []string) error {
				_, err := fmt.Fprint(env.Stdout, config.MarkdownTable())
				return err
			},
		},
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Args:  cli.Args(cobra.NoArgs),
			RunE: func(cmd *cobra.Command, args []string) error {
				_, err := fmt.Fprintf(env.Stdout, "samsa %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
				return err
			},
		},
	)
	return root
}

// passThrough is a command that parses its own flags (the broker's are
// Kafka's -c key=value style) and returns its exit status.
func passThrough(use, short string, main func(args []string) int) *cobra.Command {
	return &cobra.Command{
		Use:                use,
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := main(args); code != 0 {
				return exitStatus(code)
			}
			return nil
		},
	}
}

// buildVersion is the -ldflags version, else the module version of an
// installed binary ("go install ...@v1.2.3"), else "dev".
func buildVersion() string {
	if version != "dev" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return version
}
