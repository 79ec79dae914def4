package admin_test

import (
	"slices"
	"strings"
	"testing"
)

// configsDoc is `configs describe -o json`, as a script reads it.
type configsDoc struct {
	Resources []struct {
		Type    string `json:"type"`
		Name    string `json:"name"`
		Configs []struct {
			Name      string  `json:"name"`
			Value     *string `json:"value"`
			Source    string  `json:"source"`
			Sensitive bool    `json:"sensitive"`
			ReadOnly  bool    `json:"read_only"`
		} `json:"configs"`
	} `json:"resources"`
}

// values are a resource's configs as name=value@SOURCE.
func (d configsDoc) values(i int) []string {
	var out []string
	for _, c := range d.Resources[i].Configs {
		v := "<null>"
		if c.Value != nil {
			v = *c.Value
		}
		out = append(out, c.Name+"="+v+"@"+c.Source)
	}
	return out
}

func TestConfigsDescribeATopicShowsItsOverridesAndWithAllEveryConfig(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "configured", "--config", "retention.ms=60000", "--config", "cleanup.policy=compact")

	want := []string{
		"Dynamic configs for topic configured:",
		"NAME VALUE SOURCE SENSITIVE READ-ONLY",
		"cleanup.policy compact DYNAMIC_TOPIC_CONFIG false false",
		"retention.ms 60000 DYNAMIC_TOPIC_CONFIG false false",
	}
	if got := lines(ok(t, s, "configs", "describe", "--topic", "configured")); !slices.Equal(got, want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Kafka's spelling of the same.
	if got := lines(ok(t, s, "configs", "describe", "--entity-type", "topics", "--entity-name", "configured")); !slices.Equal(got, want) {
		t.Errorf("--entity-type topics --entity-name: table:\n%s", strings.Join(got, "\n"))
	}

	var doc configsDoc
	decode(t, ok(t, s, "-o", "json", "configs", "describe", "--topic", "configured"), &doc)
	if len(doc.Resources) != 1 || doc.Resources[0].Type != "topic" || doc.Resources[0].Name != "configured" ||
		!slices.Equal(doc.values(0), []string{"cleanup.policy=compact@DYNAMIC_TOPIC_CONFIG", "retention.ms=60000@DYNAMIC_TOPIC_CONFIG"}) {
		t.Errorf("JSON %+v", doc)
	}

	// Without a name, as kafka-configs.sh: every topic.
	ok(t, s, "topics", "create", "unconfigured")
	var every configsDoc
	decode(t, ok(t, s, "-o", "json", "configs", "describe", "--entity-type", "topics"), &every)
	if len(every.Resources) != 2 || every.Resources[0].Name != "configured" || len(every.values(0)) != 2 ||
		every.Resources[1].Name != "unconfigured" || len(every.values(1)) != 0 {
		t.Errorf("--entity-type topics without a name: %+v, want configured with its 2 overrides and unconfigured with none", every)
	}

	var all configsDoc
	decode(t, ok(t, s, "-o", "json", "configs", "describe", "--topic", "configured", "--all"), &all)
	got := all.values(0)
	for _, w := range []string{"retention.ms=60000@DYNAMIC_TOPIC_CONFIG", "segment.bytes=1073741824@DEFAULT_CONFIG", "min.insync.replicas=1@DEFAULT_CONFIG"} {
		if !slices.Contains(got, w) {
			t.Errorf("--all has no %s: %v", w, got)
		}
	}
	if !slices.IsSortedFunc(all.Resources[0].Configs, func(a, b struct {
		Name      string  `json:"name"`
		Value     *string `json:"value"`
		Source    string  `json:"source"`
		Sensitive bool    `json:"sensitive"`
		ReadOnly  bool    `json:"read_only"`
	}) int {
		return strings.Compare(a.Name, b.Name)
	}) {
		t.Error("--all configs are not sorted by name")
	}
	if table := ok(t, s, "configs", "describe", "--topic", "configured", "--all"); !strings.HasPrefix(table, "All configs for topic configured:\n") || !strings.Contains(table, "DEFAULT_CONFIG") {
		t.Errorf("--all table:\n%s", table)
	}
}

func TestConfigsAlterSetsAndDeletesTopicConfigs(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "reconfigured", "--config", "retention.ms=60000")
	if got := ok(t, s, "configs", "alter", "--topic", "reconfigured", "--add-config", "segment.ms=3600000,cleanup.policy=[compact,delete]", "--delete-config", "retention.ms"); got != "Completed updating config for topic reconfigured.\n" {
		t.Errorf("alter printed %q", got)
	}
	_, _, cfg := topicState(t, s, "reconfigured")
	if len(cfg) != 2 || cfg["segment.ms"] != "3600000" || cfg["cleanup.policy"] != "compact,delete" {
		t.Errorf("overrides %v: want segment.ms and the list cleanup.policy, retention.ms gone", cfg)
	}

	var doc struct {
		Type    string            `json:"type"`
		Name    string            `json:"name"`
		Set     map[string]string `json:"set"`
		Deleted []string          `json:"deleted"`
	}
	decode(t, ok(t, s, "-o", "json", "configs", "alter", "--entity-type", "topics", "--entity-name", "reconfigured", "--delete-config", "segment.ms,cleanup.policy"), &doc)
	if doc.Type != "topic" || doc.Name != "reconfigured" || len(doc.Set) != 0 || !slices.Equal(doc.Deleted, []string{"cleanup.policy", "segment.ms"}) {
		t.Errorf("JSON %+v", doc)
	}
	if _, _, cfg := topicState(t, s, "reconfigured"); len(cfg) != 0 {
		t.Errorf("overrides %v after deleting them all", cfg)
	}
}

func TestConfigsRefusalsAndMissingTopics(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "strict")
	fails(t, s, 1, `samsa configs describe: describe configs of topic "nowhere": topic "nowhere" does not exist`, "configs", "describe", "--topic", "nowhere")
	fails(t, s, 1, `samsa configs alter: alter configs of topic nowhere: topic "nowhere" does not exist`, "configs", "alter", "--topic", "nowhere", "--add-config", "retention.ms=1")
	r := samsa(t, s, "configs", "alter", "--topic", "strict", "--add-config", "retention.ms=soon")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "samsa configs alter: alter configs of topic strict: INVALID_CONFIG: ") {
		t.Errorf("an invalid value: exit %d, %q", r.code, r.stderr)
	}
	fails(t, s, 1, "samsa configs describe: broker 9 is not in the cluster (brokers: 1)", "configs", "describe", "--broker", "9")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"configs", "describe"}, "samsa configs describe: name an entity: --topic, --broker, --broker-defaults, --user, --client, --ip, or --entity-type with --entity-name"},
		{[]string{"configs", "describe", "--topic", "a", "--broker", "1"}, "samsa configs describe: name one entity: --topic and --broker given together"},
		{[]string{"configs", "describe", "--entity-type", "groups"}, `samsa configs describe: --entity-type "groups": want topics, brokers, users, clients or ips`},
		{[]string{"configs", "describe", "--broker", "one"}, `samsa configs describe: broker "one": want a broker ID`},
		{[]string{"configs", "describe", "--entity-type", "topics", "--entity-default"}, "samsa configs describe: --entity-default is for --entity-type brokers, users, clients or ips"},
		{[]string{"configs", "alter", "--topic", "strict"}, "samsa configs alter: nothing to alter: give --add-config or --delete-config"},
		{[]string{"configs", "alter", "--entity-type", "topics", "--add-config", "a=1"}, "samsa configs alter: name the entity to alter: --entity-name or --entity-default"},
		{[]string{"configs", "alter", "--topic", "strict", "--add-config", "retention.ms"}, `samsa configs alter: --add-config "retention.ms": want key=value[,key=value]`},
		{[]string{"configs", "alter", "--topic", "strict", "--add-config", "a=1", "--delete-config", "a"}, "samsa configs alter: config a is both added and deleted"},
	} {
		fails(t, s, 2, c.want, c.args...)
	}
}

// A dynamic broker config is every topic's inherited value: topic
// describe shows it among the configs that differ from the defaults.
func TestConfigsDescribeAndAlterBrokersAndTheClusterWideDefault(t *testing.T) {
	s := oneBroker(t)

	if got := lines(ok(t, s, "configs", "describe", "--broker", "1")); !slices.Equal(got, []string{"Dynamic configs for broker 1:", "(none)"}) {
		t.Errorf("a broker without dynamic configs:\n%s", strings.Join(got, "\n"))
	}
	var all configsDoc
	decode(t, ok(t, s, "-o", "json", "configs", "describe", "--entity-type", "brokers", "--entity-name", "1", "--all"), &all)
	var sawID bool
	for _, cf := range all.Resources[0].Configs {
		if cf.Name == "broker.id" {
			sawID = cf.Value != nil && *cf.Value == "1" && cf.ReadOnly
		}
	}
	if all.Resources[0].Type != "broker" || all.Resources[0].Name != "1" || !sawID {
		t.Errorf("--all of broker 1: want broker.id=1, read-only, among %v", all.values(0))
	}

	ok(t, s, "configs", "alter", "--broker", "1", "--add-config", "log.retention.ms=7200000")
	if got := ok(t, s, "configs", "alter", "--broker-defaults", "--add-config", "log.retention.bytes=1048576"); got != "Completed updating config for the cluster-wide broker default.\n" {
		t.Errorf("alter --broker-defaults printed %q", got)
	}

	var doc configsDoc
	decode(t, ok(t, s, "-o", "json", "configs", "describe", "--broker", "1"), &doc)
	if got := doc.values(0); !slices.Equal(got, []string{"log.retention.ms=7200000@DYNAMIC_BROKER_CONFIG"}) {
		t.Errorf("broker 1's dynamic configs %v", got)
	}
	decode(t, ok(t, s, "-o", "json", "configs", "describe", "--entity-type", "brokers", "--entity-default"), &doc)
	if doc.Resources[0].Name != "" || !slices.Equal(doc.values(0), []string{"log.retention.bytes=1048576@DYNAMIC_DEFAULT_BROKER_CONFIG"}) {
		t.Errorf("the cluster-wide default: %q %v", doc.Resources[0].Name, doc.values(0))
	}
	want := []string{
		"Dynamic configs for the cluster-wide broker default:",
		"NAME VALUE SOURCE SENSITIVE READ-ONLY",
		"log.retention.bytes 1048576 DYNAMIC_DEFAULT_BROKER_CONFIG false false",
	}
	if got := lines(ok(t, s, "configs", "describe", "--broker-defaults")); !slices.Equal(got, want) {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A topic inherits both; its describe shows them as not defaults.
	ok(t, s, "topics", "create", "inherits")
	var td describeDoc
	decode(t, ok(t, s, "-o", "json", "topics", "describe", "inherits"), &td)
	var inherited []string
	for _, cf := range td.Topics[0].Configs {
		inherited = append(inherited, cf.Name+"="+*cf.Value+"@"+cf.Source)
	}
	if want := []string{"retention.bytes=1048576@DYNAMIC_DEFAULT_BROKER_CONFIG", "retention.ms=7200000@DYNAMIC_BROKER_CONFIG"}; !slices.Equal(inherited, want) {
		t.Errorf("topic describe's configs %v, want %v", inherited, want)
	}

	ok(t, s, "configs", "alter", "--broker", "1", "--delete-config", "log.retention.ms")
	decode(t, ok(t, s, "-o", "json", "configs", "describe", "--broker", "1"), &doc)
	if len(doc.Resources[0].Configs) != 0 {
		t.Errorf("after --delete-config broker 1 still has %v", doc.values(0))
	}
	r := samsa(t, s, "configs", "alter", "--broker", "1", "--add-config", "broker.id=5")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "samsa configs alter: alter configs of broker 1: INVALID_") {
		t.Errorf("altering a read-only config: exit %d, %q", r.code, r.stderr)
	}
}
