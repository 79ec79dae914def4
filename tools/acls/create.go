package acls

// samsa acls create: Kafka's --add. Every named principal gets every
// operation on every named resource, from each of its hosts (* unless
// --allow-host or --deny-host say). --producer and --consumer stand for
// --operation and grant Kafka's sets instead (AclCommand's
// getProducerResourceFilterToAcls and getConsumerResourceFilterToAcls):
//
//	--producer                     WRITE, DESCRIBE, CREATE on each --topic
//	--producer --transactional-id  and WRITE, DESCRIBE on each transactional ID
//	--producer --idempotent        and IDEMPOTENT_WRITE on the cluster
//	--consumer                     READ, DESCRIBE on each --topic; READ on each --group
//
// Adding an ACL that exists already succeeds and leaves one copy.

import (
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-io/samsa/tools/cli"
)

// CreatedDoc is `acls create -o json`: the ACLs the cluster now has.
type CreatedDoc struct {
	Created []ACLDoc `json:"created"`
}

// createFlags are `acls create`'s flags.
type createFlags struct {
	res        resourceFlags
	principals principalFlags
	operations []string
	producer   bool
	consumer   bool
	idempotent bool
}

func newCreateCommand(env *cli.Env) *cobra.Command {
	var fl createFlags
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create ACLs",
		Example: `  samsa acls create --allow-principal User:alice --operation Read --operation Describe --topic orders
  samsa acls create --allow-principal User:app --producer --topic orders --idempotent
  samsa acls create --allow-principal User:billing --consumer --topic orders --group billing
  samsa acls create --deny-principal User:mallory --deny-host 10.0.0.7 --operation All --topic payments- --resource-pattern-type PREFIXED`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			builders, err := fl.builders(cmd.Flags().Changed("operation"))
			if err != nil {
				return err
			}
			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			adm, err := env.NewAdmin(ctx)
			if err != nil {
				return err
			}
			defer adm.Close()
			var created []binding
			var errs []error
			for _, b := range builders {
				results, err := adm.CreateACLs(ctx, b)
				if err != nil {
					return refused(err, "")
				}
				for _, r := range results {
					if r.Err != nil {
						errs = append(errs, refused(r.Err, r.ErrMessage))
						continue
					}
					created = append(created, binding{r.Principal, r.Host, r.Operation, r.Permission, r.Type, r.Name, r.Pattern})
				}
			}
			created = sortedUnique(created)
			// What was created is printed even when some creations were
			// refused, so that the user sees what the cluster now has.
			if len(created) > 0 || len(errs) == 0 {
				if env.JSON() {
					if err := cli.PrintJSON(env.Stdout, CreatedDoc{Created: docs(created)}); err != nil {
						return err
					}
				} else if err := printTable(env, created); err != nil {
					return err
				}
			}
			return firstRefusal(errs)
		},
	}
	f := cmd.Flags()
	fl.res.addFlags(f, "the pattern type of the ACLs: LITERAL (the exact name, or * for all) or PREFIXED (every name starting with it)")
	fl.principals.addFlags(f, "default: * for every host")
	f.StringArrayVar(&fl.operations, "operation", nil, "an operation to allow or deny (repeatable; default All): "+operationNames)
	f.BoolVar(&fl.producer, "producer", false, "grant what a producer needs: WRITE, DESCRIBE, CREATE on the topics (and WRITE, DESCRIBE on --transactional-id)")
	f.BoolVar(&fl.consumer, "consumer", false, "grant what a consumer needs: READ, DESCRIBE on the topics, READ on the group")
	f.BoolVar(&fl.idempotent, "idempotent", false, "with --producer: also IDEMPOTENT_WRITE on the cluster")
	return cmd
}

// builders checks the command line as Kafka's AclCommand does and
// returns one kadm builder per set of operations: one for plain
// --operation, several for --producer and --consumer, whose operations
// differ by resource type.
func (fl *createFlags) builders(operationGiven bool) ([]*kadm.ACLBuilder, error) {
	p := &fl.principals
	if err := p.check(); err != nil {
		return nil, err
	}
	if len(p.allow) == 0 && len(p.deny) == 0 {
		return nil, cli.Usagef("name a principal: --allow-principal or --deny-principal")
	}
	pattern, err := fl.res.pattern(kadm.ACLPatternLiteral, kadm.ACLPatternLiteral, kadm.ACLPatternPrefixed)
	if err != nil {
		return nil, err
	}
	if fl.idempotent && !fl.producer {
		return nil, cli.Usagef("--idempotent is only for --producer")
	}
	newBuilder := func(ops ...kadm.ACLOperation) *kadm.ACLBuilder {
		// MaybeAllow and MaybeDeny: no principals adds nothing (plain
		// Allow() would be a filter's "any principal").
		return kadm.NewACLs().MaybeAllow(p.allow...).MaybeAllowHosts(p.allowHosts...).
			MaybeDeny(p.deny...).MaybeDenyHosts(p.denyHosts...).
			ResourcePatternType(pattern).Operations(ops...)
	}

	if !fl.producer && !fl.consumer {
		if !fl.res.given() {
			return nil, cli.Usagef("name a resource: --topic, --group, --cluster, --transactional-id or --delegation-token")
		}
		ops := []kadm.ACLOperation{kadm.OpAll}
		if operationGiven {
			if ops, err = parseOperations(fl.operations); err != nil {
				return nil, err
			}
		}
		return []*kadm.ACLBuilder{fl.res.apply(newBuilder(ops...))}, nil
	}

	// Kafka's tool refuses what the shortcuts would ignore or contradict.
	switch {
	case operationGiven:
		return nil, cli.Usagef("--operation cannot be used with --producer or --consumer")
	case len(p.deny) > 0:
		return nil, cli.Usagef("--deny-principal cannot be used with --producer or --consumer")
	case len(fl.res.topics) == 0:
		return nil, cli.Usagef("--producer and --consumer need --topic")
	case fl.consumer && len(fl.res.groups) == 0:
		return nil, cli.Usagef("--consumer needs --group")
	case len(fl.res.tokens) > 0:
		return nil, cli.Usagef("--delegation-token cannot be used with --producer or --consumer")
	case fl.res.cluster:
		return nil, cli.Usagef("--cluster cannot be used with --producer or --consumer (--producer --idempotent grants IDEMPOTENT_WRITE on it)")
	case !fl.producer && len(fl.res.txnIDs) > 0:
		return nil, cli.Usagef("--transactional-id is only for --producer")
	case !fl.consumer && len(fl.res.groups) > 0:
		return nil, cli.Usagef("--group is only for --consumer")
	}
	var bs []*kadm.ACLBuilder
	if fl.producer {
		bs = append(bs, newBuilder(kadm.OpWrite, kadm.OpDescribe, kadm.OpCreate).MaybeTopics(fl.res.topics...))
		if len(fl.res.txnIDs) > 0 {
			bs = append(bs, newBuilder(kadm.OpWrite, kadm.OpDescribe).MaybeTransactionalIDs(fl.res.txnIDs...))
		}
		if fl.idempotent {
			// The cluster has one name, kafka-cluster, and it is LITERAL
			// whatever --resource-pattern-type says of the topics.
			bs = append(bs, newBuilder(kadm.OpIdempotentWrite).ResourcePatternType(kadm.ACLPatternLiteral).Clusters())
		}
	}
	if fl.consumer {
		bs = append(bs, newBuilder(kadm.OpRead, kadm.OpDescribe).MaybeTopics(fl.res.topics...))
		bs = append(bs, newBuilder(kadm.OpRead).MaybeGroups(fl.res.groups...))
	}
	return bs, nil
}
