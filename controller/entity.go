package controller

import (
	"fmt"
	"maps"
	"strings"
)

// Entity types of the client entities whose configs live beside topics
// and brokers under /config: SCRAM credentials and quotas of users,
// quotas of client IDs, and connection rate quotas of IP addresses.
const (
	EntityUsers   = "users"
	EntityClients = "clients"
	EntityIPs     = "ips"
	// DefaultEntityName names the default of an entity type
	// (users/<default>), as Kafka's ZooKeeper layout does.
	DefaultEntityName = "<default>"
)

// Entity is one client entity, named by its path as Kafka's
// /config/changes notifications name it, unsanitized: "users/alice",
// "clients/app", "users/alice/clients/app", "ips/10.0.0.1", with
// DefaultEntityName for a default ("users/<default>/clients/<default>").
type Entity struct {
	Type string // EntityUsers, EntityClients or EntityIPs
	Name string // the user, client ID or IP
	// Client is the client ID of a users/<u>/clients/<c> entity
	// (HasClient).
	Client    string
	HasClient bool
}

// UserEntity is users/<user>.
func UserEntity(user string) Entity { return Entity{Type: EntityUsers, Name: user} }

// ClientEntity is clients/<client-id>.
func ClientEntity(clientID string) Entity { return Entity{Type: EntityClients, Name: clientID} }

// UserClientEntity is users/<user>/clients/<client-id>.
func UserClientEntity(user, clientID string) Entity {
	return Entity{Type: EntityUsers, Name: user, Client: clientID, HasClient: true}
}

// IPEntity is ips/<ip>.
func IPEntity(ip string) Entity { return Entity{Type: EntityIPs, Name: ip} }

// Path is the entity's path: "users/alice/clients/app".
func (e Entity) Path() string {
	p := e.Type + "/" + e.Name
	if e.HasClient {
		p += "/" + EntityClients + "/" + e.Client
	}
	return p
}

// ParseEntity parses an entity path. A user name is taken up to the
// first "/clients/", so a user whose name holds that string cannot have
// per-client configs.
func ParseEntity(path string) (Entity, error) {
	typ, rest, ok := strings.Cut(path, "/")
	if !ok || rest == "" {
		return Entity{}, fmt.Errorf("entity %q: want users/<user>, clients/<client-id>, users/<user>/clients/<client-id> or ips/<ip>", path)
	}
	switch typ {
	case EntityUsers:
		if user, client, ok := strings.Cut(rest, "/"+EntityClients+"/"); ok {
			if user == "" || client == "" {
				return Entity{}, fmt.Errorf("entity %q: empty user or client ID", path)
			}
			return UserClientEntity(user, client), nil
		}
		return UserEntity(rest), nil
	case EntityClients:
		return ClientEntity(rest), nil
	case EntityIPs:
		return IPEntity(rest), nil
	}
	return Entity{}, fmt.Errorf("entity %q: unknown entity type %q (users, clients or ips)", path, typ)
}

// AlterEntity is the configs of an entity after setting set and removing
// remove from cur; nil when none is left. cur is not changed.
func AlterEntity(cur, set map[string]string, remove []string) map[string]string {
	next := maps.Clone(cur)
	if next == nil {
		next = map[string]string{}
	}
	for _, k := range remove {
		delete(next, k)
	}
	maps.Copy(next, set)
	if len(next) == 0 {
		return nil
	}
	return next
}

// EntitiesOfType returns the entries of configs (by entity path) of one
// entity type; "users" includes the users/<u>/clients/<c> entities.
func EntitiesOfType(configs map[string]map[string]string, entityType string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for path, m := range configs {
		if strings.HasPrefix(path, entityType+"/") && len(m) > 0 {
			out[path] = maps.Clone(m)
		}
	}
	return out
}
