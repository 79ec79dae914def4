package quota_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/embedded"
)

func startCluster(t *testing.T, cfg embedded.Config) *embedded.Cluster {
	t.Helper()
	c, err := embedded.Start(testContext(t), cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t *testing.T, seeds []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func str(s string) *string { return &s }

func user(name *string) kadm.ClientQuotaEntityComponent {
	return kadm.ClientQuotaEntityComponent{Type: "user", Name: name}
}

func clientID(name *string) kadm.ClientQuotaEntityComponent {
	return kadm.ClientQuotaEntityComponent{Type: "client-id", Name: name}
}

func alter(t *testing.T, adm *kadm.Client, entity kadm.ClientQuotaEntity, ops ...kadm.AlterClientQuotaOp) {
	t.Helper()
	res, err := adm.AlterClientQuotas(testContext(t), []kadm.AlterClientQuotaEntry{{Entity: entity, Ops: ops}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil {
		t.Fatalf("alter %v: %v %s", entity, res[0].Err, res[0].ErrMessage)
	}
}

func set(key string, v float64) kadm.AlterClientQuotaOp {
	return kadm.AlterClientQuotaOp{Key: key, Value: v}
}

// described lists what a describe returned as "entity: key=value ..."
// lines, sorted, so a test compares the whole answer at once.
func described(qs kadm.DescribedClientQuotas) []string {
	var out []string
	for _, q := range qs {
		var ents, vals []string
		for _, e := range q.Entity {
			ents = append(ents, e.String())
		}
		slices.Sort(ents)
		for _, v := range q.Values {
			vals = append(vals, fmt.Sprintf("%s=%g", v.Key, v.Value))
		}
		slices.Sort(vals)
		out = append(out, strings.Join(ents, ",")+": "+strings.Join(vals, " "))
	}
	slices.Sort(out)
	return out
}

func describe(t *testing.T, adm *kadm.Client, strict bool, cs ...kadm.DescribeClientQuotaComponent) []string {
	t.Helper()
	qs, err := adm.DescribeClientQuotas(testContext(t), strict, cs)
	if err != nil {
		t.Fatal(err)
	}
	return described(qs)
}

func TestAlterAndDescribeClientQuotasRoundTripWithEveryMatchType(t *testing.T) {
	c := startCluster(t, embedded.Config{})
	adm := kadm.NewClient(newClient(t, c.Seeds()))

	alter(t, adm, kadm.ClientQuotaEntity{user(str("alice"))}, set("producer_byte_rate", 1024), set("request_percentage", 12.5))
	alter(t, adm, kadm.ClientQuotaEntity{user(str("alice")), clientID(str("app"))}, set("consumer_byte_rate", 2048))
	alter(t, adm, kadm.ClientQuotaEntity{user(nil)}, set("controller_mutation_rate", 10))
	alter(t, adm, kadm.ClientQuotaEntity{clientID(nil)}, set("producer_byte_rate", 4096))
	alter(t, adm, kadm.ClientQuotaEntity{{Type: "ip", Name: str("10.0.0.1")}}, set("connection_creation_rate", 5))

	const (
		alice    = "user=alice: producer_byte_rate=1024 request_percentage=12.5"
		aliceApp = "client-id=app,user=alice: consumer_byte_rate=2048"
		anyUser  = "user=<default>: controller_mutation_rate=10"
		anyApp   = "client-id=<default>: producer_byte_rate=4096"
		ip       = "ip=10.0.0.1: connection_creation_rate=5"
	)
	for _, tc := range []struct {
		name       string
		strict     bool
		components []kadm.DescribeClientQuotaComponent
		want       []string
	}{
		{"everything", false, nil, []string{aliceApp, anyApp, ip, alice, anyUser}},
		{"exact user", false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: str("alice"), MatchType: kmsg.QuotasMatchTypeExact}}, []string{aliceApp, alice}},
		{"exact user, strict", true, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: str("alice"), MatchType: kmsg.QuotasMatchTypeExact}}, []string{alice}},
		{"default user", false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: kmsg.QuotasMatchTypeDefault}}, []string{anyUser}},
		{"any user, strict", true, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchType: kmsg.QuotasMatchTypeAny}}, []string{alice, anyUser}},
		{"any client-id", false, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchType: kmsg.QuotasMatchTypeAny}}, []string{aliceApp, anyApp}},
		{"default client-id", false, []kadm.DescribeClientQuotaComponent{{Type: "client-id", MatchType: kmsg.QuotasMatchTypeDefault}}, []string{anyApp}},
		{"exact user and client-id", true, []kadm.DescribeClientQuotaComponent{
			{Type: "user", MatchName: str("alice"), MatchType: kmsg.QuotasMatchTypeExact},
			{Type: "client-id", MatchName: str("app"), MatchType: kmsg.QuotasMatchTypeExact},
		}, []string{aliceApp}},
		{"exact user nobody has", false, []kadm.DescribeClientQuotaComponent{{Type: "user", MatchName: str("bob"), MatchType: kmsg.QuotasMatchTypeExact}}, nil},
		{"any ip", false, []kadm.DescribeClientQuotaComponent{{Type: "ip", MatchType: kmsg.QuotasMatchTypeAny}}, []string{ip}},
	} {
		slices.Sort(tc.want)
		if got := describe(t, adm, tc.strict, tc.components...); !slices.Equal(got, tc.want) {
			t.Errorf("%s: described\n%s\nwant\n%s", tc.name, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}

	// Removing a key keeps the entity's others; removing the last one
	// removes the entity.
	alter(t, adm, kadm.ClientQuotaEntity{user(str("alice"))}, kadm.AlterClientQuotaOp{Key: "request_percentage", Remove: true})
	alter(t, adm, kadm.ClientQuotaEntity{user(nil)}, kadm.AlterClientQuotaOp{Key: "controller_mutation_rate", Remove: true})
	got := describe(t, adm, true, kadm.DescribeClientQuotaComponent{Type: "user", MatchType: kmsg.QuotasMatchTypeAny})
	if want := []string{"user=alice: producer_byte_rate=1024"}; !slices.Equal(got, want) {
		t.Errorf("after the removals: %v, want %v", got, want)
	}
}

func TestAlterClientQuotasRefusesWhatKafkaRefusesAndValidateOnlyStoresNothing(t *testing.T) {
	c := startCluster(t, embedded.Config{})
	adm := kadm.NewClient(newClient(t, c.Seeds()))
	for _, tc := range []struct {
		name   string
		entity kadm.ClientQuotaEntity
		op     kadm.AlterClientQuotaOp
	}{
		{"unknown key", kadm.ClientQuotaEntity{user(str("alice"))}, set("producer_rate", 1)},
		{"fractional byte rate", kadm.ClientQuotaEntity{user(str("alice"))}, set("producer_byte_rate", 1.5)},
		{"negative rate", kadm.ClientQuotaEntity{user(str("alice"))}, set("consumer_byte_rate", -1)},
		{"connection rate on a user", kadm.ClientQuotaEntity{user(str("alice"))}, set("connection_creation_rate", 1)},
		{"byte rate on an ip", kadm.ClientQuotaEntity{{Type: "ip", Name: str("10.0.0.1")}}, set("producer_byte_rate", 1)},
		{"ip that is not an address", kadm.ClientQuotaEntity{{Type: "ip", Name: str("not-an-ip")}}, set("connection_creation_rate", 1)},
		{"ip with a user", kadm.ClientQuotaEntity{user(str("alice")), {Type: "ip", Name: str("10.0.0.1")}}, set("connection_creation_rate", 1)},
		{"unknown entity type", kadm.ClientQuotaEntity{{Type: "group", Name: str("g")}}, set("producer_byte_rate", 1)},
		{"user twice", kadm.ClientQuotaEntity{user(str("alice")), user(str("bob"))}, set("producer_byte_rate", 1)},
	} {
		res, err := adm.AlterClientQuotas(testContext(t), []kadm.AlterClientQuotaEntry{{Entity: tc.entity, Ops: []kadm.AlterClientQuotaOp{tc.op}}})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != kerr.InvalidRequest {
			t.Errorf("%s: error %v, want INVALID_REQUEST", tc.name, res[0].Err)
		}
	}
	res, err := adm.ValidateAlterClientQuotas(testContext(t), []kadm.AlterClientQuotaEntry{{Entity: kadm.ClientQuotaEntity{user(str("alice"))}, Ops: []kadm.AlterClientQuotaOp{set("producer_byte_rate", 1)}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("validate only: %v %v", err, res)
	}
	if got := describe(t, adm, false); len(got) != 0 {
		t.Fatalf("after refused and validate-only alters, described %v, want nothing", got)
	}
	_, err = adm.DescribeClientQuotas(testContext(t), false, []kadm.DescribeClientQuotaComponent{
		{Type: "ip", MatchType: kmsg.QuotasMatchTypeAny}, {Type: "user", MatchType: kmsg.QuotasMatchTypeAny},
	})
	if !strings.Contains(fmt.Sprint(err), kerr.InvalidRequest.Message) {
		t.Fatalf("describe ip with user: %v, want INVALID_REQUEST", err)
	}
}

func TestClientQuotasSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	c, err := embedded.Start(testContext(t), embedded.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(newClient(t, c.Seeds()))
	alter(t, adm, kadm.ClientQuotaEntity{user(str("alice")), clientID(nil)}, set("producer_byte_rate", 1000))
	want := describe(t, adm, false)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = startCluster(t, embedded.Config{Dir: dir})
	if got := describe(t, kadm.NewClient(newClient(t, c.Seeds())), false); !slices.Equal(got, want) || len(got) != 1 {
		t.Fatalf("after a restart described %v, want %v", got, want)
	}
}

func TestEveryBrokerOfAClusterSeesAQuotaAlteredOnOne(t *testing.T) {
	c := startCluster(t, embedded.Config{Brokers: 3})
	cl := newClient(t, c.Seeds())
	adm := kadm.NewClient(cl)
	alter(t, adm, kadm.ClientQuotaEntity{clientID(str("app"))}, set("consumer_byte_rate", 777))
	for _, b := range c.Brokers() {
		req := kmsg.NewPtrDescribeClientQuotasRequest()
		resp, err := req.RequestWith(testContext(t), cl.Broker(int(b.ID())))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, e := range resp.Entries {
			for _, v := range e.Values {
				got[*e.Entity[0].Name+"/"+v.Key] = v.Value
			}
		}
		if want := map[string]float64{"app/consumer_byte_rate": 777}; !maps.Equal(got, want) {
			t.Errorf("broker %d describes %v, want %v", b.ID(), got, want)
		}
	}
}
