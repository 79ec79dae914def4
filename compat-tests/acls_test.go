package compattests

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Without an authorizer a Kafka broker answers every ACL request with
// SECURITY_DISABLED, and so does Samsa until it has one: admin tools tell
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
