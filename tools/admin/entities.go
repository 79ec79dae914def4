package admin

// `configs describe|alter` for the users, clients and ips entity types:
// client quotas (DescribeClientQuotas and AlterClientQuotas, KIP-546) and
// SCRAM credentials (DescribeUserScramCredentials and
// AlterUserScramCredentials, KIP-554), with kafka-configs.sh's keys,
// value syntax and error texts. Passwords go to the broker only as
// salted passwords (kadm salts them here) and are never printed.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/samsa-io/samsa/tools/cli"
)

// The config keys of the users, clients and ips entity types, as Kafka's
// QuotaConfig and ScramMechanism name them.
var (
	clientQuotaKeys = []string{"producer_byte_rate", "consumer_byte_rate", "request_percentage", "controller_mutation_rate"}
	ipQuotaKeys     = []string{"connection_creation_rate"}
	scramMechanisms = map[string]kadm.ScramMechanism{"SCRAM-SHA-256": kadm.ScramSha256, "SCRAM-SHA-512": kadm.ScramSha512}
)

// Kafka's defaults and bounds for SCRAM iterations (ScramMechanism's
// minIterations; ConfigCommand's DEFAULT_SCRAM_ITERATIONS).
const (
	defaultScramIterations = 4096
	minScramIterations     = 4096
)

// scramCredential is kafka-configs.sh's SCRAM value,
// "[iterations=N,]password=P" (its brackets already dropped); as Kafka's
// pattern, everything after "password=" is the password.
var scramCredential = regexp.MustCompile(`^(?:iterations=(-?[0-9]*),)?password=(.*)$`)

// quotaEntityType is the client quota entity type of a kafka-configs.sh
// entity type.
func quotaEntityType(kind string) string {
	switch kind {
	case "users":
		return "user"
	case "clients":
		return "client-id"
	}
	return "ip"
}

// checkIPEntity checks an ips entity name as kafka-configs.sh does: an IP
// address or a host name that resolves.
func checkIPEntity(name string) error {
	if net.ParseIP(name) != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := net.DefaultResolver.LookupHost(ctx, name); err != nil {
		return cli.Usagef("The entity name for ips must be a valid IP or resolvable host, but it is: %s", name)
	}
	return nil
}

// QuotaEntityPartDoc is one part of a quota entity in JSON: type is
// "user", "client-id" or "ip"; name is null for the default entity of
// the type.
type QuotaEntityPartDoc struct {
	Type string  `json:"type"`
	Name *string `json:"name"`
}

// QuotaDoc is one entity's quotas in `configs describe -o json` of users,
// clients or ips.
type QuotaDoc struct {
	Entity []QuotaEntityPartDoc `json:"entity"`
	// Values are the quotas set on the entity, by key.
	Values map[string]float64 `json:"values"`
}

// ScramCredentialDoc is one mechanism of a user's SCRAM credentials: the
// mechanism and its iterations, never the password.
type ScramCredentialDoc struct {
	Mechanism  string `json:"mechanism"`
	Iterations int32  `json:"iterations"`
}

// UserScramDoc is one user's SCRAM credentials.
type UserScramDoc struct {
	User        string               `json:"user"`
	Credentials []ScramCredentialDoc `json:"credentials"`
}

// QuotaEntitiesDoc is `configs describe -o json` of users, clients or
// ips. ScramCredentials are described as kafka-configs.sh describes them:
// for users only, without a client and without --entity-default ([]
// otherwise).
type QuotaEntitiesDoc struct {
	Quotas           []QuotaDoc     `json:"quotas"`
	ScramCredentials []UserScramDoc `json:"scram_credentials"`
}

// AlteredQuotaEntityDoc is `configs alter -o json` of users, clients or
// ips.
type AlteredQuotaEntityDoc struct {
	Entity []QuotaEntityPartDoc `json:"entity"`
	// Set are the quotas set, and the SCRAM mechanisms set as
	// "iterations=N" (never the password), by key.
	Set map[string]string `json:"set"`
	// Deleted are the quotas and SCRAM mechanisms removed, sorted.
	Deleted []string `json:"deleted"`
}

// entityParts are e's parts as JSON shows them.
func (e entity) entityParts() []QuotaEntityPartDoc {
	var out []QuotaEntityPartDoc
	for _, p := range e.quota {
		d := QuotaEntityPartDoc{Type: quotaEntityType(p.kind)}
		if p.name != "" {
			d.Name = kadm.StringPtr(p.name)
		}
		out = append(out, d)
	}
	return out
}

// quotaEntityString is an entity as the tables show it, as kadm prints
// one: "user=alice, client-id=<default>".
func quotaEntityString(parts []QuotaEntityPartDoc) string {
	s := make([]string, len(parts))
	for i, p := range parts {
		if p.Name == nil {
			s[i] = p.Type + "=<default>"
		} else {
			s[i] = p.Type + "=" + *p.Name
		}
	}
	return strings.Join(s, ", ")
}

// unsupported rewords the error of a request the cluster does not know
// (kgo refuses it before sending, or the broker answers
// UNSUPPORTED_VERSION) as Kafka's tools word it.
func unsupported(api, since string, err error) error {
	if errors.Is(err, kerr.UnsupportedVersion) || strings.Contains(err.Error(), "broker is too old") {
		return fmt.Errorf("The %s API is not supported by the cluster. The API is supported starting from version %s.", api, since)
	}
	return err
}

// describeComponents are the DescribeClientQuotas filter of e, as
// kafka-configs.sh builds it: a part with a name matches that entity, a
// default part the default, a part without either every entity of the
// type.
func (e entity) describeComponents() []kadm.DescribeClientQuotaComponent {
	var out []kadm.DescribeClientQuotaComponent
	for _, p := range e.quota {
		c := kadm.DescribeClientQuotaComponent{Type: quotaEntityType(p.kind)}
		switch {
		case !p.named:
			c.MatchType = 2 // any
		case p.name == "":
			c.MatchType = 1 // the default
		default:
			c.MatchType = 0 // exact
			c.MatchName = kadm.StringPtr(p.name)
		}
		out = append(out, c)
	}
	return out
}

func (s *session) describeQuotas(ctx context.Context, e entity) ([]QuotaDoc, error) {
	described, err := s.adm.DescribeClientQuotas(ctx, true, e.describeComponents())
	if err != nil {
		var em *kadm.ErrAndMessage
		if errors.As(err, &em) {
			err = refused("", em.Err, em.ErrMessage)
		} else {
			err = refused("", unsupported("DESCRIBE_CLIENT_QUOTAS", "2.6.0", err), "")
		}
		return nil, fmt.Errorf("describe client quotas: %w", err)
	}
	docs := []QuotaDoc{}
	for _, q := range described {
		d := QuotaDoc{Values: map[string]float64{}}
		for _, c := range q.Entity {
			d.Entity = append(d.Entity, QuotaEntityPartDoc{Type: c.Type, Name: c.Name})
		}
		for _, v := range q.Values {
			d.Values[v.Key] = v.Value
		}
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool {
		return quotaEntityString(docs[i].Entity) < quotaEntityString(docs[j].Entity)
	})
	return docs, nil
}

// describeScram describes the SCRAM credentials of user ("": every user
// that has one). A user without credentials is left out, as
// kafka-configs.sh leaves it out.
func (s *session) describeScram(ctx context.Context, user string) ([]UserScramDoc, error) {
	var users []string
	if user != "" {
		users = append(users, user)
	}
	described, err := s.adm.DescribeUserSCRAMs(ctx, users...)
	if err != nil {
		err = unsupported("DESCRIBE_USER_SCRAM_CREDENTIALS", "2.7.0", err)
		return nil, fmt.Errorf("describe SCRAM credentials: %w", refused("", err, ""))
	}
	docs := []UserScramDoc{}
	for _, d := range described.Sorted() {
		if errors.Is(d.Err, kerr.ResourceNotFound) {
			continue
		}
		if d.Err != nil {
			return nil, fmt.Errorf("describe SCRAM credentials of user %s: %w", d.User, refused("", d.Err, d.ErrMessage))
		}
		doc := UserScramDoc{User: d.User, Credentials: []ScramCredentialDoc{}}
		for _, c := range d.CredInfos {
			doc.Credentials = append(doc.Credentials, ScramCredentialDoc{Mechanism: c.Mechanism.String(), Iterations: c.Iterations})
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// describeQuotaEntity is `configs describe` of users, clients or ips:
// the quotas of the matching entities and, for users alone (not with a
// client, not the default), their SCRAM mechanisms and iterations.
func describeQuotaEntity(ctx context.Context, env *cli.Env, e entity) error {
	ctx, cancel := env.Context(ctx)
	defer cancel()
	s, err := connect(ctx, env)
	if err != nil {
		return err
	}
	defer s.Close()
	doc := QuotaEntitiesDoc{ScramCredentials: []UserScramDoc{}}
	if doc.Quotas, err = s.describeQuotas(ctx, e); err != nil {
		return err
	}
	withScram := len(e.quota) == 1 && e.kind == "users" && !(e.quota[0].named && e.quota[0].name == "")
	if withScram {
		if doc.ScramCredentials, err = s.describeScram(ctx, e.quota[0].name); err != nil {
			return err
		}
	}
	if env.JSON() {
		return cli.PrintJSON(env.Stdout, doc)
	}
	fmt.Fprintln(env.Stdout, "Quota configs:")
	if len(doc.Quotas) == 0 {
		fmt.Fprintln(env.Stdout, "(none)")
	} else {
		t := cli.NewTable(env.Stdout, "ENTITY", "QUOTA", "VALUE")
		for _, q := range doc.Quotas {
			keys := make([]string, 0, len(q.Values))
			for k := range q.Values {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				t.Row(quotaEntityString(q.Entity), k, strconv.FormatFloat(q.Values[k], 'f', -1, 64))
			}
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	if !withScram {
		return nil
	}
	fmt.Fprintln(env.Stdout, "\nSCRAM credential configs:")
	if len(doc.ScramCredentials) == 0 {
		_, err := fmt.Fprintln(env.Stdout, "(none)")
		return err
	}
	t := cli.NewTable(env.Stdout, "USER", "MECHANISM", "ITERATIONS")
	for _, u := range doc.ScramCredentials {
		for _, c := range u.Credentials {
			t.Row(u.User, c.Mechanism, c.Iterations)
		}
	}
	return t.Flush()
}

// quotaAlteration is what one `configs alter` of users, clients or ips
// asks for, checked as kafka-configs.sh checks it.
type quotaAlteration struct {
	quotaOps     []kadm.AlterClientQuotaOp
	quotaDeleted []string
	upserts      []kadm.UpsertSCRAM
	deletes      []kadm.DeleteSCRAM
	doc          AlteredQuotaEntityDoc
}

func parseQuotaAlteration(e entity, addConfigs, deleteConfigs []string) (*quotaAlteration, error) {
	a := &quotaAlteration{doc: AlteredQuotaEntityDoc{Entity: e.entityParts(), Set: map[string]string{}, Deleted: []string{}}}
	var add [][2]string
	for _, list := range addConfigs {
		pairs, err := parseAddConfig(list)
		if err != nil {
			return nil, err
		}
		add = append(add, pairs...)
	}
	var del []string
	for _, list := range deleteConfigs {
		for _, k := range strings.Split(list, ",") {
			if k = strings.TrimSpace(k); k != "" {
				del = append(del, k)
			}
		}
	}
	if len(add) == 0 && len(del) == 0 {
		return nil, cli.Usagef("nothing to alter: give --add-config or --delete-config")
	}

	quotaKeys := clientQuotaKeys
	if e.kind == "ips" {
		quotaKeys = ipQuotaKeys
	}
	// The keys kafka-configs.sh refuses for the entity type, with its
	// words (it lists them unordered; here sorted).
	var badAdd, badDel []string
	scramAllowed := len(e.quota) == 1 && e.kind == "users"
	for _, kv := range add {
		_, scram := scramMechanisms[kv[0]]
		if !slices.Contains(quotaKeys, kv[0]) && !(scram && scramAllowed) {
			badAdd = append(badAdd, kv[0])
		}
	}
	for _, k := range del {
		_, scram := scramMechanisms[k]
		if !slices.Contains(quotaKeys, k) && !(scram && scramAllowed) {
			badDel = append(badDel, k)
		}
	}
	sort.Strings(badAdd)
	sort.Strings(badDel)
	switch {
	case e.kind == "ips" && len(badAdd)+len(badDel) > 0:
		return nil, cli.Usagef("Only connection quota configs can be added for 'ips' using --bootstrap-server. Unexpected config names: %s", strings.Join(append(badAdd, badDel...), ", "))
	case !scramAllowed && len(badAdd) > 0:
		return nil, cli.Usagef("Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: %s", strings.Join(badAdd, ","))
	case !scramAllowed && len(badDel) > 0:
		return nil, cli.Usagef("Only quota configs can be deleted for 'clients' using --bootstrap-server. Unexpected config names: %s", strings.Join(badDel, ","))
	case len(badAdd) > 0:
		return nil, cli.Usagef("Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: %s", strings.Join(badAdd, ","))
	case len(badDel) > 0:
		return nil, cli.Usagef("Only quota and SCRAM credential configs can be deleted for 'users' using --bootstrap-server. Unexpected config names: %s", strings.Join(badDel, ","))
	}

	user := e.quota[0].name
	for _, kv := range add {
		k, v := kv[0], strings.TrimSpace(kv[1])
		if _, dup := a.doc.Set[k]; dup {
			return nil, cli.Usagef("config %s is added twice", k)
		}
		if mech, ok := scramMechanisms[k]; ok {
			if user == "" {
				return nil, cli.Usagef("The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.")
			}
			m := scramCredential.FindStringSubmatch(v)
			if m == nil {
				// Kafka's message echoes the value; this one does not
				// print the password.
				return nil, cli.Usagef("Invalid credential property %s: want %s=[iterations=N,password=P] or %s=[password=P]", k, k, k)
			}
			iterations := defaultScramIterations
			if m[1] != "" && m[1] != "-1" {
				n, err := strconv.Atoi(m[1])
				if err != nil {
					return nil, cli.Usagef("Invalid credential property %s: iterations %q is not a number", k, m[1])
				}
				iterations = n
			}
			if iterations < minScramIterations {
				return nil, cli.Usagef("Iterations %d is less than the minimum %d required for %s", iterations, minScramIterations, k)
			}
			a.upserts = append(a.upserts, kadm.UpsertSCRAM{User: user, Mechanism: mech, Iterations: int32(iterations), Password: m[2]})
			a.doc.Set[k] = "iterations=" + strconv.Itoa(iterations)
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, cli.Usagef("Cannot parse quota configuration value for %s: %s", k, v)
		}
		a.quotaOps = append(a.quotaOps, kadm.AlterClientQuotaOp{Key: k, Value: f})
		a.doc.Set[k] = v
	}
	for _, k := range del {
		if _, ok := a.doc.Set[k]; ok {
			return nil, cli.Usagef("config %s is both added and deleted", k)
		}
		if slices.Contains(a.doc.Deleted, k) {
			continue
		}
		a.doc.Deleted = append(a.doc.Deleted, k)
		if mech, ok := scramMechanisms[k]; ok {
			if user == "" {
				return nil, cli.Usagef("The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server.")
			}
			a.deletes = append(a.deletes, kadm.DeleteSCRAM{User: user, Mechanism: mech})
			continue
		}
		a.quotaOps = append(a.quotaOps, kadm.AlterClientQuotaOp{Key: k, Remove: true})
		a.quotaDeleted = append(a.quotaDeleted, k)
	}
	if len(a.quotaOps) > 0 && len(a.upserts)+len(a.deletes) > 0 {
		return nil, cli.Usagef("Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server.")
	}
	sort.Strings(a.doc.Deleted)
	return a, nil
}

// alterQuotaEntity is `configs alter` of users, clients or ips: the
// quotas in one AlterClientQuotas request, or a user's SCRAM credentials
// in one AlterUserScramCredentials request (never both at once, as
// kafka-configs.sh refuses it).
func alterQuotaEntity(ctx context.Context, env *cli.Env, e entity, addConfigs, deleteConfigs []string) error {
	a, err := parseQuotaAlteration(e, addConfigs, deleteConfigs)
	if err != nil {
		return err
	}
	ctx, cancel := env.Context(ctx)
	defer cancel()
	s, err := connect(ctx, env)
	if err != nil {
		return err
	}
	defer s.Close()

	title := quotaEntityString(a.doc.Entity)
	if len(a.upserts) > 0 || len(a.deletes) > 0 {
		if err := s.alterScram(ctx, a); err != nil {
			return fmt.Errorf("alter SCRAM credentials of %s: %w", title, err)
		}
	}
	if len(a.quotaOps) > 0 {
		if err := s.alterQuotas(ctx, e, a); err != nil {
			return fmt.Errorf("alter client quotas of %s: %w", title, err)
		}
	}
	if env.JSON() {
		return cli.PrintJSON(env.Stdout, a.doc)
	}
	// kafka-configs.sh's words, naming the first entity type given.
	first := e.quota[0]
	if first.name == "" {
		_, err = fmt.Fprintf(env.Stdout, "Completed updating default config for %s in the cluster.\n", first.kind)
	} else {
		_, err = fmt.Fprintf(env.Stdout, "Completed updating config for %s %s.\n", strings.TrimSuffix(first.kind, "s"), first.name)
	}
	return err
}

func (s *session) alterScram(ctx context.Context, a *quotaAlteration) error {
	altered, err := s.adm.AlterUserSCRAMs(ctx, a.deletes, a.upserts)
	if err != nil {
		return refused("", unsupported("ALTER_USER_SCRAM_CREDENTIALS", "2.7.0", err), "")
	}
	for _, r := range altered.Sorted() {
		if r.Err != nil {
			return refused("", r.Err, r.ErrMessage)
		}
	}
	return nil
}

func (s *session) alterQuotas(ctx context.Context, e entity, a *quotaAlteration) error {
	// As kafka-configs.sh: deleting a quota the entity does not have is
	// an error, before anything is altered.
	if len(a.quotaDeleted) > 0 {
		current, err := s.describeQuotas(ctx, e)
		if err != nil {
			return err
		}
		var missing []string
		for _, k := range a.quotaDeleted {
			if len(current) == 0 {
				missing = append(missing, k)
			} else if _, ok := current[0].Values[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("Invalid config(s): %s", strings.Join(missing, ","))
		}
	}
	var entry kadm.AlterClientQuotaEntry
	for _, p := range a.doc.Entity {
		entry.Entity = append(entry.Entity, kadm.ClientQuotaEntityComponent{Type: p.Type, Name: p.Name})
	}
	entry.Ops = a.quotaOps
	altered, err := s.adm.AlterClientQuotas(ctx, []kadm.AlterClientQuotaEntry{entry})
	if err != nil {
		return refused("", unsupported("ALTER_CLIENT_QUOTAS", "2.6.0", err), "")
	}
	if len(altered) != 1 {
		return fmt.Errorf("the broker answered for %d entities, want 1", len(altered))
	}
	return refused("", altered[0].Err, altered[0].ErrMessage)
}
