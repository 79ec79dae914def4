package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// NewRoot is a root command that takes the global flags into env and
// checks them before any subcommand runs. Commands print their own
// errors through Execute, so cobra's are silenced.
func NewRoot(env *Env, use, short string) *cobra.Command {
	root := &cobra.Command{
		Use:           use,
		Short:         short,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return env.Validate()
		},
	}
	env.AddFlags(root)
	return root
}

// ExitStatus is the error of a command that already reported its failure
// (the broker logs its own) and wants only this exit status.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Execute runs root on args under ctx (a command's cmd.Context(), which
// a caller cancels on SIGINT or SIGTERM) and returns the exit status. An
// error before a command's RunE (an unknown command or flag, wrong
// arguments) is a usage error, status 2; an error the command returns is
// status 1 unless it is a UsageError or an ExitStatus. Errors are printed
// to stderr as one line, prefixed by the command's path.
func Execute(ctx context.Context, root *cobra.Command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ran := markRuns(root)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	var exit ExitStatus
	if errors.As(err, &exit) {
		return int(exit)
	}
	code := ExitCode(err)
	if !*ran {
		code = 2
	}
	fmt.Fprintf(stderr, "%s: %s\n", cmd.CommandPath(), OneLine(err))
	if code == 2 {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

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
