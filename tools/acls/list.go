package acls

// samsa acls list: Kafka's --list. Without a resource it lists every ACL
// of the cluster; with resources, the ACLs on them whose pattern type is
// --resource-pattern-type (LITERAL by default, as Kafka's tool: MATCH
// lists every ACL that applies to the named resource, wildcard and
// prefixed ones included). --principal keeps the ACLs of those
// principals.

import (
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-io/samsa/tools/cli"
)

// ListDoc is `acls list -o json`.
type ListDoc struct {
	ACLs []ACLDoc `json:"acls"`
}

func newListCommand(env *cli.Env) *cobra.Command {
	var (
		res        resourceFlags
		principals []string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List ACLs, all of them or those on some resources",
		Example: `  samsa acls list
  samsa acls list --topic orders --resource-pattern-type MATCH
  samsa acls list --principal User:alice -o json`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkPrincipals("principal", principals); err != nil {
				return err
			}
			b := kadm.NewACLs().Operations()
			if res.given() {
				p, err := res.pattern(kadm.ACLPatternLiteral, kadm.ACLPatternAny, kadm.ACLPatternMatch, kadm.ACLPatternLiteral, kadm.ACLPatternPrefixed)
				if err != nil {
					return err
				}
				res.apply(b).ResourcePatternType(p)
			} else {
				p, err := res.pattern(kadm.ACLPatternAny, kadm.ACLPatternAny, kadm.ACLPatternMatch, kadm.ACLPatternLiteral, kadm.ACLPatternPrefixed)
				if err != nil {
					return err
				}
				b.AnyResource().ResourcePatternType(p)
			}
			// Allow and Deny with no names select any principal; with
			// names, those principals from any host.
			b.Allow(principals...).AllowHosts().Deny(principals...).DenyHosts()

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
			bs, err := described(results)
			if err != nil {
				return err
			}
			if env.JSON() {
				return cli.PrintJSON(env.Stdout, ListDoc{ACLs: docs(bs)})
			}
			return printTable(env, bs)
		},
	}
	f := cmd.Flags()
	res.addFlags(f, "list ACLs of this pattern type: ANY, MATCH (every ACL that applies to the named resources), LITERAL or PREFIXED (default: LITERAL with a resource, ANY without)")
	f.StringArrayVar(&principals, "principal", nil, "list only this principal's ACLs, `Type:name` (repeatable)")
	return cmd
}
