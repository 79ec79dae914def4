package embedded_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/embedded"
)

// aclOverrides turn Kafka's ACL authorizer on. Every client of these
// tests is User:ANONYMOUS (PLAINTEXT); allow.everyone.if.no.acl.found
// lets it set up ACLs before any exists.
var aclOverrides = map[string]string{
	"authorizer.class.name":          "kafka.security.authorizer.AclAuthorizer",
	"allow.everyone.if.no.acl.found": "true",
}

func produceErr(t *testing.T, c *embedded.Cluster, topic string) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...), kgo.RecordRetries(1), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	return cl.ProduceSync(testContext(t), &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr()
}

func adminOf(t *testing.T, c *embedded.Cluster) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func TestACLsForAnonymousAreEnforcedAndSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	c := startCluster(t, embedded.Config{Dir: dir, Overrides: aclOverrides})
	adm := adminOf(t, c)
	ctx := testContext(t)
	if _, err := adm.CreateTopics(ctx, 1, 1, nil, "open", "secret"); err != nil {
		t.Fatal(err)
	}
	anon := kadm.NewACLs().Allow("User:ANONYMOUS").AllowHosts().
		Clusters().Operations(kadm.OpAll).ResourcePatternType(kadm.ACLPatternLiteral)
	denyWrite := kadm.NewACLs().Deny("User:ANONYMOUS").DenyHosts().
		Topics("secret").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral)
	for _, b := range []*kadm.ACLBuilder{anon, denyWrite} {
		created, err := adm.CreateACLs(ctx, b)
		if err != nil || created[0].Err != nil {
			t.Fatalf("CreateACLs: %v %+v", err, created)
		}
	}
	if err := produceErr(t, c, "secret"); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce to secret with a DENY WRITE: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if err := produceErr(t, c, "open"); err != nil {
		t.Fatalf("produce to open, which no ACL names: %v", err)
	}

	described, err := adm.DescribeACLs(ctx, kadm.NewACLs().AnyResource().Deny().DenyHosts().
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err != nil || len(described) != 1 || described[0].Err != nil || len(described[0].Described) != 1 ||
		described[0].Described[0].Name != "secret" {
		t.Fatalf("DescribeACLs of the denials: %v %+v", err, described)
	}
	deleted, err := adm.DeleteACLs(ctx, kadm.NewACLs().Topics("secret").Deny().DenyHosts().
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternLiteral))
	if err != nil || len(deleted) != 1 || len(deleted[0].Deleted) != 1 {
		t.Fatalf("DeleteACLs: %v %+v", err, deleted)
	}
	if err := produceErr(t, c, "secret"); err != nil {
		t.Fatalf("produce to secret once the DENY is gone: %v", err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = startCluster(t, embedded.Config{Dir: dir, Overrides: aclOverrides})
	described, err = adminOf(t, c).DescribeACLs(testContext(t), kadm.NewACLs().AnyResource().Allow().AllowHosts().
		Operations(kadm.OpAny).ResourcePatternType(kadm.ACLPatternAny))
	if err != nil || len(described) != 1 || len(described[0].Described) != 1 || described[0].Described[0].Type != kmsg.ACLResourceTypeCluster {
		t.Fatalf("after a restart: %v %+v, want the cluster ACL", err, described)
	}
}

func TestACLsCreatedThroughOneBrokerApplyOnEveryOther(t *testing.T) {
	c := startCluster(t, embedded.Config{Brokers: 3, Overrides: aclOverrides})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Seeds()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := testContext(t)
	createACLs := kmsg.NewPtrCreateACLsRequest()
	deny := kmsg.NewCreateACLsRequestCreation()
	deny.ResourceType, deny.ResourceName, deny.ResourcePatternType = kmsg.ACLResourceTypeTopic, "hidden", kmsg.ACLResourcePatternTypeLiteral
	deny.Principal, deny.Host = "User:ANONYMOUS", "*"
	deny.Operation, deny.PermissionType = kmsg.ACLOperationDescribe, kmsg.ACLPermissionTypeDeny
	createACLs.Creations = append(createACLs.Creations, deny)
	resp, err := createACLs.RequestWith(ctx, cl.Broker(1))
	if err != nil || resp.Results[0].ErrorCode != 0 {
		t.Fatalf("CreateAcls through broker 1: %v %+v", err, resp)
	}
	metadata := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("hidden")
	metadata.Topics = append(metadata.Topics, rt)
	// Brokers 2 and 3 learn of the ACL from the ensemble's notification,
	// as from ZooKeeper's: at once, but not within broker 1's answer.
	for _, id := range []int{2, 3} {
		checkFor(t, fmt.Sprintf("broker %d refusing Metadata of hidden", id), func() error {
			got, err := metadata.RequestWith(ctx, cl.Broker(id))
			if err != nil {
				return err
			}
			if code := got.Topics[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
				return fmt.Errorf("Metadata of hidden through broker %d: %v, want TOPIC_AUTHORIZATION_FAILED", id, kerr.ErrorForCode(code))
			}
			return nil
		})
	}
	// And after broker 3 stops and starts again, it reads the ACL back.
	if err := c.Stop(3); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(3); err != nil {
		t.Fatal(err)
	}
	checkFor(t, "broker 3 refusing Metadata of hidden after its restart", func() error {
		got, err := metadata.RequestWith(ctx, cl.Broker(3))
		if err != nil {
			return err
		}
		if code := got.Topics[0].ErrorCode; code != kerr.TopicAuthorizationFailed.Code {
			return fmt.Errorf("Metadata of hidden through restarted broker 3: %v", kerr.ErrorForCode(code))
		}
		return nil
	})
}
