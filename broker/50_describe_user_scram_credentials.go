package broker

// DescribeUserScramCredentials, v0 (KIP-554). Lists the SCRAM mechanisms
// and iteration counts of users' credentials, never the credentials.
// Without user names it lists every user that has one; a named user
// without one is RESOURCE_NOT_FOUND, a user named twice
// DUPLICATE_RESOURCE, as in Kafka.

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/sasl/scram"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.DescribeUserSCRAMCredentials, min: 0, max: 0,
		serve: typed((*Broker).handleDescribeUserSCRAMCredentials),
		note:  "credentials from the store's user entities (ZooKeeper /config/users/<user>)"})
}

func (b *Broker) handleDescribeUserSCRAMCredentials(_ context.Context, conn *wire.Conn, req *kmsg.DescribeUserSCRAMCredentialsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !b.authorizedCluster(conn, acl.OpDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code // Kafka: DESCRIBE on the cluster
		return resp, nil
	}
	if len(req.Users) == 0 {
		var users []string
		for path := range b.store.ListEntityConfigs(controller.EntityUsers) {
			if e, err := controller.ParseEntity(path); err == nil && !e.HasClient {
				users = append(users, e.Name)
			}
		}
		sort.Strings(users)
		for _, u := range users {
			if infos := b.scramCredentialInfos(u); len(infos) > 0 {
				resp.Results = append(resp.Results, kmsg.DescribeUserSCRAMCredentialsResponseResult{User: u, CredentialInfos: infos})
			}
		}
		return resp, nil
	}
	count := map[string]int{}
	for _, u := range req.Users {
		count[u.Name]++
	}
	for _, u := range req.Users {
		r := kmsg.DescribeUserSCRAMCredentialsResponseResult{User: u.Name}
		switch n := count[u.Name]; {
		case n < 0:
			continue // a duplicate, answered once already
		case n > 1:
			count[u.Name] = -1
			r.ErrorCode = kerr.DuplicateResource.Code
			r.ErrorMessage = kmsg.StringPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + u.Name)
		default:
			if r.CredentialInfos = b.scramCredentialInfos(u.Name); len(r.CredentialInfos) == 0 {
				r.ErrorCode = kerr.ResourceNotFound.Code
				r.ErrorMessage = kmsg.StringPtr("Attempt to describe nonexistent user credentials: " + u.Name)
			}
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

// scramCredentialInfos returns the mechanisms and iterations of user's
// stored SCRAM credentials.
func (b *Broker) scramCredentialInfos(user string) []kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo {
	var infos []kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo
	for _, mech := range scram.Mechanisms {
		c, ok, err := scram.Lookup(b.store, mech, user)
		if err != nil {
			b.logger.Warn().Err(err).Msg("unreadable SCRAM credential")
			continue
		}
		if ok {
			infos = append(infos, kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo{
				Mechanism: scramMechanismID(mech), Iterations: int32(c.Iterations)})
		}
	}
	return infos
}

// scramMechanismID is the mechanism's number in the SCRAM credential
// APIs (Kafka's ScramMechanism type).
func scramMechanismID(name string) int8 {
	switch name {
	case scram.SHA256:
		return 1
	case scram.SHA512:
		return 2
	}
	return 0
}

// scramMechanismName is scramMechanismID's inverse; "" for an unknown ID.
func scramMechanismName(id int8) string {
	switch id {
	case 1:
		return scram.SHA256
	case 2:
		return scram.SHA512
	}
	return ""
}
