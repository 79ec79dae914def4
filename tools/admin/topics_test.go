package admin_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// topicState is what the cluster itself says of a topic: partitions,
// replicas per partition, and its overridden configs.
func topicState(t *testing.T, seeds []string, topic string) (partitions, rf int, overrides map[string]string) {
	t.Helper()
	adm := adminClient(t, seeds)
	ctx := context.Background()
	topics, err := adm.ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	td := topics[topic]
	if td.Err != nil {
		t.Fatalf("topic %s: %v", topic, td.Err)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	overrides = map[string]string{}
	for _, c := range rcs[0].Configs {
		if c.Source.String() == "DYNAMIC_TOPIC_CONFIG" {
			overrides[c.Key] = c.MaybeValue()
		}
	}
	return len(td.Partitions), td.Partitions.NumReplicas(), overrides
}

func topicExists(t *testing.T, seeds []string, topic string) bool {
	t.Helper()
	topics, err := adminClient(t, seeds).ListTopics(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return topics.Has(topic)
}

func TestTopicsCreateMakesTheTopicItPrints(t *testing.T) {
	s := oneBroker(t)
	if got := ok(t, s, "topics", "create", "--topic", "create-table", "--partitions", "3", "--config", "retention.ms=60000", "--config", "cleanup.policy=compact,delete"); got != "Created topic create-table.\n" {
		t.Errorf("table output %q", got)
	}
	p, rf, cfg := topicState(t, s, "create-table")
	if p != 3 || rf != 1 || cfg["retention.ms"] != "60000" || cfg["cleanup.policy"] != "compact,delete" {
		t.Errorf("the cluster has %d partitions, rf %d, overrides %v", p, rf, cfg)
	}

	var doc struct {
		Name              string `json:"name"`
		ID                string `json:"id"`
		Partitions        int32  `json:"partitions"`
		ReplicationFactor int16  `json:"replication_factor"`
		Created           bool   `json:"created"`
	}
	decode(t, ok(t, s, "-o", "json", "topics", "create", "create-json"), &doc)
	if doc.Name != "create-json" || len(doc.ID) != 22 || doc.Partitions != 1 || doc.ReplicationFactor != 1 || !doc.Created {
		t.Errorf("JSON %+v: want create-json, a 22-character ID, the broker's defaults (1 partition, 1 replica), created", doc)
	}
}

func TestTopicsCreateAnExistingTopicIsRefusedUnlessIfNotExists(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "exists", "--partitions", "2")
	fails(t, s, 1, "samsa topics create: TOPIC_ALREADY_EXISTS: Topic 'exists' already exists.", "topics", "create", "exists")

	if got := ok(t, s, "topics", "create", "exists", "--if-not-exists", "--partitions", "5"); got != "Topic exists already exists.\n" {
		t.Errorf("--if-not-exists printed %q", got)
	}
	var doc struct {
		Name       string `json:"name"`
		ID         string `json:"id"`
		Partitions int32  `json:"partitions"`
		Created    bool   `json:"created"`
		RF         int16  `json:"replication_factor"`
	}
	decode(t, ok(t, s, "-o", "json", "topics", "create", "exists", "--if-not-exists"), &doc)
	if doc.Created || doc.Partitions != 2 || doc.ID == "" {
		t.Errorf("JSON %+v: want the existing topic's 2 partitions and ID, not created", doc)
	}
}

func TestTopicsCreateRefusalsShowKafkasErrorName(t *testing.T) {
	s := oneBroker(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"refused-rf", "--replication-factor", "3"}, "INVALID_REPLICATION_FACTOR"},
		{[]string{"refused-config", "--config", "retention.ms=soon"}, "INVALID_CONFIG"},
		{[]string{"refused-config-key", "--config", "no.such.config=1"}, "INVALID_CONFIG"},
		{[]string{"refused-assignment", "--replica-assignment", "1,7"}, "INVALID_REPLICA_ASSIGNMENT"},
		{[]string{"bad/name"}, "INVALID_TOPIC_EXCEPTION"},
	} {
		r := samsa(t, s, append([]string{"topics", "create"}, c.args...)...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "samsa topics create: "+c.want+": ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("create %v: exit %d, stderr %q; want exit 1 and one line %s: <the broker's message>", c.args, r.code, r.stderr, c.want)
		}
		if topicExists(t, s, c.args[0]) {
			t.Errorf("create %v was refused but made the topic", c.args)
		}
	}
}

func TestTopicsCreateWithAReplicaAssignmentPlacesEachPartition(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "assigned", "--replica-assignment", "1,1,1")
	if p, rf, _ := topicState(t, s, "assigned"); p != 3 || rf != 1 {
		t.Errorf("the cluster has %d partitions of %d replicas, want 3 of 1", p, rf)
	}
}

func TestTopicsBadCommandLinesExitTwoAndTouchNothing(t *testing.T) {
	s := oneBroker(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"topics", "create"}, "samsa topics create: name a topic: --topic NAME, or NAME as the argument"},
		{[]string{"topics", "create", "bad-line", "--replica-assignment", "1:1"}, `samsa topics create: --replica-assignment "1:1": partition 0 names broker 1 twice`},
		{[]string{"topics", "create", "bad-line", "--replica-assignment", "1", "--partitions", "2"}, "samsa topics create: --replica-assignment cannot be used with --partitions or --replication-factor"},
		{[]string{"topics", "create", "bad-line", "--config", "retention.ms"}, `samsa topics create: --config "retention.ms": want key=value`},
		{[]string{"topics", "create", "bad-line", "--partitions", "0"}, "samsa topics create: --partitions 0: want at least 1"},
		{[]string{"topics", "create", "bad-line", "--topic", "other"}, "samsa topics create: the topic is given twice: --topic other and bad-line"},
		{[]string{"topics", "alter", "bad-line"}, "samsa topics alter: nothing to alter: give --partitions or --config"},
		{[]string{"topics", "delete"}, "samsa topics delete: name the topics to delete: --topic NAME, or NAMEs as arguments"},
		{[]string{"topics", "list", "extra"}, `samsa topics list: unknown command "extra" for "samsa topics list"`},
	} {
		fails(t, s, 2, c.want, c.args...)
	}
	if topicExists(t, s, "bad-line") {
		t.Error("a bad command line created its topic")
	}
}

func TestTopicsListShowsEveryTopicAndExcludeInternalHidesInternalOnes(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "listed", "--partitions", "4")
	// A group coordinator lookup makes the broker create __consumer_offsets.
	adm := adminClient(t, s)
	checkFor(t, "__consumer_offsets", func() error {
		adm.FindGroupCoordinators(context.Background(), "listing")
		if !topicExists(t, s, "__consumer_offsets") {
			return fmt.Errorf("not created yet")
		}
		return nil
	})

	all := lines(ok(t, s, "topics", "list"))
	if all[0] != "TOPIC PARTITIONS REPLICATION-FACTOR" || !slices.Contains(all, "listed 4 1") || !slices.ContainsFunc(all, func(l string) bool { return strings.HasPrefix(l, "__consumer_offsets ") }) {
		t.Errorf("list:\n%s", strings.Join(all, "\n"))
	}
	if !slices.IsSorted(all[1:]) {
		t.Errorf("list is not sorted by name:\n%s", strings.Join(all, "\n"))
	}
	if ext := lines(ok(t, s, "topics", "list", "--exclude-internal")); slices.ContainsFunc(ext, func(l string) bool { return strings.HasPrefix(l, "__") }) || !slices.Contains(ext, "listed 4 1") {
		t.Errorf("list --exclude-internal:\n%s", strings.Join(ext, "\n"))
	}

	var doc struct {
		Topics []struct {
			Name              string `json:"name"`
			ID                string `json:"id"`
			Internal          bool   `json:"internal"`
			Partitions        int    `json:"partitions"`
			ReplicationFactor int    `json:"replication_factor"`
		} `json:"topics"`
	}
	decode(t, ok(t, s, "-o", "json", "topics", "list"), &doc)
	var sawListed, sawOffsets bool
	for _, tp := range doc.Topics {
		switch tp.Name {
		case "listed":
			sawListed = tp.Partitions == 4 && tp.ReplicationFactor == 1 && !tp.Internal && tp.ID != ""
		case "__consumer_offsets":
			sawOffsets = tp.Internal
		}
	}
	if !sawListed || !sawOffsets {
		t.Errorf("JSON list %+v: want listed (4 partitions, 1 replica) and __consumer_offsets marked internal", doc.Topics)
	}
}

func TestTopicsListTopicIsARegularExpressionMatchingTheWholeName(t *testing.T) {
	s := oneBroker(t)
	for _, name := range []string{"orders", "orders-eu", "orders.archive", "payments"} {
		ok(t, s, "topics", "create", name)
	}
	if got := lines(ok(t, s, "topics", "list", "--topic", "orders.*")); !slices.Equal(got, []string{"TOPIC PARTITIONS REPLICATION-FACTOR", "orders 1 1", "orders-eu 1 1", "orders.archive 1 1"}) {
		t.Errorf("list --topic 'orders.*':\n%s", strings.Join(got, "\n"))
	}
	// The pattern must match the whole name: "orders" alone is not a prefix match.
	if got := lines(ok(t, s, "topics", "list", "--topic", "orders")); !slices.Equal(got, []string{"TOPIC PARTITIONS REPLICATION-FACTOR", "orders 1 1"}) {
		t.Errorf("list --topic orders:\n%s", strings.Join(got, "\n"))
	}
	if got := lines(ok(t, s, "topics", "list", "--topic", `orders\.archive|payments`)); !slices.Equal(got, []string{"TOPIC PARTITIONS REPLICATION-FACTOR", "orders.archive 1 1", "payments 1 1"}) {
		t.Errorf("list --topic with an escaped dot and an alternative:\n%s", strings.Join(got, "\n"))
	}
	fails(t, s, 2, "samsa topics list: --topic: error parsing regexp: missing closing ): `orders(`", "topics", "list", "--topic", "orders(")
}

// describeDoc is `topics describe -o json`, as a script reads it.
type describeDoc struct {
	Topics []struct {
		Name              string `json:"name"`
		ID                string `json:"id"`
		Internal          bool   `json:"internal"`
		PartitionCount    int    `json:"partition_count"`
		ReplicationFactor int    `json:"replication_factor"`
		Configs           []struct {
			Name      string  `json:"name"`
			Value     *string `json:"value"`
			Source    string  `json:"source"`
			Sensitive bool    `json:"sensitive"`
			ReadOnly  bool    `json:"read_only"`
		} `json:"configs"`
		Partitions []struct {
			Partition       int32   `json:"partition"`
			Leader          int32   `json:"leader"`
			LeaderEpoch     int32   `json:"leader_epoch"`
			Replicas        []int32 `json:"replicas"`
			ISR             []int32 `json:"isr"`
			OfflineReplicas []int32 `json:"offline_replicas"`
			UnderReplicated bool    `json:"under_replicated"`
			Offline         bool    `json:"offline"`
			AtMinISR        bool    `json:"at_min_isr"`
			UnderMinISR     bool    `json:"under_min_isr"`
			Error           string  `json:"error"`
		} `json:"partitions"`
	} `json:"topics"`
}

func TestTopicsDescribeShowsPartitionsAndTheConfigsThatDifferFromDefaults(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "described", "--partitions", "2", "--config", "retention.ms=60000", "--config", "max.message.bytes=2000")
	ok(t, s, "topics", "create", "described-plain")

	var doc describeDoc
	decode(t, ok(t, s, "-o", "json", "topics", "describe", "described"), &doc)
	if len(doc.Topics) != 1 {
		t.Fatalf("JSON has %d topics, want 1", len(doc.Topics))
	}
	d := doc.Topics[0]
	if d.Name != "described" || len(d.ID) != 22 || d.PartitionCount != 2 || d.ReplicationFactor != 1 || d.Internal {
		t.Errorf("JSON topic %+v", d)
	}
	var configs []string
	for _, c := range d.Configs {
		configs = append(configs, fmt.Sprintf("%s=%s %s", c.Name, *c.Value, c.Source))
	}
	if want := []string{"max.message.bytes=2000 DYNAMIC_TOPIC_CONFIG", "retention.ms=60000 DYNAMIC_TOPIC_CONFIG"}; !slices.Equal(configs, want) {
		t.Errorf("JSON configs %v, want %v (the overrides only, by name)", configs, want)
	}
	for i, p := range d.Partitions {
		if p.Partition != int32(i) || p.Leader != 1 || !slices.Equal(p.Replicas, []int32{1}) || !slices.Equal(p.ISR, []int32{1}) ||
			len(p.OfflineReplicas) != 0 || p.UnderReplicated || p.Offline || !p.AtMinISR || p.UnderMinISR || p.Error != "" {
			t.Errorf("JSON partition %d: %+v", i, p)
		}
	}

	want := []string{
		"Topic: described TopicId: " + d.ID + " PartitionCount: 2 ReplicationFactor: 1 Configs: max.message.bytes=2000,retention.ms=60000",
		"PARTITION LEADER REPLICAS ISR OFFLINE STATUS",
		"0 1 1 1 - -",
		"1 1 1 1 - -",
		"",
		"Topic: described-plain TopicId: ",
	}
	got := lines(ok(t, s, "topics", "describe", "described", "--topic", "described-plain"))
	if len(got) != 8 || !slices.Equal(got[:5], want[:5]) || !strings.HasPrefix(got[5], want[5]) || !strings.HasSuffix(got[5], "PartitionCount: 1 ReplicationFactor: 1 Configs:") {
		t.Errorf("table:\n%s\nwant:\n%s...", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	overrides := lines(ok(t, s, "topics", "describe", "described", "described-plain", "--topics-with-overrides"))
	if len(overrides) != 1 || !strings.HasPrefix(overrides[0], "Topic: described TopicId:") {
		t.Errorf("--topics-with-overrides:\n%s\nwant the one topic line of described", strings.Join(overrides, "\n"))
	}
	// A healthy single-replica topic has nothing under-replicated or offline.
	for _, flag := range []string{"--under-replicated-partitions", "--unavailable-partitions", "--under-min-isr-partitions"} {
		if got := lines(ok(t, s, "topics", "describe", "described", flag)); len(got) != 1 {
			t.Errorf("describe %s: %q, want the header only", flag, got)
		}
	}
	if got := lines(ok(t, s, "topics", "describe", "described", "--at-min-isr-partitions")); len(got) != 3 || got[1] != "described 0 1 1 1 - -" {
		t.Errorf("describe --at-min-isr-partitions:\n%s\nwant both partitions (ISR 1 = min.insync.replicas 1)", strings.Join(got, "\n"))
	}
}

func TestTopicsDescribeAMissingTopicFailsUnlessIfExists(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "present")
	fails(t, s, 1, `samsa topics describe: topic "absent" does not exist`, "topics", "describe", "present", "absent")

	var doc describeDoc
	decode(t, ok(t, s, "-o", "json", "topics", "describe", "present", "absent", "--if-exists"), &doc)
	if len(doc.Topics) != 1 || doc.Topics[0].Name != "present" {
		t.Errorf("--if-exists: %+v, want present only", doc.Topics)
	}
	if topicExists(t, s, "absent") {
		t.Error("describing a missing topic created it")
	}
}

func TestTopicsAlterRaisesPartitionsAndSetsConfigs(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "altered", "--partitions", "2")
	got := ok(t, s, "topics", "alter", "altered", "--partitions", "5", "--config", "retention.ms=120000", "--config", "segment.ms=3600000")
	want := "Set configs of topic altered: retention.ms=120000, segment.ms=3600000.\nRaised the partitions of topic altered from 2 to 5.\n"
	if got != want {
		t.Errorf("alter printed %q, want %q", got, want)
	}
	p, _, cfg := topicState(t, s, "altered")
	if p != 5 || cfg["retention.ms"] != "120000" || cfg["segment.ms"] != "3600000" {
		t.Errorf("the cluster has %d partitions and overrides %v", p, cfg)
	}

	var doc struct {
		Name       string            `json:"name"`
		Exists     bool              `json:"exists"`
		Partitions *int32            `json:"partitions"`
		ConfigsSet map[string]string `json:"configs_set"`
	}
	decode(t, ok(t, s, "-o", "json", "topics", "alter", "--topic", "altered", "--config", "retention.ms=1000"), &doc)
	if doc.Name != "altered" || !doc.Exists || doc.Partitions != nil || len(doc.ConfigsSet) != 1 || doc.ConfigsSet["retention.ms"] != "1000" {
		t.Errorf("JSON %+v", doc)
	}
	if _, _, cfg := topicState(t, s, "altered"); cfg["retention.ms"] != "1000" || cfg["segment.ms"] != "3600000" {
		t.Errorf("overrides %v: want retention.ms set and segment.ms kept (incremental)", cfg)
	}

	r := samsa(t, s, "topics", "alter", "altered", "--partitions", "3")
	if r.code != 1 || !strings.HasPrefix(r.stderr, `samsa topics alter: alter partitions of topic "altered": INVALID_PARTITIONS: `) {
		t.Errorf("lowering partitions: exit %d, %q", r.code, r.stderr)
	}
	r = samsa(t, s, "topics", "alter", "altered", "--config", "retention.ms=never")
	if r.code != 1 || !strings.HasPrefix(r.stderr, `samsa topics alter: alter configs of topic "altered": INVALID_CONFIG: `) {
		t.Errorf("an invalid config: exit %d, %q", r.code, r.stderr)
	}
	if p, _, cfg := topicState(t, s, "altered"); p != 5 || cfg["retention.ms"] != "1000" {
		t.Errorf("refused alters changed the topic: %d partitions, %v", p, cfg)
	}
}

func TestTopicsAlterAMissingTopicFailsUnlessIfExists(t *testing.T) {
	s := oneBroker(t)
	fails(t, s, 1, `samsa topics alter: topic "alter-absent" does not exist`, "topics", "alter", "alter-absent", "--partitions", "4")
	if got := ok(t, s, "topics", "alter", "alter-absent", "--partitions", "4", "--if-exists"); got != "Topic alter-absent does not exist; nothing altered.\n" {
		t.Errorf("--if-exists printed %q", got)
	}
	if topicExists(t, s, "alter-absent") {
		t.Error("altering a missing topic created it")
	}
}

func TestTopicsDeleteDeletesSeveralTopics(t *testing.T) {
	s := oneBroker(t)
	for _, name := range []string{"doomed-1", "doomed-2", "doomed-3"} {
		ok(t, s, "topics", "create", name)
	}
	if got := ok(t, s, "topics", "delete", "doomed-1", "--topic", "doomed-2"); got != "Deleted topic doomed-2.\nDeleted topic doomed-1.\n" {
		t.Errorf("delete printed %q", got)
	}
	for _, name := range []string{"doomed-1", "doomed-2"} {
		if topicExists(t, s, name) {
			t.Errorf("%s still exists", name)
		}
	}

	// One missing name: nothing is deleted.
	fails(t, s, 1, `samsa topics delete: topic "doomed-1" does not exist`, "topics", "delete", "doomed-3", "doomed-1")
	if !topicExists(t, s, "doomed-3") {
		t.Error("a delete that failed on a missing topic deleted another")
	}

	var doc struct {
		Deleted []string `json:"deleted"`
		Missing []string `json:"missing"`
	}
	decode(t, ok(t, s, "-o", "json", "topics", "delete", "doomed-3", "doomed-1", "--if-exists"), &doc)
	if !slices.Equal(doc.Deleted, []string{"doomed-3"}) || !slices.Equal(doc.Missing, []string{"doomed-1"}) {
		t.Errorf("JSON %+v: want doomed-3 deleted, doomed-1 missing", doc)
	}
	if topicExists(t, s, "doomed-3") {
		t.Error("doomed-3 still exists")
	}
}

func TestEveryCommandFailsInOneLineWhenNoBrokerAnswers(t *testing.T) {
	addr := closedPort(t)
	for _, args := range [][]string{
		{"topics", "create", "t"},
		{"topics", "list"},
		{"topics", "describe", "t"},
		{"topics", "alter", "t", "--partitions", "2"},
		{"topics", "delete", "t"},
		{"configs", "describe", "--topic", "t"},
		{"configs", "alter", "--topic", "t", "--add-config", "retention.ms=1"},
		{"cluster"},
	} {
		r := samsa(t, []string{addr}, args...)
		want := fmt.Sprintf("samsa %s: cannot reach a broker at %s: ", strings.Join(args[:min(2, len(args))], " "), addr)
		if args[0] == "cluster" {
			want = "samsa cluster: cannot reach a broker at " + addr + ": "
		}
		if r.code != 1 || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and one line %q...", args, r.code, r.stdout, r.stderr, want)
		}
	}
}

func TestTopicNamesCompleteForTheTopicFlagAndArguments(t *testing.T) {
	s := oneBroker(t)
	ok(t, s, "topics", "create", "complete-me")
	ok(t, s, "topics", "create", "complete-you")
	completions := func(args ...string) []string {
		out := ok(t, s, append([]string{"__complete"}, args...)...)
		var names []string
		for _, l := range lines(out) {
			if strings.HasPrefix(l, ":") {
				break // the directive
			}
			names = append(names, l)
		}
		return names
	}
	both := []string{"complete-me", "complete-you"}
	for _, args := range [][]string{
		{"topics", "describe", "complete-"},
		{"topics", "describe", "--topic", "complete-"},
		{"topics", "alter", "complete-"},
		{"topics", "delete", "--topic", "complete-"},
		{"configs", "describe", "--topic", "complete-"},
		{"configs", "alter", "--entity-type", "topics", "--entity-name", "complete-"},
	} {
		if got := completions(args...); !slices.Equal(got, both) {
			t.Errorf("complete %v: %q, want %q", args, got, both)
		}
	}
	if got := completions("topics", "delete", "complete-me", "complete-"); !slices.Equal(got, []string{"complete-you"}) {
		t.Errorf("a topic already given is offered again: %q", got)
	}
	if got := completions("topics", "alter", "complete-me", "complete-"); len(got) != 0 {
		t.Errorf("alter takes one topic, but completes a second: %q", got)
	}
}
