package broker

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/wire"
)

func metadataAs(t *testing.T, b *Broker, conn *wire.Conn, topics ...string) *kmsg.MetadataResponse {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Version, req.AllowAutoTopicCreation, req.IncludeTopicAuthorizedOperations = 12, true, true
	if topics == nil {
		req.Topics = nil
	}
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	return serveOn(t, b, conn, "", req).(*kmsg.MetadataResponse)
}

func TestMetadataOfAllTopicsHidesTopicsTheCallerMayNotDescribe(t *testing.T) {
	b := newAuthorizingBroker(t)
	createTopicAsAdmin(t, b, "orders")
	createTopicAsAdmin(t, b, "payroll")
	grant(t, b, aliceMay(acl.OpWrite, acl.ResourceTopic, "orders"))
	resp := metadataAs(t, b, aliceConn)
	var names []string
	for _, mt := range resp.Topics {
		names = append(names, *mt.Topic)
	}
	if !slices.Equal(names, []string{"orders"}) {
		t.Fatalf("alice sees %v, want only orders (WRITE implies DESCRIBE)", names)
	}
	// KIP-430: WRITE, and the DESCRIBE it implies (bits 4 and 8).
	if ops := resp.Topics[0].AuthorizedOperations; ops != 1<<4|1<<8 {
		t.Fatalf("authorized operations on orders %b, want WRITE and DESCRIBE", ops)
	}
	if got := metadataAs(t, b, adminConn); len(got.Topics) != 2 {
		t.Fatalf("the super user sees %d topics, want 2", len(got.Topics))
	}
}

func TestMetadataAutoCreatesOnlyForCallersWithCreate(t *testing.T) {
	b := newAuthorizingBroker(t)
	grant(t, b, aliceMay(acl.OpDescribe, acl.ResourceTopic, "*"))
	mt := metadataAs(t, b, aliceConn, "events").Topics[0]
	requireCode(t, "auto-create without CREATE", mt.ErrorCode, kerr.TopicAuthorizationFailed)
	if _, ok := b.store.Topic("events"); ok {
		t.Fatal("the topic was created for a caller without CREATE")
	}
	grant(t, b, aliceMay(acl.OpCreate, acl.ResourceCluster, acl.ClusterName))
	mt = metadataAs(t, b, aliceConn, "events").Topics[0]
	requireCode(t, "auto-create with CREATE on the cluster", mt.ErrorCode, kerr.LeaderNotAvailable)
	if _, ok := b.store.Topic("events"); !ok {
		t.Fatal("the topic was not created for a caller with CREATE on the cluster")
	}
}

func TestSuperUsersNeedNoACL(t *testing.T) {
	b := newAuthorizingBroker(t)
	createTopicAsAdmin(t, b, "orders")
	grant(t, b, denied(aliceMay(acl.OpAll, acl.ResourceTopic, "*")))
	req := fetchRequest(b, 12, "orders", 0, 0)
	code := serveOn(t, b, adminConn, "", req).(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode
	requireCode(t, "fetch by the super user", code, nil)
}

func TestAllowEveryoneIfNoACLFoundOpensOnlyResourcesWithoutACLs(t *testing.T) {
	b := newAuthorizingBroker(t, "allow.everyone.if.no.acl.found=true")
	createTopicAsAdmin(t, b, "open")
	createTopicAsAdmin(t, b, "guarded")
	bob := aliceMay(acl.OpRead, acl.ResourceTopic, "guarded")
	bob.Principal = "User:bob"
	grant(t, b, bob)
	fetch := func(topic string) int16 {
		return serveOn(t, b, aliceConn, "", fetchRequest(b, 12, topic, 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode
	}
	requireCode(t, "fetch from a topic no ACL names", fetch("open"), nil)
	requireCode(t, "fetch from a topic only bob may read", fetch("guarded"), kerr.TopicAuthorizationFailed)
}

func TestACLsFromAnotherHostDoNotApply(t *testing.T) {
	b := newAuthorizingBroker(t)
	createTopicAsAdmin(t, b, "orders")
	fromElsewhere := aliceMay(acl.OpRead, acl.ResourceTopic, "orders")
	fromElsewhere.Host = "10.9.9.9"
	grant(t, b, fromElsewhere)
	code := serveOn(t, b, aliceConn, "", fetchRequest(b, 12, "orders", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode
	requireCode(t, "fetch from 10.0.0.7 with an ACL for 10.9.9.9", code, kerr.TopicAuthorizationFailed)
	grant(t, b, aliceMay(acl.OpRead, acl.ResourceTopic, "orders")) // host *
	code = serveOn(t, b, aliceConn, "", fetchRequest(b, 12, "orders", 0, 0)).(*kmsg.FetchResponse).Topics[0].Partitions[0].ErrorCode
	requireCode(t, "fetch with an ACL for every host", code, nil)
}

func TestOffsetCommitRefusesTopicsTheGroupMemberMayNotRead(t *testing.T) {
	b := newAuthorizingBroker(t)
	createTopicAsAdmin(t, b, "orders")
	createTopicAsAdmin(t, b, "payroll")
	requireOffsetsTopic(t, b)
	grant(t, b, aliceMay(acl.OpRead, acl.ResourceGroup, "g"), aliceMay(acl.OpRead, acl.ResourceTopic, "orders"))
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version, req.Group, req.Generation = 8, "g", -1
	for _, topic := range []string{"payroll", "orders"} {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		rt.Partitions = append(rt.Partitions, kmsg.NewOffsetCommitRequestTopicPartition())
		req.Topics = append(req.Topics, rt)
	}
	var codes map[string]int16
	checkFor(t, 10*time.Second, func() error {
		resp := serveOn(t, b, aliceConn, "", req).(*kmsg.OffsetCommitResponse)
		codes = map[string]int16{}
		for _, rt := range resp.Topics {
			codes[rt.Topic] = rt.Partitions[0].ErrorCode
		}
		return kerr.ErrorForCode(codes["orders"]) // the coordinator loads its partition first
	})
	requireCode(t, "commit to payroll", codes["payroll"], kerr.TopicAuthorizationFailed)
}

func TestListGroupsShowsOnlyGroupsTheCallerMayDescribe(t *testing.T) {
	b := newAuthorizingBroker(t)
	requireOffsetsTopic(t, b)
	for _, g := range []string{"mine", "theirs"} {
		req := kmsg.NewPtrOffsetCommitRequest()
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = "orders"
		rt.Partitions = append(rt.Partitions, kmsg.NewOffsetCommitRequestTopicPartition())
		req.Version, req.Group, req.Generation, req.Topics = 8, g, -1, append(req.Topics, rt)
		createTopicOnce(t, b, "orders")
		checkFor(t, 10*time.Second, func() error {
			return kerr.ErrorForCode(serveOn(t, b, adminConn, "", req).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode)
		})
	}
	grant(t, b, aliceMay(acl.OpDescribe, acl.ResourceGroup, "mine"))
	list := func(conn *wire.Conn) []string {
		req := kmsg.NewPtrListGroupsRequest()
		req.Version = 4
		var names []string
		for _, g := range serveOn(t, b, conn, "", req).(*kmsg.ListGroupsResponse).Groups {
			names = append(names, g.Group)
		}
		slices.Sort(names)
		return names
	}
	if got := list(aliceConn); !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("alice lists %v, want [mine]", got)
	}
	if got := list(adminConn); !slices.Equal(got, []string{"mine", "theirs"}) {
		t.Fatalf("the super user lists %v, want both", got)
	}
}

func createTopicOnce(t *testing.T, b *Broker, name string) {
	t.Helper()
	if _, ok := b.store.Topic(name); !ok {
		createTopicAsAdmin(t, b, name)
	}
}

// requireOffsetsTopic creates __consumer_offsets, as the first
// FindCoordinator does.
func requireOffsetsTopic(t *testing.T, b *Broker) {
	t.Helper()
	if err := b.ensureOffsetsTopic(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestOffsetFetchOfSeveralGroupsRefusesEachGroupAndTopicOnItsOwn(t *testing.T) {
	b := newAuthorizingBroker(t)
	requireOffsetsTopic(t, b)
	createTopicAsAdmin(t, b, "orders")
	createTopicAsAdmin(t, b, "payroll")
	for _, topic := range []string{"orders", "payroll"} {
		req := kmsg.NewPtrOffsetCommitRequest()
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Offset = 5
		rt.Partitions = append(rt.Partitions, p)
		req.Version, req.Group, req.Generation, req.Topics = 8, "mine", -1, append(req.Topics, rt)
		checkFor(t, 10*time.Second, func() error {
			return kerr.ErrorForCode(serveOn(t, b, adminConn, "", req).(*kmsg.OffsetCommitResponse).Topics[0].Partitions[0].ErrorCode)
		})
	}
	grant(t, b, aliceMay(acl.OpDescribe, acl.ResourceGroup, "mine"), aliceMay(acl.OpDescribe, acl.ResourceTopic, "orders"))
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	for _, g := range []string{"theirs", "mine"} {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = g // Topics nil: every topic the group committed
		req.Groups = append(req.Groups, rg)
	}
	resp := serveOn(t, b, aliceConn, "", req).(*kmsg.OffsetFetchResponse)
	if len(resp.Groups) != 2 || resp.Groups[0].Group != "theirs" || resp.Groups[1].Group != "mine" {
		t.Fatalf("groups %+v, want theirs then mine", resp.Groups)
	}
	requireCode(t, "offsets of theirs", resp.Groups[0].ErrorCode, kerr.GroupAuthorizationFailed)
	requireCode(t, "offsets of mine", resp.Groups[1].ErrorCode, nil)
	var topics []string
	for _, rt := range resp.Groups[1].Topics {
		topics = append(topics, rt.Topic)
	}
	if !slices.Equal(topics, []string{"orders"}) {
		t.Fatalf("mine's offsets cover %v, want only orders (payroll is not described)", topics)
	}
}
