package quota

import (
	"fmt"
	"strconv"
	"strings"
)

// The quota keys a client entity may carry, Kafka's names.
const (
	ProducerByteRate       = "producer_byte_rate"
	ConsumerByteRate       = "consumer_byte_rate"
	RequestPercentage      = "request_percentage"
	ControllerMutationRate = "controller_mutation_rate"
	// ConnectionCreationRate is the quota of an ips/<ip> entity (KIP-612).
	ConnectionCreationRate = "connection_creation_rate"
)

// Default names the default entity in an entity path, as Kafka names it
// in ZooKeeper ("users/<default>").
const Default = "<default>"

// ClientKeys are the quota keys of user and client-id entities.
var ClientKeys = []string{ProducerByteRate, ConsumerByteRate, RequestPercentage, ControllerMutationRate}

// ParseValue checks a quota value as Kafka does: a number, not negative,
// and a whole number for the byte rates and the connection rate (they
// are LONG and INT configs in Kafka; the others are DOUBLE).
func ParseValue(key string, v string) (float64, error) {
	switch key {
	case ProducerByteRate, ConsumerByteRate, ConnectionCreationRate:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s must be a non-negative whole number, not %q", key, v)
		}
		if key == ConnectionCreationRate && n > 1<<31-1 {
			return 0, fmt.Errorf("%s must fit an int, not %q", key, v)
		}
		return float64(n), nil
	case RequestPercentage, ControllerMutationRate:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 {
			return 0, fmt.Errorf("%s must be a non-negative number, not %q", key, v)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%q is not a quota key", key)
}

// FormatValue writes a quota value as Kafka stores it: whole numbers for
// the byte and connection rates, doubles for the others.
func FormatValue(key string, v float64) string {
	switch key {
	case ProducerByteRate, ConsumerByteRate, ConnectionCreationRate:
		return strconv.FormatInt(int64(v), 10)
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0" // as Java's Double.toString writes a whole double
	}
	return s
}

// Table is a snapshot of the client quotas, by entity path
// ("users/alice/clients/app", "clients/<default>").
type Table map[string]map[string]float64

// NewTable builds a table from stored entity configs (keyed by entity
// path, values as stored). Keys that are not quotas (SCRAM credentials
// share users/<user>) and values that do not parse are left out.
func NewTable(entities ...map[string]map[string]string) Table {
	t := Table{}
	for _, m := range entities {
		for entity, configs := range m {
			for k, v := range configs {
				if !isQuotaKey(k) {
					continue
				}
				f, err := ParseValue(k, v)
				if err != nil {
					continue
				}
				if t[entity] == nil {
					t[entity] = map[string]float64{}
				}
				t[entity][k] = f
			}
		}
	}
	return t
}

func isQuotaKey(k string) bool {
	switch k {
	case ProducerByteRate, ConsumerByteRate, RequestPercentage, ControllerMutationRate, ConnectionCreationRate:
		return true
	}
	return false
}

// Bound is a resolved quota: the limit and who shares its measured rate.
type Bound struct {
	Limit float64
	// Entity is the entity path the limit came from.
	Entity string
	// User and ClientID name the rate the client is measured by, Kafka's
	// metric tags: empty when every value of it shares the rate.
	User, ClientID string
}

// level is one of Kafka's eight lookup levels: which user and client-id
// entity, each either the client's own, the default, or absent.
type level struct{ user, client byte } // 'o' own, 'd' default, 0 absent

var levels = []level{
	{'o', 'o'}, {'o', 'd'}, {'o', 0},
	{'d', 'o'}, {'d', 'd'}, {'d', 0},
	{0, 'o'}, {0, 'd'},
}

// empty reports whether the table holds no quota at all.
func (t Table) empty() bool {
	for _, keys := range t {
		if len(keys) > 0 {
			return false
		}
	}
	return true
}

// Resolve returns the quota key applying to a client with this user
// (the principal's name, "alice" for User:alice) and client ID, with
// Kafka's precedence; ok is false when none does.
func (t Table) Resolve(key, user, clientID string) (b Bound, ok bool) {
	for _, l := range levels {
		path := entityPath(pick(l.user, user), pick(l.client, clientID))
		limit, found := t[path][key]
		if !found {
			continue
		}
		b = Bound{Limit: limit, Entity: path}
		if l.user != 0 {
			b.User = user
		}
		if l.client != 0 {
			b.ClientID = clientID
		}
		return b, true
	}
	return Bound{}, false
}

func pick(which byte, own string) *string {
	switch which {
	case 'o':
		return &own
	case 'd':
		d := Default
		return &d
	}
	return nil
}

// entityPath joins a user and client-id entity into the path the store
// keys them by.
func entityPath(user, client *string) string {
	switch {
	case user != nil && client != nil:
		return "users/" + *user + "/clients/" + *client
	case user != nil:
		return "users/" + *user
	case client != nil:
		return "clients/" + *client
	}
	return ""
}

// EntityPath is the store path of a user and client-id entity; nil omits
// a part, Default names a default.
func EntityPath(user, clientID *string) string { return entityPath(user, clientID) }
