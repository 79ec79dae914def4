package acls

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/tools/cli"
)

// NewCommand is `samsa acls` and its subcommands.
func NewCommand(env *cli.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acls",
		Short: "List, create and delete ACLs (kafka-acls.sh)",
		Args:  cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(cmd.ErrOrStderr())
			cmd.Usage()
			return cli.ExitStatus(2)
		},
	}
	cmd.AddCommand(
		newListCommand(env),
		newCreateCommand(env),
		newDeleteCommand(env),
	)
	return cmd
}

// ACLDoc is one ACL binding in -o json, with Kafka's names for the
// enumerations (WRITE, ALLOW, TOPIC, LITERAL).
type ACLDoc struct {
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
	ResourceType string `json:"resource_type"`
	Name         string `json:"name"`
	PatternType  string `json:"pattern_type"`
}

// binding is one ACL as the cluster answered it.
type binding struct {
	Principal, Host string
	Operation       kmsg.ACLOperation
	Permission      kmsg.ACLPermissionType
	ResourceType    kmsg.ACLResourceType
	Name            string
	Pattern         kmsg.ACLResourcePatternType
}

func (b binding) doc() ACLDoc {
	return ACLDoc{
		Principal: b.Principal, Host: b.Host,
		Operation: b.Operation.String(), Permission: b.Permission.String(),
		ResourceType: b.ResourceType.String(), Name: b.Name, PatternType: b.Pattern.String(),
	}
}

// compare orders bindings as the table shows them: by resource, then
// principal, host, permission and operation.
func (b binding) compare(o binding) int {
	if c := cmpInt(b.ResourceType, o.ResourceType); c != 0 {
		return c
	}
	if c := strings.Compare(b.Name, o.Name); c != 0 {
		return c
	}
	if c := cmpInt(b.Pattern, o.Pattern); c != 0 {
		return c
	}
	if c := strings.Compare(b.Principal, o.Principal); c != 0 {
		return c
	}
	if c := strings.Compare(b.Host, o.Host); c != 0 {
		return c
	}
	if c := cmpInt(b.Permission, o.Permission); c != 0 {
		return c
	}
	return cmpInt(b.Operation, o.Operation)
}

func cmpInt[T ~int8](a, b T) int { return int(a) - int(b) }

// sortedUnique sorts bindings and drops repeats: two filters of one
// request can select the same ACL (a topic named twice, or MATCH filters
// that overlap).
func sortedUnique(bs []binding) []binding {
	slices.SortFunc(bs, binding.compare)
	return slices.Compact(bs)
}

func docs(bs []binding) []ACLDoc {
	out := make([]ACLDoc, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.doc())
	}
	return out
}

// printTable writes bindings as the commands' table.
func printTable(env *cli.Env, bs []binding) error {
	t := cli.NewTable(env.Stdout, "PRINCIPAL", "HOST", "OPERATION", "PERMISSION", "RESOURCE-TYPE", "NAME", "PATTERN-TYPE")
	for _, b := range bs {
		d := b.doc()
		t.Row(d.Principal, d.Host, d.Operation, d.Permission, d.ResourceType, d.Name, d.PatternType)
	}
	return t.Flush()
}

// errNoAuthorizer is SECURITY_DISABLED said plainly: a broker answers it
// to every ACL request when authorizer.class.name is not set.
var errNoAuthorizer = errors.New("the cluster has no authorizer (authorizer.class.name is not set)")

// errNotAuthorized is CLUSTER_AUTHORIZATION_FAILED said plainly, with
// the permission Kafka checks (DescribeAcls: DESCRIBE on the cluster;
// CreateAcls and DeleteAcls: ALTER on the cluster).
var errNotAuthorized = errors.New("not authorized to manage ACLs (CLUSTER_AUTHORIZATION_FAILED): listing needs DESCRIBE on the cluster, creating and deleting ALTER")

// refused is the error for a refusal the cluster answered: the two
// above, or Kafka's error name and the broker's message (its description
// when the broker sent none).
func refused(err error, message string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.SecurityDisabled):
		return errNoAuthorizer
	case errors.Is(err, kerr.ClusterAuthorizationFailed):
		return errNotAuthorized
	}
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return err
	}
	if message == "" {
		message = ke.Description
	}
	return fmt.Errorf("%s: %s", ke.Message, message)
}

// firstRefusal is the first of errs, refused: the cluster refuses every
// item of a request for the same reason (no authorizer, no permission),
// and one line of it says enough. Distinct refusals are all kept.
func firstRefusal(errs []error) error {
	var out []error
	seen := map[string]bool{}
	for _, err := range errs {
		if err == nil || seen[err.Error()] {
			continue
		}
		seen[err.Error()] = true
		out = append(out, err)
	}
	return errors.Join(out...)
}

// resourceFlags are the resource flags every subcommand takes, with
// kafka-acls.sh's names.
type resourceFlags struct {
	topics, groups, txnIDs, tokens []string
	cluster                        bool
	patternType                    string
}

func (r *resourceFlags) addFlags(f *pflag.FlagSet, patternUsage string) {
	f.StringArrayVar(&r.topics, "topic", nil, "a topic (repeatable; * is every topic)")
	f.StringArrayVar(&r.groups, "group", nil, "a consumer group (repeatable; * is every group)")
	f.BoolVar(&r.cluster, "cluster", false, "the cluster (kafka-cluster)")
	f.StringArrayVar(&r.txnIDs, "transactional-id", nil, "a transactional ID (repeatable; * is every one)")
	f.StringArrayVar(&r.tokens, "delegation-token", nil, "a delegation token ID (repeatable; * is every one)")
	f.StringVar(&r.patternType, "resource-pattern-type", "", patternUsage)
}

// given reports whether any resource is named.
func (r *resourceFlags) given() bool {
	return len(r.topics)+len(r.groups)+len(r.txnIDs)+len(r.tokens) > 0 || r.cluster
}

// apply names the resources in b; none named selects none (the Maybe
// forms: kadm's plain Topics() with no names would select every topic).
func (r *resourceFlags) apply(b *kadm.ACLBuilder) *kadm.ACLBuilder {
	return b.MaybeTopics(r.topics...).MaybeGroups(r.groups...).MaybeClusters(r.cluster).
		MaybeTransactionalIDs(r.txnIDs...).MaybeDelegationTokens(r.tokens...)
}

// pattern parses --resource-pattern-type against the allowed values; an
// empty flag is def.
func (r *resourceFlags) pattern(def kadm.ACLPattern, allowed ...kadm.ACLPattern) (kadm.ACLPattern, error) {
	if r.patternType == "" {
		return def, nil
	}
	p, err := kmsg.ParseACLResourcePatternType(r.patternType)
	if err == nil && slices.Contains(allowed, p) {
		return p, nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = a.String()
	}
	return 0, cli.Usagef("--resource-pattern-type %q: want %s", r.patternType, strings.Join(names, ", "))
}

// operationNames are the operations the commands take, in Kafka's
// spelling, for help and errors.
const operationNames = "Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All"

// parseOperations parses --operation values as Kafka's tool does (case
// and separators ignored: Read, READ, IdempotentWrite, IDEMPOTENT_WRITE).
// Any is a filter's wildcard, not an operation, and is refused.
func parseOperations(names []string) ([]kadm.ACLOperation, error) {
	var ops []kadm.ACLOperation
	for _, n := range names {
		op, err := kmsg.ParseACLOperation(n)
		if err != nil || op == kadm.OpAny || op == kadm.OpUnknown {
			return nil, cli.Usagef("--operation %q: want one of %s", n, operationNames)
		}
		if !slices.Contains(ops, op) {
			ops = append(ops, op)
		}
	}
	return ops, nil
}

// checkPrincipals refuses a principal that is not Type:name, as Kafka's
// tool does before it sends anything.
func checkPrincipals(flag string, principals []string) error {
	for _, p := range principals {
		typ, name, ok := strings.Cut(p, ":")
		if !ok || typ == "" || name == "" {
			return cli.Usagef("--%s %q: want Type:name, such as User:alice", flag, p)
		}
	}
	return nil
}

// principalFlags are --allow-principal, --allow-host, --deny-principal and
// --deny-host.
type principalFlags struct {
	allow, allowHosts, deny, denyHosts []string
}

func (p *principalFlags) addFlags(f *pflag.FlagSet, hostDefault string) {
	f.StringArrayVar(&p.allow, "allow-principal", nil, "a principal to allow, `Type:name` such as User:alice (repeatable; User:* is everyone)")
	f.StringArrayVar(&p.deny, "deny-principal", nil, "a principal to deny, `Type:name` (repeatable)")
	f.StringArrayVar(&p.allowHosts, "allow-host", nil, "a host the allowed principals connect from, an IP address (repeatable; "+hostDefault+")")
	f.StringArrayVar(&p.denyHosts, "deny-host", nil, "a host the denied principals connect from, an IP address (repeatable; "+hostDefault+")")
}

func (p *principalFlags) check() error {
	if err := checkPrincipals("allow-principal", p.allow); err != nil {
		return err
	}
	if err := checkPrincipals("deny-principal", p.deny); err != nil {
		return err
	}
	if len(p.allowHosts) > 0 && len(p.allow) == 0 {
		return cli.Usagef("--allow-host needs --allow-principal")
	}
	if len(p.denyHosts) > 0 && len(p.deny) == 0 {
		return cli.Usagef("--deny-host needs --deny-principal")
	}
	return nil
}

// described is what DescribeACLs answered, flattened: the bindings, or
// the first refusal.
func described(results kadm.DescribeACLsResults) ([]binding, error) {
	var bs []binding
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, refused(r.Err, r.ErrMessage))
			continue
		}
		for _, d := range r.Described {
			bs = append(bs, binding{d.Principal, d.Host, d.Operation, d.Permission, d.Type, d.Name, d.Pattern})
		}
	}
	if err := firstRefusal(errs); err != nil {
		return nil, err
	}
	return sortedUnique(bs), nil
}
