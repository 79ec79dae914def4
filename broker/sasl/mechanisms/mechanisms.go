// Package mechanisms builds the SASL mechanisms each SASL listener
// enables, from the broker configuration. It is the one place that knows
// every mechanism package: a new mechanism (OAUTHBEARER) registers its
// Builder in builders below.
package mechanisms

import (
	"fmt"
	"sort"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/sasl"
	"github.com/samsa-io/samsa/broker/sasl/plain"
	"github.com/samsa-io/samsa/broker/sasl/scram"
)

// Store is what mechanisms read from the metadata store (SCRAM's
// credentials); controller.Store satisfies it.
type Store interface {
	scram.CredentialStore
}

// Builder makes one mechanism for a listener from the listener's JAAS
// entry for it (listener.name.<l>.<mechanism>.sasl.jaas.config; the zero
// JAAS when none was given) and the metadata store (nil when the store
// cannot hold credentials).
type Builder func(listener string, jaas config.JAAS, store Store) (sasl.Mechanism, error)

// builders holds every mechanism Samsa implements, by name.
var builders = map[string]Builder{
	plain.Name:   buildPlain,
	scram.SHA256: buildSCRAM(scram.SHA256),
	scram.SHA512: buildSCRAM(scram.SHA512),
}

func buildPlain(listener string, jaas config.JAAS, _ Store) (sasl.Mechanism, error) {
	users := jaas.PlainUsers()
	if len(users) == 0 {
		return nil, fmt.Errorf("listener %s: PLAIN has no users: add user_<name>=\"<password>\" to listener.name.<listener>.plain.sasl.jaas.config", listener)
	}
	return plain.New(users), nil
}

func buildSCRAM(name string) Builder {
	return func(listener string, _ config.JAAS, store Store) (sasl.Mechanism, error) {
		if store == nil {
			return nil, fmt.Errorf("listener %s: %s needs a metadata store that holds user credentials", listener, name)
		}
		return scram.New(name, store)
	}
}

// Listener holds one listener's enabled mechanisms by name.
type Listener map[string]sasl.Mechanism

// Names returns the enabled mechanisms' names, sorted, as SaslHandshake
// lists them.
func (l Listener) Names() []string {
	names := make([]string, 0, len(l))
	for n := range l {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ForListeners builds the mechanisms of every SASL listener in cfg, by
// listener name. A mechanism Samsa does not implement is an error naming
// it.
func ForListeners(cfg config.SASL, store Store) (map[string]Listener, error) {
	out := make(map[string]Listener, len(cfg.Listeners))
	for name, l := range cfg.Listeners {
		ms := make(Listener, len(l.Mechanisms))
		for _, mech := range l.Mechanisms {
			build, ok := builders[mech]
			if !ok {
				return nil, fmt.Errorf("listener %s: SASL mechanism %s is not implemented yet", name, mech)
			}
			m, err := build(name, l.JAAS[mech], store)
			if err != nil {
				return nil, err
			}
			ms[mech] = m
		}
		out[name] = ms
	}
	return out, nil
}
