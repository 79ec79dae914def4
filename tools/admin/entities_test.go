package admin_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-io/samsa/broker/embedded"
)

// saslBroker starts a broker whose one listener is SASL_PLAINTEXT with
// PLAIN (user admin) and SCRAM-SHA-256, and writes the --command-config
// file that logs in as admin.
func saslBroker(t *testing.T) (seeds []string, commandConfig string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	c, err := embedded.Start(ctx, embedded.Config{Overrides: map[string]string{
		"listeners":               "SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";`,
	}})
	if err != nil {
		t.Fatalf("start a SASL_PLAINTEXT broker: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	commandConfig = filepath.Join(t.TempDir(), "admin.properties")
	props := "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n" +
		`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret";` + "\n"
	if err := os.WriteFile(commandConfig, []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	return c.Seeds(), commandConfig
}

// scramLogin logs in to seeds as user with SCRAM-SHA-256 and asks for the
// cluster's metadata.
func scramLogin(seeds []string, user, password string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha256Mechanism()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	_, err = kadm.NewClient(cl).BrokerMetadata(ctx)
	return err
}

// entitiesDoc is `configs describe -o json` of users, clients or ips.
type entitiesDoc struct {
	Quotas []struct {
		Entity []struct {
			Type string  `json:"type"`
			Name *string `json:"name"`
		} `json:"entity"`
		Values map[string]float64 `json:"values"`
	} `json:"quotas"`
	ScramCredentials []struct {
		User        string `json:"user"`
		Credentials []struct {
			Mechanism  string `json:"mechanism"`
			Iterations int32  `json:"iterations"`
		} `json:"credentials"`
	} `json:"scram_credentials"`
}

// quotas are the document's quotas as "entity: key=value" lines, an
// entity as "user=alice,client-id=<default>".
func (d entitiesDoc) quotas() []string {
	var out []string
	for _, q := range d.Quotas {
		var parts []string
		for _, p := range q.Entity {
			name := "<default>"
			if p.Name != nil {
				name = *p.Name
			}
			parts = append(parts, p.Type+"="+name)
		}
		for k, v := range q.Values {
			out = append(out, strings.Join(parts, ",")+": "+k+"="+strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	slices.Sort(out)
	return out
}

// scramOf are the document's credentials as "user MECHANISM=iterations".
func (d entitiesDoc) scramOf() []string {
	var out []string
	for _, u := range d.ScramCredentials {
		for _, c := range u.Credentials {
			out = append(out, u.User+" "+c.Mechanism+"="+strconv.Itoa(int(c.Iterations)))
		}
	}
	return out
}

func TestConfigsAlterUsersCreatesSCRAMCredentialsAUserLogsInWith(t *testing.T) {
	seeds, admin := saslBroker(t)
	cc := []string{"--command-config", admin}
	alter := append(slices.Clone(cc), "configs", "alter", "--entity-type", "users", "--entity-name", "alice",
		"--add-config", "SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=alice-secret]")
	if got := ok(t, seeds, alter...); got != "Completed updating config for user alice.\n" {
		t.Errorf("alter printed %q", got)
	}
	if err := scramLogin(seeds, "alice", "alice-secret"); err != nil {
		t.Errorf("alice's SCRAM-SHA-256 login: %v", err)
	}
	if err := scramLogin(seeds, "alice", "wrong-secret"); err == nil {
		t.Error("a SCRAM login with a wrong password succeeded")
	}

	table := ok(t, seeds, append(slices.Clone(cc), "configs", "describe", "--entity-type", "users", "--entity-name", "alice")...)
	want := []string{
		"Quota configs:",
		"(none)",
		"",
		"SCRAM credential configs:",
		"USER MECHANISM ITERATIONS",
		"alice SCRAM-SHA-256 8192",
		"alice SCRAM-SHA-512 4096",
	}
	if got := lines(table); !slices.Equal(got, want) {
		t.Errorf("describe:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(table, "alice-secret") {
		t.Error("describe printed the password")
	}

	// --delete-config removes one mechanism; the other still logs in.
	ok(t, seeds, append(slices.Clone(cc), "configs", "alter", "--user", "alice", "--delete-config", "SCRAM-SHA-512")...)
	var doc entitiesDoc
	decode(t, ok(t, seeds, append(slices.Clone(cc), "-o", "json", "configs", "describe", "--entity-type", "users")...), &doc)
	if got := doc.scramOf(); !slices.Equal(got, []string{"alice SCRAM-SHA-256=8192"}) {
		t.Errorf("after deleting SCRAM-SHA-512: %v", got)
	}
	if err := scramLogin(seeds, "alice", "alice-secret"); err != nil {
		t.Errorf("alice's login after deleting her other mechanism: %v", err)
	}
}

func TestConfigsAlterAndDescribeQuotasOfUsersClientsAndIPs(t *testing.T) {
	seeds := oneBroker(t)
	ok(t, seeds, "configs", "alter", "--entity-type", "users", "--entity-name", "alice", "--add-config", "producer_byte_rate=1048576,consumer_byte_rate=2097152")
	if got := ok(t, seeds, "configs", "alter", "--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients", "--entity-name", "app",
		"--add-config", "request_percentage=12.5"); got != "Completed updating config for user alice.\n" {
		t.Errorf("alter of user+client printed %q", got)
	}
	if got := ok(t, seeds, "configs", "alter", "--entity-type", "clients", "--entity-default", "--add-config", "producer_byte_rate=1024"); got != "Completed updating default config for clients in the cluster.\n" {
		t.Errorf("alter of the default client printed %q", got)
	}
	ok(t, seeds, "configs", "alter", "--entity-type", "ips", "--entity-name", "10.0.0.1", "--add-config", "connection_creation_rate=10")
	ok(t, seeds, "configs", "alter", "--ip-defaults", "--add-config", "connection_creation_rate=100")

	var doc entitiesDoc
	decode(t, ok(t, seeds, "-o", "json", "configs", "describe", "--entity-type", "users", "--entity-name", "alice"), &doc)
	if got, want := doc.quotas(), []string{"user=alice: consumer_byte_rate=2097152", "user=alice: producer_byte_rate=1048576"}; !slices.Equal(got, want) {
		t.Errorf("alice's quotas %v, want %v", got, want)
	}
	if len(doc.ScramCredentials) != 0 {
		t.Errorf("alice has no SCRAM credentials, describe shows %v", doc.scramOf())
	}
	doc = entitiesDoc{}
	decode(t, ok(t, seeds, "-o", "json", "configs", "describe", "--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients"), &doc)
	if got, want := doc.quotas(), []string{"user=alice,client-id=app: request_percentage=12.5"}; !slices.Equal(got, want) {
		t.Errorf("alice's clients %v, want %v", got, want)
	}
	doc = entitiesDoc{}
	decode(t, ok(t, seeds, "-o", "json", "configs", "describe", "--entity-type", "ips"), &doc)
	if got, want := doc.quotas(), []string{"ip=10.0.0.1: connection_creation_rate=10", "ip=<default>: connection_creation_rate=100"}; !slices.Equal(got, want) {
		t.Errorf("ips %v, want %v", got, want)
	}
	want := []string{
		"Quota configs:",
		"ENTITY QUOTA VALUE",
		"client-id=<default> producer_byte_rate 1024",
	}
	if got := lines(ok(t, seeds, "configs", "describe", "--client-defaults")); !slices.Equal(got, want) {
		t.Errorf("the default client:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// --entity-name and --entity-default pair with the --entity-type
	// values in the order given, as kafka-configs.sh pairs them.
	if got := ok(t, seeds, "configs", "alter", "--entity-type", "users", "--entity-default", "--entity-type", "clients", "--entity-name", "app",
		"--add-config", "consumer_byte_rate=512"); got != "Completed updating default config for users in the cluster.\n" {
		t.Errorf("alter of the default user with client app printed %q", got)
	}
	doc = entitiesDoc{}
	decode(t, ok(t, seeds, "-o", "json", "configs", "describe", "--entity-type", "clients", "--entity-name", "app", "--entity-type", "users", "--entity-default"), &doc)
	if got, want := doc.quotas(), []string{"user=<default>,client-id=app: consumer_byte_rate=512"}; !slices.Equal(got, want) {
		t.Errorf("the default user with client app: %v, want %v", got, want)
	}

	// kadm sees what the command set.
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	described, err := adminClient(t, seeds).DescribeClientQuotas(ctx, true, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: kadm.StringPtr("alice")}})
	if err != nil || len(described) != 1 || len(described[0].Values) != 2 {
		t.Fatalf("kadm DescribeClientQuotas of alice: %v, %v", described, err)
	}
	for _, v := range described[0].Values {
		if (v.Key == "producer_byte_rate" && v.Value != 1048576) || (v.Key == "consumer_byte_rate" && v.Value != 2097152) {
			t.Errorf("kadm sees %s", v)
		}
	}

	ok(t, seeds, "configs", "alter", "--user", "alice", "--delete-config", "consumer_byte_rate")
	doc = entitiesDoc{}
	decode(t, ok(t, seeds, "-o", "json", "configs", "describe", "--user", "alice"), &doc)
	if got := doc.quotas(); !slices.Equal(got, []string{"user=alice: producer_byte_rate=1048576"}) {
		t.Errorf("after deleting consumer_byte_rate: %v", got)
	}
	// kafka-configs.sh's check: a quota the entity does not have.
	fails(t, seeds, 1, "samsa configs alter: alter client quotas of user=alice: Invalid config(s): consumer_byte_rate",
		"configs", "alter", "--user", "alice", "--delete-config", "consumer_byte_rate")
}

// As Kafka's tool, SCRAM and quota keys are altered in separate
// commands; a user has both.
func TestConfigsAlterAUserSCRAMAndQuotaKeysApartAndDescribesBoth(t *testing.T) {
	seeds := oneBroker(t)
	fails(t, seeds, 2, "samsa configs alter: Cannot alter both quota and SCRAM credential configs simultaneously for 'users' using --bootstrap-server.",
		"configs", "alter", "--entity-type", "users", "--entity-name", "bob",
		"--add-config", "SCRAM-SHA-512=[iterations=5000,password=bob-secret],producer_byte_rate=4096")
	var altered struct {
		Entity []struct {
			Type string  `json:"type"`
			Name *string `json:"name"`
		} `json:"entity"`
		Set     map[string]string `json:"set"`
		Deleted []string          `json:"deleted"`
	}
	out := ok(t, seeds, "-o", "json", "configs", "alter", "--entity-type", "users", "--entity-name", "bob",
		"--add-config", "SCRAM-SHA-512=[iterations=5000,password=bob-secret]")
	decode(t, out, &altered)
	if strings.Contains(out, "bob-secret") || len(altered.Entity) != 1 || altered.Entity[0].Type != "user" || *altered.Entity[0].Name != "bob" ||
		altered.Set["SCRAM-SHA-512"] != "iterations=5000" || len(altered.Deleted) != 0 {
		t.Errorf("JSON %s", out)
	}
	ok(t, seeds, "configs", "alter", "--entity-type", "users", "--entity-name", "bob", "--add-config", "producer_byte_rate=4096")
	var doc entitiesDoc
	decode(t, ok(t, seeds, "-o", "json", "configs", "describe", "--user", "bob"), &doc)
	if !slices.Equal(doc.quotas(), []string{"user=bob: producer_byte_rate=4096"}) || !slices.Equal(doc.scramOf(), []string{"bob SCRAM-SHA-512=5000"}) {
		t.Errorf("bob: quotas %v, SCRAM %v", doc.quotas(), doc.scramOf())
	}
	fails(t, seeds, 1, "samsa configs alter: alter SCRAM credentials of user=bob: RESOURCE_NOT_FOUND: "+
		"Attempt to delete a user credential that does not exist", "configs", "alter", "--user", "bob", "--delete-config", "SCRAM-SHA-256")
}

func TestConfigsUsersClientsAndIPsRefuseWhatKafkaRefuses(t *testing.T) {
	seeds := oneBroker(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--entity-type", "users", "--entity-default", "--add-config", "SCRAM-SHA-256=[password=x]"},
			"The use of --entity-default or --user-defaults is not allowed with User SCRAM Credentials using --bootstrap-server."},
		{[]string{"--entity-type", "clients", "--entity-name", "app", "--add-config", "SCRAM-SHA-256=[password=x]"},
			"Only quota configs can be added for 'clients' using --bootstrap-server. Unexpected config names: SCRAM-SHA-256"},
		{[]string{"--user", "alice", "--client", "app", "--delete-config", "SCRAM-SHA-256"},
			"Only quota configs can be deleted for 'clients' using --bootstrap-server. Unexpected config names: SCRAM-SHA-256"},
		{[]string{"--user", "alice", "--add-config", "retention.ms=1"},
			"Only quota and SCRAM credential configs can be added for 'users' using --bootstrap-server. Unexpected config names: retention.ms"},
		{[]string{"--ip", "10.0.0.1", "--add-config", "producer_byte_rate=1"},
			"Only connection quota configs can be added for 'ips' using --bootstrap-server. Unexpected config names: producer_byte_rate"},
		{[]string{"--user", "alice", "--add-config", "producer_byte_rate=fast"},
			"Cannot parse quota configuration value for producer_byte_rate: fast"},
		{[]string{"--user", "alice", "--add-config", "SCRAM-SHA-256=[iterations=1000,password=x]"},
			"Iterations 1000 is less than the minimum 4096 required for SCRAM-SHA-256"},
		{[]string{"--user", "alice", "--add-config", "SCRAM-SHA-256=[pass=x]"},
			"Invalid credential property SCRAM-SHA-256: want SCRAM-SHA-256=[iterations=N,password=P] or SCRAM-SHA-256=[password=P]"},
		{[]string{"--entity-type", "users", "--entity-type", "ips", "--entity-name", "a", "--entity-name", "1.2.3.4", "--add-config", "a=1"},
			"Only 'users' and 'clients' entity types may be specified together"},
		{[]string{"--entity-type", "users", "--entity-type", "users", "--entity-name", "a", "--entity-name", "b", "--add-config", "a=1"},
			"Duplicate entity type(s) specified: users"},
		{[]string{"--entity-type", "users", "--entity-type", "clients", "--entity-name", "a", "--add-config", "producer_byte_rate=1"},
			"An entity name must be specified for every entity type"},
		{[]string{"--entity-type", "ips", "--entity-name", "not an address", "--add-config", "connection_creation_rate=1"},
			"The entity name for ips must be a valid IP or resolvable host, but it is: not an address"},
	} {
		fails(t, seeds, 2, "samsa configs alter: "+c.want, append([]string{"configs", "alter"}, c.args...)...)
	}
}

// A cluster without the SCRAM APIs (kfake, told to leave them out of
// ApiVersions) is one line and exit 1.
func TestConfigsUsersAgainstAClusterWithoutSCRAMIsOneLine(t *testing.T) {
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(50, -1) // DescribeUserScramCredentials
	versions.SetMaxKeyVersion(51, -1) // AlterUserScramCredentials
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.MaxVersions(versions))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	fails(t, c.ListenAddrs(), 1, "samsa configs alter: alter SCRAM credentials of user=alice: "+
		"The ALTER_USER_SCRAM_CREDENTIALS API is not supported by the cluster. The API is supported starting from version 2.7.0.",
		"configs", "alter", "--user", "alice", "--add-config", "SCRAM-SHA-256=[password=x]")
}
