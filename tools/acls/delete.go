package acls

// samsa acls delete: Kafka's --remove. It needs a resource, as Kafka's
// tool does, and deletes the ACLs on it that the other flags select:
// without --allow-principal or --deny-principal, every ACL on the
// resource; with them, those principals' ACLs (from the given hosts,
// else any host) for the given operations (else any operation).
//
// Kafka's tool asks "Are you sure you want to remove ACLs ...?" before it
// deletes; a script cannot answer, so this command lists what would be
// deleted, deletes nothing and exits 2 unless --force is given.

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-io/samsa/tools/cli"
)

// DeletedDoc is `acls delete -o json`: the ACLs the filter matched, and
// those the cluster deleted ([] without --force).
type DeletedDoc struct {
	Matched []ACLDoc `json:"matched"`
	Deleted []ACLDoc `json:"deleted"`
}

func newDeleteCommand(env *cli.Env) *cobra.Command {
	var (
		res        resourceFlags
		principals principalFlags
		operations []string
		force      bool
	)
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete the ACLs on some resources (with --force)",
		Example: `  samsa acls delete --topic orders                        # shows what would be deleted
  samsa acls delete --topic orders --force
  samsa acls delete --allow-principal User:alice --operation Read --topic orders --force`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := principals.check(); err != nil {
				return err
			}
			if !res.given() {
				return cli.Usagef("name a resource: --topic, --group, --cluster, --transactional-id or --delegation-token")
			}
			pattern, err := res.pattern(kadm.ACLPatternLiteral, kadm.ACLPatternAny, kadm.ACLPatternMatch, kadm.ACLPatternLiteral, kadm.ACLPatternPrefixed)
			if err != nil {
				return err
			}
			ops, err := parseOperations(operations)
			if err != nil {
				return err
			}
			b := res.apply(kadm.NewACLs()).ResourcePatternType(pattern).Operations(ops...)
			if len(principals.allow) == 0 && len(principals.deny) == 0 {
				b.Allow().AllowHosts().Deny().DenyHosts()
			} else {
				// A host list left empty is any host (AllowHosts() with
				// no names); a principal list left empty selects nothing.
				b.MaybeAllow(principals.allow...).AllowHosts(principals.allowHosts...).
					MaybeDeny(principals.deny...).DenyHosts(principals.denyHosts...)
			}

			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			adm, err := env.NewAdmin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			results, err := adm.DescribeACLs(ctx, b)
			if err != nil {
				return refused(err, "")
			}
			matched, err := described(results)
			if err != nil {
				return err
			}
			if len(matched) == 0 {
				if env.JSON() {
					return cli.PrintJSON(env.Stdout, DeletedDoc{Matched: []ACLDoc{}, Deleted: []ACLDoc{}})
				}
				_, err := fmt.Fprintln(env.Stdout, "No ACLs match; nothing deleted.")
				return err
			}
			if !force {
				if err := printDeleted(env, matched, nil, false); err != nil {
					return err
				}
				// Exit 2 as a bad command line does, without its "--help"
				// hint: the command line was fine, only not confirmed.
				fmt.Fprintf(env.Stderr, "%s: %s match (listed on stdout); nothing deleted without --force\n", cmd.CommandPath(), countACLs(len(matched)))
				return cli.ExitStatus(2)
			}

			dels, err := adm.DeleteACLs(ctx, b)
			if err != nil {
				return refused(err, "")
			}
			var deleted []binding
			var errs []error
			for _, r := range dels {
				if r.Err != nil {
					errs = append(errs, refused(r.Err, r.ErrMessage))
					continue
				}
				for _, d := range r.Deleted {
					if d.Err != nil {
						errs = append(errs, refused(d.Err, d.ErrMessage))
						continue
					}
					deleted = append(deleted, binding{d.Principal, d.Host, d.Operation, d.Permission, d.Type, d.Name, d.Pattern})
				}
			}
			if err := printDeleted(env, matched, sortedUnique(deleted), true); err != nil {
				return err
			}
			return firstRefusal(errs)
		},
	}
	f := cmd.Flags()
	res.addFlags(f, "delete ACLs of this pattern type: ANY, MATCH (every ACL that applies to the named resources), LITERAL or PREFIXED (default LITERAL)")
	principals.addFlags(f, "default: any host")
	f.StringArrayVar(&operations, "operation", nil, "delete only ACLs for this operation (repeatable; default any): "+operationNames)
	f.BoolVar(&force, "force", false, "delete; without it the command lists what would be deleted and exits 2")
	return cmd
}

// printDeleted prints matched as the ACLs that would be deleted (without
// --force), or deleted as those the cluster deleted.
func printDeleted(env *cli.Env, matched, deleted []binding, forced bool) error {
	if env.JSON() {
		return cli.PrintJSON(env.Stdout, DeletedDoc{Matched: docs(matched), Deleted: docs(deleted)})
	}
	if !forced {
		if _, err := fmt.Fprintf(env.Stdout, "Would delete %s:\n", countACLs(len(matched))); err != nil {
			return err
		}
		return printTable(env, matched)
	}
	if _, err := fmt.Fprintf(env.Stdout, "Deleted %s:\n", countACLs(len(deleted))); err != nil {
		return err
	}
	return printTable(env, deleted)
}

// countACLs is "1 ACL" or "n ACLs".
func countACLs(n int) string {
	if n == 1 {
		return "1 ACL"
	}
	return fmt.Sprintf("%d ACLs", n)
}
