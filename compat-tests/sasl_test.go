package compattests

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-zookeeper/zk"
	"github.com/segmentio/kafka-go"
	kafkagoscram "github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	kgoscram "github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/xdg-go/scram"

	"github.com/samsa-io/samsa/controller/zktest"
)

func scramAuth(user, password string) sasl.Mechanism {
	return kgoscram.Auth{User: user, Pass: password}.AsSha256Mechanism()
}

// startSASLBroker starts a broker whose only listener is SASL_PLAINTEXT
// with PLAIN (user admin, from the JAAS line) and both SCRAM mechanisms.
func startSASLBroker(t *testing.T) *testBroker {
	t.Helper()
	skipOnKfake(t, "the broker's SASL listener configuration is Samsa's")
	return startBroker(t,
		withOverride("listeners", "SASL_PLAINTEXT://127.0.0.1:0"),
		withOverride("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"),
		withOverride("listener.name.sasl_plaintext.plain.sasl.jaas.config",
			`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret";`))
}

// saslAdmin is a kadm client logged in as the PLAIN admin.
func saslAdmin(t *testing.T, b *testBroker) *kadm.Client {
	t.Helper()
	return kadm.NewClient(b.client(t, kgo.SASL(plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism())))
}

func createSCRAMUser(t *testing.T, b *testBroker, user, password string, mech kadm.ScramMechanism) {
	t.Helper()
	res, err := saslAdmin(t, b).AlterUserSCRAMs(testContext(t, 10*time.Second), nil,
		[]kadm.UpsertSCRAM{{User: user, Mechanism: mech, Iterations: 4096, Password: password}})
	if err == nil {
		err = res[user].Err
	}
	if err != nil {
		t.Fatalf("create SCRAM user %s: %v", user, err)
	}
}

func TestKcatLogsInWithSCRAMSHA256AndIsRefusedAWrongPassword(t *testing.T) {
	requireKcat(t)
	t.Parallel()
	b := startSASLBroker(t)
	createSCRAMUser(t, b, "kcat-user", "kcat-pw", kadm.ScramSha256)
	sasl := func(password string) []string {
		return []string{"-b", b.Addr(), "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-256",
			"-X", "sasl.username=kcat-user", "-X", "sasl.password=" + password}
	}
	createTopic(t, saslAdmin(t, b), "kcat-scram", 1, nil)
	kcat(t, "one\ntwo\n", append(sasl("kcat-pw"), "-P", "-t", "kcat-scram")...)
	if got := kcat(t, "", append(sasl("kcat-pw"), "-C", "-t", "kcat-scram", "-e", "-q")...); got != "one\ntwo\n" {
		t.Fatalf("kcat consumed %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kcat", append(sasl("wrong"), "-L", "-m", "5")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Authentication failed") {
		t.Fatalf("kcat with a wrong password: err %v, output:\n%s", err, out)
	}
}

func TestConfluentKafkaPythonLogsInWithSCRAMSHA512(t *testing.T) {
	requirePythonModule(t, "confluent_kafka", "python3-confluent-kafka")
	t.Parallel()
	b := startSASLBroker(t)
	createSCRAMUser(t, b, "py-user", "py-pw", kadm.ScramSha512)
	createTopic(t, saslAdmin(t, b), "py-scram", 1, nil)
	type input struct {
		Topic     string   `json:"topic"`
		Mechanism string   `json:"mechanism"`
		User      string   `json:"user"`
		Password  string   `json:"password"`
		Values    []string `json:"values"`
	}
	var out struct {
		Consumed []string `json:"consumed"`
		Error    string   `json:"error"`
	}
	raw := runScript(t, "testdata/python", input{"py-scram", "SCRAM-SHA-512", "py-user", "py-pw", []string{"a", "b"}},
		debianPython, "confluent_kafka_scram.py", b.Addr())
	if err := json.Unmarshal(raw, &out); err != nil || strings.Join(out.Consumed, ",") != "a,b" {
		t.Fatalf("confluent-kafka round trip: %s (%v)", raw, err)
	}
	raw = runScript(t, "testdata/python", input{"py-scram", "SCRAM-SHA-512", "py-user", "wrong", nil},
		debianPython, "confluent_kafka_scram.py", b.Addr())
	if err := json.Unmarshal(raw, &out); err != nil || !strings.Contains(out.Error, "AUTHENTICATION") {
		t.Fatalf("confluent-kafka with a wrong password: %s (%v)", raw, err)
	}
}

// kafka-python 2.0 uses SaslHandshake v0 and then sends its SASL tokens
// raw, without Kafka framing, as Kafka still accepts.
func TestKafkaPythonLogsInWithRawSCRAMTokens(t *testing.T) {
	requirePythonModule(t, "kafka", "python3-kafka")
	t.Parallel()
	b := startSASLBroker(t)
	createSCRAMUser(t, b, "kp-user", "kp-pw", kadm.ScramSha256)
	createTopic(t, saslAdmin(t, b), "kp-scram", 1, nil)
	type input struct {
		Topic     string   `json:"topic"`
		Mechanism string   `json:"mechanism"`
		User      string   `json:"user"`
		Password  string   `json:"password"`
		Values    []string `json:"values"`
	}
	var out struct {
		Consumed []string `json:"consumed"`
		Error    string   `json:"error"`
	}
	raw := runScript(t, "testdata/python", input{"kp-scram", "SCRAM-SHA-256", "kp-user", "kp-pw", []string{"x", "y"}},
		debianPython, "kafka_python_scram.py", b.Addr())
	if err := json.Unmarshal(raw, &out); err != nil || strings.Join(out.Consumed, ",") != "x,y" {
		t.Fatalf("kafka-python round trip: %s (%v)", raw, err)
	}
	out.Error = ""
	raw = runScript(t, "testdata/python", input{"kp-scram", "SCRAM-SHA-256", "kp-user", "wrong", []string{"z"}},
		debianPython, "kafka_python_scram.py", b.Addr())
	if err := json.Unmarshal(raw, &out); err != nil || out.Error == "" {
		t.Fatalf("kafka-python with a wrong password: %s (%v), want it refused", raw, err)
	}
}

// saramaSCRAM is the SCRAM client sarama asks its users to bring
// (sarama's examples use xdg-go/scram too).
type saramaSCRAM struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *saramaSCRAM) Begin(user, password, authzID string) error {
	c, err := s.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}
func (s *saramaSCRAM) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *saramaSCRAM) Done() bool                            { return s.conv.Done() }

func TestSaramaProducesWithSCRAM(t *testing.T) {
	t.Parallel()
	b := startSASLBroker(t)
	createSCRAMUser(t, b, "sarama-user", "sarama-pw", kadm.ScramSha512)
	createTopic(t, saslAdmin(t, b), "sarama-scram", 1, nil)
	cfg := saramaConfig(sarama.V3_6_0_0)
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Version = sarama.SASLHandshakeV1
	cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
	cfg.Net.SASL.User, cfg.Net.SASL.Password = "sarama-user", "sarama-pw"
	cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &saramaSCRAM{hash: scram.SHA512} }
	producer, err := sarama.NewSyncProducer([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatalf("sarama producer: %v", err)
	}
	defer producer.Close()
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "sarama-scram", Value: sarama.StringEncoder("hi")}); err != nil {
		t.Fatalf("sarama produce: %v", err)
	}

	cfg.Net.SASL.Password = "wrong"
	cfg.Metadata.Retry.Max = 0
	if _, err := sarama.NewClient([]string{b.Addr()}, cfg); err == nil || !errors.Is(err, sarama.ErrOutOfBrokers) {
		t.Fatalf("sarama client with a wrong password: %v, want it refused", err)
	}
}

func TestKafkaGoCreatesASCRAMUserAndLogsInWithIt(t *testing.T) {
	t.Parallel()
	b := startSASLBroker(t)
	createSCRAMUser(t, b, "go-admin", "go-admin-pw", kadm.ScramSha256)
	admin, err := kafkagoscram.Mechanism(kafkagoscram.SHA256, "go-admin", "go-admin-pw")
	if err != nil {
		t.Fatal(err)
	}
	client := &kafka.Client{Addr: kafka.TCP(b.Addr()), Timeout: 10 * time.Second, Transport: &kafka.Transport{SASL: admin}}

	salt := make([]byte, 16)
	rand.Read(salt)
	salted, err := pbkdf2.Key(sha512.New, "go-user-pw", salt, 4096, sha512.Size)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t, 30*time.Second)
	altered, err := client.AlterUserScramCredentials(ctx, &kafka.AlterUserScramCredentialsRequest{
		Upsertions: []kafka.UserScramCredentialsUpsertion{{Name: "go-user", Mechanism: kafka.ScramMechanismSha512,
			Iterations: 4096, Salt: salt, SaltedPassword: salted}},
	})
	if err != nil || len(altered.Results) != 1 || altered.Results[0].Error != nil {
		t.Fatalf("kafka-go AlterUserScramCredentials: %v %+v", err, altered)
	}
	described, err := client.DescribeUserScramCredentials(ctx, &kafka.DescribeUserScramCredentialsRequest{
		Users: []kafka.UserScramCredentialsUser{{Name: "go-user"}, {Name: "nobody"}}})
	if err != nil || len(described.Results) != 2 {
		t.Fatalf("kafka-go DescribeUserScramCredentials: %v %+v", err, described)
	}
	for _, r := range described.Results {
		switch r.User {
		case "go-user":
			if r.Error != nil || len(r.CredentialInfos) != 1 || r.CredentialInfos[0].Mechanism != kafka.ScramMechanismSha512 {
				t.Errorf("go-user described as %+v", r)
			}
		case "nobody":
			if !errors.Is(r.Error, kafka.ResourceNotFound) {
				t.Errorf("unknown user described as %+v, want RESOURCE_NOT_FOUND", r)
			}
		}
	}

	user, err := kafkagoscram.Mechanism(kafkagoscram.SHA512, "go-user", "go-user-pw")
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addr()), Topic: "kafkago-scram", AllowAutoTopicCreation: true,
		Transport: &kafka.Transport{SASL: user}, Logger: kafkaGoLogger("writer")}
	defer w.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = w.WriteMessages(ctx, kafka.Message{Value: []byte("hello")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kafka-go produce as the new user: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // the auto-created topic's leader is being elected
	}
}

// TestSCRAMUserCreatedOnOneZooKeeperBrokerLogsInOnAnother runs two broker
// processes on ZooKeeper, reaching each other over their SASL listener:
// a SCRAM user created through one is stored in /config/users/<user> as
// Kafka stores it and logs in on the other.
func TestSCRAMUserCreatedOnOneZooKeeperBrokerLogsInOnAnother(t *testing.T) {
	skipOnKfake(t, "a ZooKeeper cluster of real brokers")
	t.Parallel()
	zkServer := zktest.Start(t)
	var brokers []*testBroker
	for id := 1; id <= 2; id++ {
		brokers = append(brokers, startBroker(t,
			withOverride("broker.id", strconv.Itoa(id)),
			withOverride("zookeeper.connect", zkServer.Addr),
			withOverride("offsets.topic.replication.factor", "2"),
			withOverride("listeners", "SASL_PLAINTEXT://127.0.0.1:0"),
			withOverride("sasl.enabled.mechanisms", "PLAIN,SCRAM-SHA-256"),
			withOverride("sasl.mechanism.inter.broker.protocol", "PLAIN"),
			withOverride("listener.name.sasl_plaintext.plain.sasl.jaas.config",
				`org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret";`)))
	}
	createSCRAMUser(t, brokers[0], "zk-user", "zk-pw", kadm.ScramSha256)

	conn, _, err := zk.Connect([]string{zkServer.Addr}, 5*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	data, _, err := conn.Get("/config/users/zk-user")
	if err != nil {
		t.Fatalf("the znode Kafka keeps SCRAM credentials in: %v", err)
	}
	var node struct {
		Version int               `json:"version"`
		Config  map[string]string `json:"config"`
	}
	if err := json.Unmarshal(data, &node); err != nil || node.Version != 1 ||
		!regexp.MustCompile(`^salt=[A-Za-z0-9+/=]+,stored_key=[A-Za-z0-9+/=]+,server_key=[A-Za-z0-9+/=]+,iterations=4096$`).MatchString(node.Config["SCRAM-SHA-256"]) {
		t.Fatalf("/config/users/zk-user = %s (%v), want Kafka's SCRAM credential format", data, err)
	}

	// Broker 2 alone, its client seeded with it only.
	user := kgo.SASL(scramAuth("zk-user", "zk-pw"))
	checkFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers[1].Addr()), user)
		if err != nil {
			return err
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		return cl.Ping(ctx)
	})
}

func TestKcatLogsInWithAnUnsecuredOAuthBearerTokenAndIsRefusedWithoutTheScope(t *testing.T) {
	requireKcat(t)
	skipOnKfake(t, "the broker's SASL listener configuration is Samsa's")
	t.Parallel()
	b := startBroker(t,
		withOverride("listeners", "SASL_PLAINTEXT://127.0.0.1:0"),
		withOverride("sasl.enabled.mechanisms", "OAUTHBEARER"),
		withOverride("listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config",
			`org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredValidatorRequiredScope="kafka";`))
	// librdkafka mints the unsecured token itself.
	oauth := func(scope string) []string {
		return []string{"-b", b.Addr(), "-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=OAUTHBEARER",
			"-X", "enable.sasl.oauthbearer.unsecure.jwt=true", "-X", "sasl.oauthbearer.config=principal=alice scope=" + scope}
	}
	kcat(t, "one\ntwo\n", append(oauth("kafka"), "-P", "-t", "kcat-oauth")...)
	if got := kcat(t, "", append(oauth("kafka"), "-C", "-t", "kcat-oauth", "-e", "-q")...); got != "one\ntwo\n" {
		t.Fatalf("kcat consumed %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kcat", append(oauth("other"), "-L", "-m", "5")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "insufficient_scope") {
		t.Fatalf("kcat without the required scope: err %v, output:\n%s", err, out)
	}
}
