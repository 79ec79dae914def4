package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/tools/cli"
)

// ConfigDoc is one config as the describe commands print it in JSON.
type ConfigDoc struct {
	Name string `json:"name"`
	// Value is null for a sensitive config (the broker never sends it)
	// or a config without a value.
	Value *string `json:"value"`
	// Source is Kafka's name for where the value comes from:
	// DYNAMIC_TOPIC_CONFIG, DYNAMIC_BROKER_CONFIG,
	// DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG or
	// DEFAULT_CONFIG.
	Source    string `json:"source"`
	Sensitive bool   `json:"sensitive"`
	ReadOnly  bool   `json:"read_only"`
}

// shownValue is the value for a table: "[hidden]" when sensitive,
// "null" without a value.
func (c ConfigDoc) shownValue() string {
	switch {
	case c.Sensitive:
		return "[hidden]"
	case c.Value == nil:
		return "null"
	}
	return *c.Value
}

func configDoc(c kmsg.DescribeConfigsResponseResourceConfig) ConfigDoc {
	d := ConfigDoc{Name: c.Name, Source: c.Source.String(), Sensitive: c.IsSensitive, ReadOnly: c.ReadOnly}
	if c.Value != nil && !c.IsSensitive {
		v := *c.Value
		d.Value = &v
	}
	return d
}

// resourceConfigs is one resource's answer to DescribeConfigs.
type resourceConfigs struct {
	configs    []kmsg.DescribeConfigsResponseResourceConfig
	err        error
	errMessage string
}

// describeConfigs asks for the configs of resources of one type, by
// name ("" is the cluster-wide broker default). kgo sends each broker
// resource to its broker, as Kafka requires.
func (s *session) describeConfigs(ctx context.Context, typ kmsg.ConfigResourceType, names []string) (map[string]resourceConfigs, error) {
	out := map[string]resourceConfigs{}
	if len(names) == 0 {
		return out, nil
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, name := range names {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName = typ, name
		req.Resources = append(req.Resources, r)
	}
	for _, shard := range s.cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			return nil, fmt.Errorf("describe configs: %w", shard.Err)
		}
		for _, r := range shard.Resp.(*kmsg.DescribeConfigsResponse).Resources {
			out[r.ResourceName] = resourceConfigs{configs: r.Configs, err: kerr.ErrorForCode(r.ErrorCode), errMessage: derefString(r.ErrorMessage)}
		}
	}
	for _, name := range names {
		if _, ok := out[name]; !ok {
			return nil, fmt.Errorf("describe configs: no answer for %q", name)
		}
	}
	return out, nil
}

// entity is what a configs command is about, from kafka-configs.sh's
// --entity-type/--entity-name/--entity-default or the shortcuts --topic,
// --broker, --broker-defaults, --user, --user-defaults, --client,
// --client-defaults, --ip and --ip-defaults.
type entity struct {
	// kind is the entity type as kafka-configs.sh names it: topics,
	// brokers, users, clients or ips; for a user and a client together
	// (Kafka's user+client-id quota entity), the first given.
	kind string
	typ  kmsg.ConfigResourceType // topics and brokers
	// names are the resources; none: every topic or broker of the
	// cluster (describe only); [""]: the cluster-wide broker default.
	names []string
	// quota are the parts of a users, clients or ips entity, in the order
	// given; a part without a name matches every entity of its type
	// (describe only).
	quota []quotaPart
}

// quotaPart is one (type, name) of a client quota entity.
type quotaPart struct {
	kind string // users, clients or ips
	// named: a name or the default was given; name "" is the default.
	named bool
	name  string
}

// quotaEntity reports whether e is a users, clients or ips entity.
func (e entity) quotaEntity() bool { return len(e.quota) > 0 }

// orderedNames collects --entity-name and --entity-default in the order
// given, as kafka-configs.sh pairs them with the --entity-type values:
// the i-th name (a default being "") is the i-th type's.
type orderedNames struct {
	names   *[]string
	isDflt  bool
	changed bool
}

func (o *orderedNames) String() string { return "" }
func (o *orderedNames) Type() string {
	if o.isDflt {
		return "bool"
	}
	return "string"
}

func (o *orderedNames) Set(v string) error {
	o.changed = true
	if o.isDflt {
		if b, err := strconv.ParseBool(v); err != nil || !b {
			return fmt.Errorf("--entity-default takes no value")
		}
		*o.names = append(*o.names, "")
		return nil
	}
	*o.names = append(*o.names, v)
	return nil
}

type entityFlags struct {
	entityTypes   []string
	entityNames   []string // --entity-name and --entity-default ("") in order
	nameFlag      orderedNames
	defaultFlag   orderedNames
	topic, broker string
	user, client  string
	ip            string

	brokerDefaults, userDefaults, clientDefaults, ipDefaults bool
}

// entityKinds are the entity types the commands take, in the order of
// kafka-configs.sh's help.
var entityKinds = []string{"topics", "brokers", "users", "clients", "ips"}

func (f *entityFlags) add(cmd *cobra.Command, env *cli.Env) {
	fl := cmd.Flags()
	f.nameFlag = orderedNames{names: &f.entityNames}
	f.defaultFlag = orderedNames{names: &f.entityNames, isDflt: true}
	fl.StringArrayVar(&f.entityTypes, "entity-type", nil, "the `type` of entity: topics, brokers, users, clients or ips (users and clients may be given together, each with its --entity-name or --entity-default)")
	fl.Var(&f.nameFlag, "entity-name", "the entity: a topic name, a broker ID, a user principal, a client ID or an IP")
	fl.Var(&f.defaultFlag, "entity-default", "the default entity of the type: the cluster-wide dynamic broker default, or the default user, client ID or IP")
	fl.Lookup("entity-default").NoOptDefVal = "true"
	fl.StringVar(&f.topic, "topic", "", "the topic (--entity-type topics --entity-name TOPIC)")
	fl.StringVar(&f.broker, "broker", "", "the broker, by ID (--entity-type brokers --entity-name ID)")
	fl.BoolVar(&f.brokerDefaults, "broker-defaults", false, "the cluster-wide dynamic broker default (--entity-type brokers --entity-default)")
	fl.StringVar(&f.user, "user", "", "the user principal (--entity-type users --entity-name USER)")
	fl.BoolVar(&f.userDefaults, "user-defaults", false, "the default user (--entity-type users --entity-default)")
	fl.StringVar(&f.client, "client", "", "the client ID (--entity-type clients --entity-name ID)")
	fl.BoolVar(&f.clientDefaults, "client-defaults", false, "the default client ID (--entity-type clients --entity-default)")
	fl.StringVar(&f.ip, "ip", "", "the IP address (--entity-type ips --entity-name IP)")
	fl.BoolVar(&f.ipDefaults, "ip-defaults", false, "the default IP (--entity-type ips --entity-default)")
	cmd.RegisterFlagCompletionFunc("entity-type", cobra.FixedCompletions(entityKinds, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("topic", cli.CompleteTopics(env))
	cmd.RegisterFlagCompletionFunc("entity-name", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if slices.Contains(f.entityTypes, "topics") {
			return cli.CompleteTopics(env)(cmd, args, toComplete)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	})
}

// given are the entity types and names the flags name, paired as
// kafka-configs.sh pairs them: --entity-type values with the
// --entity-name/--entity-default values in order, then the shortcuts
// (in Kafka's order: topic, client, user, broker, ip, then the
// defaults). picked are the flags used, for errors.
func (f *entityFlags) given() (types, names, picked []string) {
	types = slices.Clone(f.entityTypes)
	names = slices.Clone(f.entityNames)
	if len(types) > 0 {
		picked = append(picked, "--entity-type")
	}
	for _, s := range []struct {
		flag, kind, name string
	}{{"--topic", "topics", f.topic}, {"--client", "clients", f.client}, {"--user", "users", f.user}, {"--broker", "brokers", f.broker}, {"--ip", "ips", f.ip}} {
		if s.name != "" {
			types, names, picked = append(types, s.kind), append(names, s.name), append(picked, s.flag)
		}
	}
	for _, s := range []struct {
		flag, kind string
		set        bool
	}{{"--client-defaults", "clients", f.clientDefaults}, {"--user-defaults", "users", f.userDefaults}, {"--broker-defaults", "brokers", f.brokerDefaults}, {"--ip-defaults", "ips", f.ipDefaults}} {
		if s.set {
			types, names, picked = append(types, s.kind), append(names, ""), append(picked, s.flag)
		}
	}
	return types, names, picked
}

// resolve is the entity the flags name; an entity is required when
// needName (alter).
func (f *entityFlags) resolve(needName bool) (entity, error) {
	types, names, picked := f.given()
	if len(f.entityTypes) == 0 && len(f.entityNames) > 0 {
		return entity{}, cli.Usagef("--entity-name and --entity-default need --entity-type")
	}
	switch {
	case len(picked) == 0:
		return entity{}, cli.Usagef("name an entity: --topic, --broker, --broker-defaults, --user, --client, --ip, or --entity-type with --entity-name")
	case len(picked) > 1 && !userAndClient(types):
		return entity{}, cli.Usagef("name one entity: %s given together", strings.Join(picked, " and "))
	}
	for _, t := range types {
		if !slices.Contains(entityKinds, t) {
			return entity{}, cli.Usagef("--entity-type %q: want topics, brokers, users, clients or ips", t)
		}
	}
	if dup := duplicates(types); len(dup) > 0 {
		return entity{}, cli.Usagef("Duplicate entity type(s) specified: %s", strings.Join(dup, ","))
	}
	if len(types) > 1 && !userAndClient(types) {
		// kafka-configs.sh's words.
		return entity{}, cli.Usagef("Only 'users' and 'clients' entity types may be specified together")
	}
	if len(names) > len(types) {
		return entity{}, cli.Usagef("More entity names specified than entity types")
	}
	if needName && len(names) == 0 {
		return entity{}, cli.Usagef("name the entity to alter: --entity-name or --entity-default")
	}
	if needName && len(names) != len(types) {
		return entity{}, cli.Usagef("An entity name must be specified for every entity type")
	}

	e := entity{kind: types[0]}
	switch e.kind {
	case "topics", "brokers":
		e.typ = kmsg.ConfigResourceTypeTopic
		if e.kind == "brokers" {
			e.typ = kmsg.ConfigResourceTypeBroker
		}
		if len(names) > 0 {
			e.names = names[:1]
		}
		if e.typ == kmsg.ConfigResourceTypeTopic && slices.Contains(e.names, "") {
			return entity{}, cli.Usagef("--entity-default is for --entity-type brokers, users, clients or ips")
		}
		if e.typ == kmsg.ConfigResourceTypeBroker {
			for _, n := range e.names {
				if _, err := strconv.ParseInt(n, 10, 32); n != "" && err != nil {
					return entity{}, cli.Usagef("broker %q: want a broker ID", n)
				}
			}
		}
		return e, nil
	}
	for i, t := range types {
		p := quotaPart{kind: t}
		if i < len(names) {
			p.named, p.name = true, names[i]
		}
		if t == "ips" && p.name != "" {
			if err := checkIPEntity(p.name); err != nil {
				return entity{}, err
			}
		}
		e.quota = append(e.quota, p)
	}
	return e, nil
}

// userAndClient reports whether types are a user and a client: the one
// pair kafka-configs.sh takes together (a user+client-id quota entity).
func userAndClient(types []string) bool {
	return len(types) == 2 && slices.Contains(types, "users") && slices.Contains(types, "clients")
}

func duplicates(s []string) []string {
	var seen, dup []string
	for _, v := range s {
		if slices.Contains(seen, v) && !slices.Contains(dup, v) {
			dup = append(dup, v)
		}
		seen = append(seen, v)
	}
	return dup
}

// checkNames completes e.names (every topic or broker when none are
// named) and checks that the named ones exist: asked for an absent
// broker, kgo would wait for it to appear.
func (e *entity) checkNames(ctx context.Context, s *session) error {
	if e.typ == kmsg.ConfigResourceTypeTopic {
		if len(e.names) > 0 {
			return nil // the broker answers UNKNOWN_TOPIC_OR_PARTITION
		}
		topics, err := s.adm.ListTopicsWithInternal(ctx)
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		e.names = topics.Names()
		return nil
	}
	m, err := s.adm.BrokerMetadata(ctx)
	if err != nil {
		return fmt.Errorf("list brokers: %w", err)
	}
	ids := make([]string, len(m.Brokers))
	for i, b := range m.Brokers {
		ids[i] = strconv.Itoa(int(b.NodeID))
	}
	if len(e.names) == 0 {
		e.names = ids
		return nil
	}
	for _, n := range e.names {
		if n != "" && !slices.Contains(ids, n) {
			return fmt.Errorf("broker %s is not in the cluster (brokers: %s)", n, strings.Join(ids, ","))
		}
	}
	return nil
}

// ResourceConfigsDoc is one entity of `configs describe -o json`:
// {"resources": [ResourceConfigsDoc, ...]}.
type ResourceConfigsDoc struct {
	// Type is "topic" or "broker".
	Type string `json:"type"`
	// Name is the topic or the broker ID; "" for the cluster-wide broker
	// default.
	Name string `json:"name"`
	// Configs are sorted by name: without --all only those set on the
	// entity itself (as kafka-configs.sh), with --all every one.
	Configs []ConfigDoc `json:"configs"`
}

func typeName(t kmsg.ConfigResourceType) string {
	if t == kmsg.ConfigResourceTypeTopic {
		return "topic"
	}
	return "broker"
}

// ownSource is the config source of what is set on the entity itself:
// what kafka-configs.sh --describe shows without --all.
func ownSource(t kmsg.ConfigResourceType, name string) kmsg.ConfigSource {
	switch {
	case t == kmsg.ConfigResourceTypeTopic:
		return kmsg.ConfigSourceDynamicTopicConfig
	case name == "":
		return kmsg.ConfigSourceDynamicDefaultBrokerConfig
	}
	return kmsg.ConfigSourceDynamicBrokerConfig
}

// NewConfigsCommand is `samsa configs`: describe and alter the configs
// of topics and brokers, with kafka-configs.sh's flags.
func NewConfigsCommand(env *cli.Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "configs",
		Short: "Describe and alter topic and broker configs, client quotas and SCRAM credentials",
		Args:  cli.Args(cobra.NoArgs),
	}
	cmd.AddCommand(newConfigsDescribeCommand(env), newConfigsAlterCommand(env))
	return cmd
}

func newConfigsDescribeCommand(env *cli.Env) *cobra.Command {
	var (
		ef  entityFlags
		all bool
	)
	cmd := &cobra.Command{
		Use:   "describe",
		Short: "Describe configs of topics or brokers, or quotas and SCRAM credentials of users, clients and IPs",
		Example: `  samsa configs describe --topic orders
  samsa configs describe --broker 1 --all
  samsa configs describe --entity-type brokers --entity-default
  samsa configs describe --entity-type users --entity-name alice
  samsa configs describe --entity-type users --entity-name alice --entity-type clients`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := ef.resolve(false)
			if err != nil {
				return err
			}
			if e.quotaEntity() {
				return describeQuotaEntity(cmd.Context(), env, e)
			}
			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			s, err := connect(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := e.checkNames(ctx, s); err != nil {
				return err
			}
			answers, err := s.describeConfigs(ctx, e.typ, e.names)
			if err != nil {
				return err
			}
			docs := []ResourceConfigsDoc{}
			for _, name := range e.names {
				a := answers[name]
				if a.err != nil {
					topic := ""
					if e.typ == kmsg.ConfigResourceTypeTopic {
						topic = name
					}
					return fmt.Errorf("describe configs of %s %q: %w", typeName(e.typ), name, refused(topic, a.err, a.errMessage))
				}
				d := ResourceConfigsDoc{Type: typeName(e.typ), Name: name, Configs: []ConfigDoc{}}
				for _, c := range a.configs {
					if all || c.Source == ownSource(e.typ, name) {
						d.Configs = append(d.Configs, configDoc(c))
					}
				}
				sort.Slice(d.Configs, func(i, j int) bool { return d.Configs[i].Name < d.Configs[j].Name })
				docs = append(docs, d)
			}
			if env.JSON() {
				return cli.PrintJSON(env.Stdout, struct {
					Resources []ResourceConfigsDoc `json:"resources"`
				}{docs})
			}
			for i, d := range docs {
				if i > 0 {
					fmt.Fprintln(env.Stdout)
				}
				if err := printResourceConfigs(env, d, all); err != nil {
					return err
				}
			}
			return nil
		},
	}
	ef.add(cmd, env)
	cmd.Flags().BoolVar(&all, "all", false, "every config, defaults included (default: only those set on the entity)")
	return cmd
}

func printResourceConfigs(env *cli.Env, d ResourceConfigsDoc, all bool) error {
	which := "Dynamic configs"
	if all {
		which = "All configs"
	}
	title := fmt.Sprintf("%s for %s %s:", which, d.Type, d.Name)
	if d.Type == "broker" && d.Name == "" {
		title = fmt.Sprintf("%s for the cluster-wide broker default:", which)
	}
	if _, err := fmt.Fprintln(env.Stdout, title); err != nil {
		return err
	}
	if len(d.Configs) == 0 {
		_, err := fmt.Fprintln(env.Stdout, "(none)")
		return err
	}
	t := cli.NewTable(env.Stdout, "NAME", "VALUE", "SOURCE", "SENSITIVE", "READ-ONLY")
	for _, c := range d.Configs {
		t.Row(c.Name, c.shownValue(), c.Source, c.Sensitive, c.ReadOnly)
	}
	return t.Flush()
}

// AlteredConfigsDoc is `configs alter -o json`.
type AlteredConfigsDoc struct {
	Type string `json:"type"` // "topic" or "broker"
	Name string `json:"name"` // "" for the cluster-wide broker default
	// Set are the configs set, by name; Deleted the configs removed from
	// the entity (back to their inherited value), sorted.
	Set     map[string]string `json:"set"`
	Deleted []string          `json:"deleted"`
}

func newConfigsAlterCommand(env *cli.Env) *cobra.Command {
	var (
		ef            entityFlags
		addConfigs    []string
		deleteConfigs []string
	)
	cmd := &cobra.Command{
		Use:   "alter",
		Short: "Set or delete configs of a topic or broker, quotas of users, clients and IPs, or SCRAM credentials",
		Example: `  samsa configs alter --topic orders --add-config retention.ms=3600000,cleanup.policy=[compact,delete]
  samsa configs alter --topic orders --delete-config retention.ms
  samsa configs alter --broker-defaults --add-config log.retention.ms=86400000
  samsa configs alter --entity-type users --entity-name alice \
      --add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]'
  samsa configs alter --entity-type users --entity-name alice --delete-config SCRAM-SHA-512
  samsa configs alter --entity-type users --entity-name alice --entity-type clients --entity-name app \
      --add-config producer_byte_rate=1048576
  samsa configs alter --entity-type ips --entity-default --add-config connection_creation_rate=10`,
		Args: cli.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := ef.resolve(true)
			if err != nil {
				return err
			}
			if e.quotaEntity() {
				return alterQuotaEntity(cmd.Context(), env, e, addConfigs, deleteConfigs)
			}
			doc := AlteredConfigsDoc{Type: typeName(e.typ), Name: e.names[0], Set: map[string]string{}, Deleted: []string{}}
			var ops []kadm.AlterConfig
			for _, list := range addConfigs {
				pairs, err := parseAddConfig(list)
				if err != nil {
					return err
				}
				for _, kv := range pairs {
					ops = append(ops, kadm.AlterConfig{Op: kadm.SetConfig, Name: kv[0], Value: kadm.StringPtr(kv[1])})
					doc.Set[kv[0]] = kv[1]
				}
			}
			for _, list := range deleteConfigs {
				for _, k := range strings.Split(list, ",") {
					if k = strings.TrimSpace(k); k == "" {
						continue
					}
					if _, ok := doc.Set[k]; ok {
						return cli.Usagef("config %s is both added and deleted", k)
					}
					ops = append(ops, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
					doc.Deleted = append(doc.Deleted, k)
				}
			}
			sort.Strings(doc.Deleted)
			if len(ops) == 0 {
				return cli.Usagef("nothing to alter: give --add-config or --delete-config")
			}

			ctx, cancel := env.Context(cmd.Context())
			defer cancel()
			s, err := connect(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := e.checkNames(ctx, s); err != nil {
				return err
			}
			var resps kadm.AlterConfigsResponses
			if e.typ == kmsg.ConfigResourceTypeTopic {
				resps, err = s.adm.AlterTopicConfigs(ctx, ops, doc.Name)
			} else {
				var brokers []int32
				if doc.Name != "" {
					id, _ := strconv.ParseInt(doc.Name, 10, 32) // checked by resolve
					brokers = append(brokers, int32(id))
				}
				resps, err = s.adm.AlterBrokerConfigs(ctx, ops, brokers...)
			}
			if err == nil {
				var r kadm.AlterConfigsResponse
				if r, err = resps.On(doc.Name, nil); err == nil {
					topic := ""
					if e.typ == kmsg.ConfigResourceTypeTopic {
						topic = doc.Name
					}
					err = refused(topic, r.Err, r.ErrMessage)
				} else if errors.Is(err, kerr.UnknownTopicOrPartition) {
					err = errors.New("the broker did not answer for it")
				}
			}
			if err != nil {
				return fmt.Errorf("alter configs of %s: %w", entityTitle(doc.Type, doc.Name), err)
			}
			if env.JSON() {
				return cli.PrintJSON(env.Stdout, doc)
			}
			// kafka-configs.sh's words.
			_, err = fmt.Fprintf(env.Stdout, "Completed updating config for %s.\n", entityTitle(doc.Type, doc.Name))
			return err
		},
	}
	ef.add(cmd, env)
	f := cmd.Flags()
	f.StringArrayVar(&addConfigs, "add-config", nil, "configs to set, `k1=v1,k2=[v1,v2]` (a list value in brackets; repeatable)")
	f.StringArrayVar(&deleteConfigs, "delete-config", nil, "configs to remove from the entity, `k1,k2` (repeatable)")
	return cmd
}

func entityTitle(typ, name string) string {
	if typ == "broker" && name == "" {
		return "the cluster-wide broker default"
	}
	return typ + " " + name
}

// parseAddConfig parses kafka-configs.sh's --add-config: k=v pairs
// separated by commas, where a value holding commas (a list) is put in
// square brackets, which are dropped: "a=1,b=[x,y]" is a=1 and b=x,y.
func parseAddConfig(s string) ([][2]string, error) {
	var out [][2]string
	for rest := s; rest != ""; {
		k, after, ok := strings.Cut(rest, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.Contains(k, ",") {
			return nil, cli.Usagef("--add-config %q: want key=value[,key=value]", s)
		}
		var v string
		if strings.HasPrefix(after, "[") {
			end := strings.Index(after, "]")
			if end < 0 {
				return nil, cli.Usagef("--add-config %q: %s's [ is not closed", s, k)
			}
			v, rest = after[1:end], after[end+1:]
			if rest != "" && !strings.HasPrefix(rest, ",") {
				return nil, cli.Usagef("--add-config %q: want a comma after %s's ]", s, k)
			}
			rest = strings.TrimPrefix(rest, ",")
		} else {
			v, rest, _ = strings.Cut(after, ",")
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}
