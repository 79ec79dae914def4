package compattests

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Without an authorizer a Kafka broker answers every ACL request with
// SECURITY_DISABLED, and so does Samsa when authorizer.class.name is unset: admin tools tell
// the user why instead of failing on an unsupported API.
func TestACLRequestsAreAnsweredSecurityDisabled(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	adm := b.admin(t)
	ctx := testContext(t, 30*time.Second)
	acl := kadm.NewACLs().Allow("User:alice").AllowHosts("*").Topics("orders").Operations(kadm.OpRead)

	created, err := adm.CreateACLs(ctx, acl)
	if err != nil {
		t.Fatalf("CreateACLs: %v", err)
	}
	if len(created) != 1 || !errors.Is(created[0].Err, kerr.SecurityDisabled) {
		t.Fatalf("CreateACLs results %+v, want one SECURITY_DISABLED", created)
	}

	described, err := adm.DescribeACLs(ctx, acl)
	if err != nil {
		t.Fatalf("DescribeACLs: %v", err)
	}
	if len(described) != 1 || !errors.Is(described[0].Err, kerr.SecurityDisabled) {
		t.Fatalf("DescribeACLs results %+v, want SECURITY_DISABLED", described)
	}

	deleted, err := adm.DeleteACLs(ctx, acl)
	if err != nil {
		t.Fatalf("DeleteACLs: %v", err)
	}
	if len(deleted) != 1 || !errors.Is(deleted[0].Err, kerr.SecurityDisabled) {
		t.Fatalf("DeleteACLs results %+v, want one SECURITY_DISABLED", deleted)
	}
	if created[0].ErrMessage != "No Authorizer is configured on the broker" {
		t.Fatalf("message %q, want Kafka's", created[0].ErrMessage)
	}
}

// kafka-python's admin client manages ACLs on a broker with Kafka's ACL
// authorizer, and its producer is refused, then allowed, as the ACLs say.
// Every client is User:ANONYMOUS until SASL and TLS listeners exist.
func TestKafkaPythonManagesACLsThatTheBrokerEnforces(t *testing.T) {
	requirePythonModule(t, "kafka", "python3-kafka")
	skipOnKfake(t, "kfake has no authorizer")
	t.Parallel()
	b := startBroker(t, withOverride("authorizer.class.name", "kafka.security.authorizer.AclAuthorizer"),
		withOverride("allow.everyone.if.no.acl.found", "true"))
	topic := uniqueTopic(t)
	raw := runScript(t, "testdata/python", map[string]string{"topic": topic}, debianPython, "kafka_python_acls.py", b.Addr())
	var out struct {
		Created   int      `json:"created"`
		Described []string `json:"described"`
		Denied    *string  `json:"denied"`
		Deleted   int      `json:"deleted"`
		Allowed   *string  `json:"allowed"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("script output: %v\n%s", err, raw)
	}
	if out.Created != 3 {
		t.Errorf("created %d ACLs, want 3", out.Created)
	}
	if !slices.Equal(out.Described, []string{"DESCRIBE:ALLOW", "WRITE:DENY"}) {
		t.Errorf("DescribeAcls of the topic: %v", out.Described)
	}
	if out.Denied == nil || *out.Denied != "TopicAuthorizationFailedError" {
		t.Errorf("produce under the DENY: %v, want TopicAuthorizationFailedError", out.Denied)
	}
	if out.Deleted != 2 {
		t.Errorf("deleted %d ACLs of the topic, want 2", out.Deleted)
	}
	if out.Allowed != nil {
		t.Errorf("produce with no ACL left on the topic: %s, want success (allow.everyone.if.no.acl.found)", *out.Allowed)
	}
}
