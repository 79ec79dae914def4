package broker

// AlterUserScramCredentials, v0 (KIP-554). Upsertions carry the salt and
// the salted password the client computed; the broker derives the stored
// and server keys and stores the credential as Kafka does, under the
// mechanism's name in the user's entity configs (ZooKeeper
// /config/users/<user>, beside the user's quotas), where every broker's
// next login reads it.
//
// One result per user named. A user's alterations are applied together
// or not at all; Kafka's checks, in its order: an unknown mechanism is
// UNSUPPORTED_SASL_MECHANISM; an empty user, or iterations outside
// 4096-16384, UNACCEPTABLE_CREDENTIAL; a (user, mechanism) altered twice
// DUPLICATE_RESOURCE; deleting a credential that does not exist
// RESOURCE_NOT_FOUND.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/broker/acl"
	"github.com/samsa-io/samsa/broker/sasl/scram"
	"github.com/samsa-io/samsa/controller"
	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.AlterUserSCRAMCredentials, min: 0, max: 0,
		serve: typed((*Broker).handleAlterUserSCRAMCredentials),
		note:  "stored as Kafka stores them (ZooKeeper /config/users/<user>); used by every broker's next login"})
}

// userAlteration is what one request does to one user.
type userAlteration struct {
	set    map[string]string
	remove []string
	err    *kerr.Error
	msg    string
}

func (a *userAlteration) fail(err *kerr.Error, msg string) {
	if a.err == nil {
		a.err, a.msg = err, msg
	}
}

func (b *Broker) handleAlterUserSCRAMCredentials(ctx context.Context, conn *wire.Conn, req *kmsg.AlterUserSCRAMCredentialsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	if !b.authorizedCluster(conn, acl.OpAlter) {
		// Kafka: ALTER on the cluster, else every user named refused.
		seen := map[string]bool{}
		refuse := func(user string) {
			if !seen[user] {
				seen[user] = true
				resp.Results = append(resp.Results, kmsg.AlterUserSCRAMCredentialsResponseResult{User: user, ErrorCode: kerr.ClusterAuthorizationFailed.Code})
			}
		}
		for _, d := range req.Deletions {
			refuse(d.Name)
		}
		for _, u := range req.Upsertions {
			refuse(u.Name)
		}
		return resp, nil
	}
	var order []string
	users := map[string]*userAlteration{}
	seen := map[[2]string]bool{} // (user, mechanism) already altered
	alteration := func(user string, mechID int8) (*userAlteration, string) {
		a := users[user]
		if a == nil {
			a = &userAlteration{set: map[string]string{}}
			users[user] = a
			order = append(order, user)
		}
		mech := scramMechanismName(mechID)
		switch {
		case mech == "":
			a.fail(kerr.UnsupportedSaslMechanism, fmt.Sprintf("Unknown SCRAM mechanism %d", mechID))
		case user == "":
			a.fail(kerr.UnacceptableCredential, "Username must not be empty")
		case seen[[2]string{user, mech}]:
			a.fail(kerr.DuplicateResource, "A user credential cannot be altered twice in the same request")
		}
		seen[[2]string{user, mech}] = true
		return a, mech
	}
	for _, d := range req.Deletions {
		a, mech := alteration(d.Name, d.Mechanism)
		if a.err != nil {
			continue
		}
		if _, ok := b.store.EntityConfigs(controller.UserEntity(d.Name).Path())[mech]; !ok {
			a.fail(kerr.ResourceNotFound, "Attempt to delete a user credential that does not exist")
			continue
		}
		a.remove = append(a.remove, mech)
	}
	for _, u := range req.Upsertions {
		a, mech := alteration(u.Name, u.Mechanism)
		switch {
		case a.err != nil:
			continue
		case u.Iterations < scram.MinIterations:
			a.fail(kerr.UnacceptableCredential, fmt.Sprintf("Too few iterations: %d (at least %d)", u.Iterations, scram.MinIterations))
			continue
		case u.Iterations > scram.MaxIterations:
			a.fail(kerr.UnacceptableCredential, fmt.Sprintf("Too many iterations: %d (at most %d)", u.Iterations, scram.MaxIterations))
			continue
		case len(u.Salt) == 0 || len(u.SaltedPassword) == 0:
			a.fail(kerr.UnacceptableCredential, "Salt and salted password must not be empty")
			continue
		}
		c, err := scram.CredentialFromSaltedPassword(mech, u.Salt, u.SaltedPassword, int(u.Iterations))
		if err != nil {
			a.fail(kerr.UnacceptableCredential, err.Error())
			continue
		}
		a.set[mech] = c.String()
	}
	for _, user := range order {
		a := users[user]
		r := kmsg.AlterUserSCRAMCredentialsResponseResult{User: user}
		if a.err == nil {
			if err := b.store.AlterEntityConfigs(ctx, controller.UserEntity(user).Path(), a.set, a.remove); err != nil {
				a.fail(kerr.UnknownServerError, fmt.Sprintf("store SCRAM credentials of %s: %v", user, err))
			}
		}
		if a.err != nil {
			r.ErrorCode = a.err.Code
			r.ErrorMessage = kmsg.StringPtr(a.msg)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}
