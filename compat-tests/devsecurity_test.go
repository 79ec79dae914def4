package compattests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// devUsers reads the passwords --dev-security generated.
func devUsers(t *testing.T, b *testBroker) (admin, alice string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(b.dataDir, "dev-security", "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	var users struct {
		Admin, User struct{ Name, Password string }
	}
	if err := json.Unmarshal(data, &users); err != nil {
		t.Fatal(err)
	}
	if users.Admin.Name != "admin" || users.User.Name != "alice" {
		t.Fatalf("users %+v", users)
	}
	return users.Admin.Password, users.User.Password
}

// One flag gives a broker a developer can test authentication against:
// SASL_SSL with SCRAM and PLAIN users, ACLs on, and client settings that
// work as they are written (kcat -F, --command-config).
func TestDevSecurityBrokerServesItsGeneratedUsersOverTLSWithACLs(t *testing.T) {
	requireKcat(t)
	skipOnKfake(t, "samsa broker --dev-security")
	b := startBroker(t, withArgs("--dev-security"))
	dir := filepath.Join(b.dataDir, "dev-security")
	adminProps, aliceProps := filepath.Join(dir, "admin.properties"), filepath.Join(dir, "alice.properties")
	aliceKcat := filepath.Join(dir, "alice.librdkafka.conf")
	adminPassword, _ := devUsers(t, b)

	// alice produces and consumes, and may create topics.
	kcat(t, "one\ntwo\n", "-F", aliceKcat, "-P", "-t", "dev-orders")
	if got := kcat(t, "", "-F", aliceKcat, "-C", "-t", "dev-orders", "-e", "-q"); got != "one\ntwo\n" {
		t.Fatalf("alice consumed %q", got)
	}
	// confluent-kafka (librdkafka under Python) with SCRAM-SHA-512 over TLS.
	t.Run("ConfluentKafkaSCRAMOverTLS", func(t *testing.T) {
		requirePythonModule(t, "confluent_kafka", "python3-confluent-kafka")
		type input struct {
			Topic     string   `json:"topic"`
			Mechanism string   `json:"mechanism"`
			User      string   `json:"user"`
			Password  string   `json:"password"`
			Values    []string `json:"values"`
			CA        string   `json:"ca"`
		}
		_, alicePassword := devUsers(t, b)
		var out struct {
			Consumed []string `json:"consumed"`
			Error    string   `json:"error"`
		}
		raw := runScript(t, "testdata/python", input{"dev-py", "SCRAM-SHA-512", "alice", alicePassword, []string{"x", "y"}, filepath.Join(dir, "ca.pem")},
			debianPython, "confluent_kafka_scram.py", b.Addr())
		if err := json.Unmarshal(raw, &out); err != nil || strings.Join(out.Consumed, ",") != "x,y" {
			t.Fatalf("confluent-kafka over SASL_SSL: %s (%v)", raw, err)
		}
	})

	// alice may not administer; the admin may.
	_, stderr, code := runSamsaTool(t, nil, "topics", "delete", "dev-orders", "--bootstrap-server", b.Addr(), "--command-config", aliceProps)
	if code != 1 || !strings.Contains(stderr, "TOPIC_AUTHORIZATION_FAILED") {
		t.Fatalf("alice deleting a topic: exit %d, %q", code, stderr)
	}
	_, stderr, code = runSamsaTool(t, nil, "configs", "alter", "--entity-type", "users", "--entity-name", "mallory",
		"--add-config", "SCRAM-SHA-512=[password=mallory-pw]", "--bootstrap-server", b.Addr(), "--command-config", aliceProps)
	if code != 1 || !strings.Contains(stderr, "CLUSTER_AUTHORIZATION_FAILED") {
		t.Fatalf("alice creating a SCRAM user: exit %d, %q", code, stderr)
	}
	if out, stderr, code := runSamsaTool(t, nil, "topics", "list", "--bootstrap-server", b.Addr(), "--command-config", adminProps); code != 0 || !strings.Contains(out, "dev-orders") {
		t.Fatalf("admin listing topics: exit %d, %q %q", code, out, stderr)
	}
	// A plaintext client gets nowhere.
	_, stderr, code = runSamsaTool(t, nil, "topics", "list", "--bootstrap-server", b.Addr(), "--timeout", "3s")
	if code != 1 || !strings.Contains(stderr, "cannot reach a broker") {
		t.Fatalf("a plaintext client: exit %d, %q", code, stderr)
	}

	// After a restart: the same CA, passwords, SCRAM users and ACLs.
	b.Stop()
	b.Restart()
	if again, _ := devUsers(t, b); again != adminPassword {
		t.Fatal("the admin password changed across a restart")
	}
	if got := kcat(t, "", "-F", aliceKcat, "-C", "-t", "dev-orders", "-e", "-q"); got != "one\ntwo\n" {
		t.Fatalf("alice after a restart consumed %q", got)
	}
	_, stderr, code = runSamsaTool(t, nil, "topics", "delete", "dev-orders", "--bootstrap-server", b.Addr(), "--command-config", aliceProps)
	if code != 1 || !strings.Contains(stderr, "TOPIC_AUTHORIZATION_FAILED") {
		t.Fatalf("alice deleting a topic after a restart: exit %d, %q", code, stderr)
	}
	if _, stderr, code := runSamsaTool(t, nil, "topics", "delete", "dev-orders", "--bootstrap-server", b.Addr(), "--command-config", adminProps); code != 0 {
		t.Fatalf("admin deleting a topic: exit %d, %q", code, stderr)
	}
}
