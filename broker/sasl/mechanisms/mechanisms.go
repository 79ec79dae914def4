// Package mechanisms builds the SASL mechanisms each SASL listener
// enables, from the broker configuration. It is the one place that knows
// every mechanism package: a new mechanism registers its Builder in
// builders below.
package mechanisms

import (
	"fmt"
	"io"
	"sort"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/sasl"
	"github.com/samsa-io/samsa/broker/sasl/oauthbearer"
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
// JAAS when none was given), the listener's and the broker's SASL
// settings, and the metadata store (nil when the store cannot hold
// credentials).
type Builder func(listener string, jaas config.JAAS, l config.SASLListener, cfg config.SASL, store Store) (sasl.Mechanism, error)

// builders holds every mechanism Samsa implements, by name.
var builders = map[string]Builder{
	plain.Name:                buildPlain,
	scram.SHA256:              buildSCRAM(scram.SHA256),
	scram.SHA512:              buildSCRAM(scram.SHA512),
	oauthbearer.MechanismName: buildOAuthBearer,
}

func buildPlain(listener string, jaas config.JAAS, _ config.SASLListener, _ config.SASL, _ Store) (sasl.Mechanism, error) {
	users := jaas.PlainUsers()
	if len(users) == 0 {
		return nil, fmt.Errorf("listener %s: PLAIN has no users: add user_<name>=\"<password>\" to listener.name.<listener>.plain.sasl.jaas.config", listener)
	}
	return plain.New(users), nil
}

func buildSCRAM(name string) Builder {
	return func(listener string, _ config.JAAS, _ config.SASLListener, _ config.SASL, store Store) (sasl.Mechanism, error) {
		if store == nil {
			return nil, fmt.Errorf("listener %s: %s needs a metadata store that holds user credentials", listener, name)
		}
		return scram.New(name, store)
	}
}

// buildOAuthBearer makes OAUTHBEARER with the validator the listener
// names (or the one sasl.oauthbearer.jwks.endpoint.url implies), the
// unsecured validator's JAAS options and the broker's JWKS settings.
func buildOAuthBearer(listener string, jaas config.JAAS, l config.SASLListener, cfg config.SASL, _ Store) (sasl.Mechanism, error) {
	o := cfg.OAuthBearer
	oc := oauthbearer.Config{
		ServerCallbackHandlerClass: l.OAuthBearerCallbackHandler,
		JWKSEndpointURL:            o.JWKSEndpointURL,
		JWKSEndpointRefresh:        o.JWKSRefresh,
		ExpectedAudience:           o.ExpectedAudience,
		ExpectedIssuer:             o.ExpectedIssuer,
		SubClaimName:               o.SubClaimName,
		ScopeClaimName:             o.ScopeClaimName,
		ClockSkew:                  o.ClockSkew,
	}
	if err := oc.SetJAASOptions(jaas.Options); err != nil {
		return nil, fmt.Errorf("listener %s: OAUTHBEARER: %w", listener, err)
	}
	m, err := oauthbearer.New(oc)
	if err != nil {
		return nil, fmt.Errorf("listener %s: OAUTHBEARER: %w", listener, err)
	}
	return m, nil
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
			m, err := build(name, l.JAAS[mech], l, cfg, store)
			if err != nil {
				return nil, err
			}
			ms[mech] = m
		}
		out[name] = ms
	}
	return out, nil
}

// Close stops what the mechanisms run in the background (OAUTHBEARER's
// JWKS refreshes).
func Close(listeners map[string]Listener) {
	for _, l := range listeners {
		for _, m := range l {
			if c, ok := m.(io.Closer); ok {
				c.Close()
			}
		}
	}
}
