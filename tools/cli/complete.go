package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completionTimeout bounds how long a shell waits for completions that
// ask the cluster: a <TAB> that hangs is worse than one that offers
// nothing.
const completionTimeout = 3 * time.Second

// CompletionFunc is what cobra calls to complete a flag's value or a
// positional argument (a ValidArgsFunction, or RegisterFlagCompletionFunc's
// function).
type CompletionFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// CompleteTopics completes topic names, listed from the cluster that
// --bootstrap-server names on the command line being completed (internal
// topics included, as a user may ask for __consumer_offsets). Names
// already given as arguments are not offered again. An unreachable
// cluster completes nothing; it never offers file names.
func CompleteTopics(env *Env) CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		names, err := env.listTopics(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		return filterCompletions(names, args, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// CompleteTopicsOnce is CompleteTopics for a command that takes a single
// topic as its argument: once one is given, nothing more is offered.
func CompleteTopicsOnce(env *Env) CompletionFunc {
	topics := CompleteTopics(env)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return topics(cmd, args, toComplete)
	}
}

// filterCompletions keeps the candidates that start with toComplete and
// are not among given, in sorted order.
func filterCompletions(candidates, given []string, toComplete string) []string {
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, toComplete) && !slices.Contains(given, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// listTopics lists the cluster's topic names, bounded by
// completionTimeout. Completion runs no PersistentPreRunE, so the global
// flags are checked here.
func (e *Env) listTopics(ctx context.Context) ([]string, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	adm, err := e.NewAdmin(ctx)
	if err != nil {
		return nil, err
	}
	defer adm.Close()
	topics, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return nil, err
	}
	return topics.Names(), nil
}
