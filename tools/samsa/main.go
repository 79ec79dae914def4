// Command samsa is Samsa's one binary: the broker and the tools around it.
//
//	samsa broker [server.properties] [--config FILE] [--override key=value ...] [-c key=value ...]
//	samsa perf produce|consume|end-to-end [flags]
//	samsa config-table
//	samsa version
//	samsa help [command]
//	samsa completion bash|zsh|fish|powershell
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/tools/acls"
	"github.com/samsa-io/samsa/tools/admin"
	"github.com/samsa-io/samsa/tools/cli"
	"github.com/samsa-io/samsa/tools/console"
	"github.com/samsa-io/samsa/tools/groups"
	"github.com/samsa-io/samsa/tools/mirror"
	"github.com/samsa-io/samsa/tools/perf"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs a command line and returns the exit code: 0 for success, 1 for
// a failure while running, 2 for a bad command line or configuration.
// SIGINT and SIGTERM cancel the command's context: a consumer stops and
// commits, a mirror stops cleanly.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := cli.NewEnv()
	env.Stdout, env.Stderr = stdout, stderr
	return cli.Execute(ctx, newRootCommand(env), args, os.Stdin, stdout, stderr)
}

func newRootCommand(env *cli.Env) *cobra.Command {
	root := cli.NewRoot(env, "samsa", "Samsa is a Kafka-compatible broker")
	root.Long = `Samsa is a Kafka-compatible broker, and the tools to run it.

  samsa broker [server.properties] [flags]   run a broker (samsa broker -h for its flags)

The other commands work against Samsa or any Kafka cluster, reached
through --bootstrap-server (default: $` + cli.BootstrapEnv + `, else ` + cli.DefaultBootstrapServer + `).`
	// No command: the usage, and status 2.
	root.RunE = func(cmd *cobra.Command, args []string) error {
		cmd.SetOut(cmd.ErrOrStderr())
		cmd.Usage()
		return cli.ExitStatus(2)
	}

	root.AddCommand(
		passThrough("broker [server.properties] [flags]", "Run a broker", func(args []string) int {
			return runBroker(args, env.Stdout, env.Stderr)
		}),
		admin.NewTopicsCommand(env), admin.NewConfigsCommand(env), admin.NewClusterCommand(env),
		console.NewProduceCommand(env),
		console.NewConsumeCommand(env),
		groups.NewCommand(env),
		acls.NewCommand(env),
		mirror.NewCommand(env),
		perf.NewCommand(env),
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
				return cli.ExitStatus(code)
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
