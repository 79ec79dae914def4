package sasl_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-io/samsa/broker/embedded"
	"github.com/samsa-io/samsa/broker/sasl/saslclient"
)

// scramOverrides enables SCRAM beside PLAIN; admin logs in with PLAIN to
// create the SCRAM users, as Kafka's docs bootstrap them.
func scramOverrides(extra ...string) map[string]string {
	return saslOverrides(append([]string{"sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"}, extra...)...)
}

func adminClient(t *testing.T, c *embedded.Cluster) *kadm.Client {
	t.Helper()
	return kadm.NewClient(newClient(t, c, plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism()))
}

func upsertSCRAM(t *testing.T, adm *kadm.Client, upserts ...kadm.UpsertSCRAM) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := adm.AlterUserSCRAMs(ctx, nil, upserts)
	if err != nil {
		t.Fatalf("AlterUserScramCredentials: %v", err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("AlterUserScramCredentials %s: %v", r.User, r.Err)
		}
	}
}

// loginSCRAM logs in to addr with a fresh connection and the broker's
// own SCRAM client.
func loginSCRAM(addr, mechanism, user, password string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	return saslclient.Authenticate(ctx, nc, saslclient.Credentials{Mechanism: mechanism, User: user, Password: password})
}

func TestSCRAMUsersCreatedWithAlterUserScramCredentialsLogIn(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: scramOverrides()})
	adm := adminClient(t, c)
	upsertSCRAM(t, adm,
		kadm.UpsertSCRAM{User: "bob", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "bob-256"},
		kadm.UpsertSCRAM{User: "bob", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "bob-512"})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	described, err := adm.DescribeUserSCRAMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bob, ok := described["bob"]
	if !ok || len(described) != 1 || len(bob.CredInfos) != 2 {
		t.Fatalf("DescribeUserScramCredentials = %+v, want bob with two credentials", described)
	}
	for _, ci := range bob.CredInfos {
		want := map[kadm.ScramMechanism]int32{kadm.ScramSha256: 4096, kadm.ScramSha512: 8192}[ci.Mechanism]
		if ci.Iterations != want {
			t.Errorf("bob's %v credential has %d iterations, want %d", ci.Mechanism, ci.Iterations, want)
		}
	}

	roundTrip(t, newClient(t, c, scram.Auth{User: "bob", Pass: "bob-256"}.AsSha256Mechanism()), "scram-topic", "256")
	roundTrip(t, newClient(t, c, scram.Auth{User: "bob", Pass: "bob-512"}.AsSha512Mechanism()), "scram-topic", "512")

	wrong := newClient(t, c, scram.Auth{User: "bob", Pass: "bob-512"}.AsSha256Mechanism())
	if err := wrong.Ping(ctx); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("SCRAM-SHA-256 with the SHA-512 password: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if err := loginSCRAM(c.Seeds()[0], "SCRAM-SHA-256", "nobody", "x"); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("SCRAM login of an unknown user: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
}

func TestDeletedSCRAMCredentialNoLongerLogsIn(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: scramOverrides()})
	adm := adminClient(t, c)
	upsertSCRAM(t, adm, kadm.UpsertSCRAM{User: "carol", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "pw"})
	if err := loginSCRAM(c.Seeds()[0], "SCRAM-SHA-256", "carol", "pw"); err != nil {
		t.Fatalf("login before deletion: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "carol", Mechanism: kadm.ScramSha256}}, nil)
	if err != nil || res["carol"].Err != nil {
		t.Fatalf("delete: %v %v", err, res)
	}
	if err := loginSCRAM(c.Seeds()[0], "SCRAM-SHA-256", "carol", "pw"); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("login after deletion: %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	described, err := adm.DescribeUserSCRAMs(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(described["carol"].Err, kerr.ResourceNotFound) {
		t.Fatalf("describe a user without credentials: %+v, want RESOURCE_NOT_FOUND", described["carol"])
	}
}

func TestAlterUserScramCredentialsRefusesWhatKafkaRefuses(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Overrides: scramOverrides()})
	adm := newClient(t, c, plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())
	up := func(user string, mech int8, iterations int32) kmsg.AlterUserSCRAMCredentialsRequestUpsertion {
		return kmsg.AlterUserSCRAMCredentialsRequestUpsertion{Name: user, Mechanism: mech, Iterations: iterations,
			Salt: []byte("salt"), SaltedPassword: []byte("salted-password-bytes")}
	}
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	req.Upsertions = []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{
		up("few", 1, 100),
		up("many", 2, 20000),
		up("", 1, 4096),
		up("nomech", 7, 4096),
		up("twice", 1, 4096), up("twice", 1, 4096),
		up("fine", 1, 4096),
	}
	req.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestDeletion{{Name: "ghost", Mechanism: 1}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, adm)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*kerr.Error{
		"few": kerr.UnacceptableCredential, "many": kerr.UnacceptableCredential, "": kerr.UnacceptableCredential,
		"nomech": kerr.UnsupportedSaslMechanism, "twice": kerr.DuplicateResource, "ghost": kerr.ResourceNotFound, "fine": nil,
	}
	if len(resp.Results) != len(want) {
		t.Fatalf("%d results, want one per user (%d): %+v", len(resp.Results), len(want), resp.Results)
	}
	for _, r := range resp.Results {
		var got *kerr.Error
		if r.ErrorCode != 0 {
			got = kerr.ErrorForCode(r.ErrorCode).(*kerr.Error)
		}
		if got != want[r.User] {
			t.Errorf("user %q: %v, want %v", r.User, got, want[r.User])
		}
	}
	described, err := kadm.NewClient(adm).DescribeUserSCRAMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := described["fine"]; len(described) != 1 || !ok {
		t.Errorf("users with credentials after the request: %v, want only fine", described)
	}
}

func TestSCRAMCredentialsSurviveASingleBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	c := startSASLCluster(t, embedded.Config{Dir: dir, Overrides: scramOverrides()})
	upsertSCRAM(t, adminClient(t, c), kadm.UpsertSCRAM{User: "dave", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "pw"})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	again := startSASLCluster(t, embedded.Config{Dir: dir, Overrides: scramOverrides()})
	if err := loginSCRAM(again.Seeds()[0], "SCRAM-SHA-512", "dave", "pw"); err != nil {
		t.Fatalf("login after restart: %v", err)
	}
}

// TestEveryBrokerOfAClusterUsesCredentialsCreatedOnOne also replicates
// over the SASL inter-broker listener: the brokers log in to each other
// with PLAIN (sasl.mechanism.inter.broker.protocol).
func TestEveryBrokerOfAClusterUsesCredentialsCreatedOnOne(t *testing.T) {
	c := startSASLCluster(t, embedded.Config{Brokers: 3, Overrides: scramOverrides("sasl.mechanism.inter.broker.protocol=PLAIN")})
	upsertSCRAM(t, adminClient(t, c), kadm.UpsertSCRAM{User: "erin", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "pw"})
	for _, b := range c.Brokers() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := loginSCRAM(b.Addr(), "SCRAM-SHA-256", "erin", "pw")
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("broker %d: login: %v", b.ID(), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	erin := newClient(t, c, scram.Auth{User: "erin", Pass: "pw"}.AsSha256Mechanism(), kgo.RequiredAcks(kgo.AllISRAcks()))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(erin).CreateTopic(ctx, 1, 3, nil, "replicated"); err != nil {
		t.Fatalf("create a topic of three replicas: %v", err)
	}
	// acks=all: the produce is answered once both followers fetched the
	// record, over their SASL connections to the leader.
	roundTrip(t, erin, "replicated", "acked by all three")
}
