package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SASL is the SASL configuration: the mechanisms each SASL_PLAINTEXT or
// SASL_SSL listener enables, with their JAAS options.
type SASL struct {
	// EnabledMechanisms is sasl.enabled.mechanisms (GSSAPI, as in Kafka;
	// Samsa refuses GSSAPI on a SASL listener, so a SASL listener needs
	// it or its listener.name.<l>.sasl.enabled.mechanisms set).
	EnabledMechanisms []string
	// InterBrokerMechanism is sasl.mechanism.inter.broker.protocol
	// (GSSAPI, as in Kafka).
	InterBrokerMechanism string
	// MaxReauth is connections.max.reauth.ms (0: sessions do not expire
	// and clients never re-authenticate, KIP-368).
	MaxReauth time.Duration
	// Listeners holds each SASL listener's settings, by listener name.
	Listeners map[string]SASLListener
	// OAuthBearer holds the broker-wide sasl.oauthbearer.* keys.
	OAuthBearer OAuthBearer
}

// OAuthBearer is the broker's sasl.oauthbearer.* keys: the JWKS
// validation of OAUTHBEARER tokens (KIP-768).
type OAuthBearer struct {
	JWKSEndpointURL  string        // sasl.oauthbearer.jwks.endpoint.url
	JWKSRefresh      time.Duration // sasl.oauthbearer.jwks.endpoint.refresh.ms
	ExpectedAudience []string      // sasl.oauthbearer.expected.audience
	ExpectedIssuer   string        // sasl.oauthbearer.expected.issuer
	SubClaimName     string        // sasl.oauthbearer.sub.claim.name
	ScopeClaimName   string        // sasl.oauthbearer.scope.claim.name
	ClockSkew        time.Duration // sasl.oauthbearer.clock.skew.seconds
}

// SASLListener is one SASL listener's configuration.
type SASLListener struct {
	// Mechanisms are the mechanisms it enables:
	// listener.name.<l>.sasl.enabled.mechanisms, else
	// sasl.enabled.mechanisms.
	Mechanisms []string
	// JAAS is listener.name.<l>.<mechanism>.sasl.jaas.config parsed, by
	// upper-case mechanism name; a mechanism without one is absent.
	JAAS map[string]JAAS
	// OAuthBearerCallbackHandler is
	// listener.name.<l>.oauthbearer.sasl.server.callback.handler.class:
	// which OAUTHBEARER validator the listener uses (empty: JWKS when
	// sasl.oauthbearer.jwks.endpoint.url is set, else unsecured tokens).
	OAuthBearerCallbackHandler string
}

// JAAS is one parsed JAAS login module line, as Kafka's sasl.jaas.config
// holds it: `<LoginModule> required key="value" ...;`.
type JAAS struct {
	LoginModule string
	Flag        string // required, requisite, sufficient or optional
	Options     map[string]string
}

// Kafka's login modules for each mechanism.
const (
	PlainLoginModule       = "org.apache.kafka.common.security.plain.PlainLoginModule"
	ScramLoginModule       = "org.apache.kafka.common.security.scram.ScramLoginModule"
	OAuthBearerLoginModule = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule"
)

// saslMechanisms are the mechanism names Samsa knows; a listener may
// enable those the broker has an implementation for.
var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"}

// errGSSAPI is the one refusal a user following Kafka's defaults meets.
var errGSSAPI = errors.New("GSSAPI (Kerberos) is not supported by Samsa; enable PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER")

func setMechanismList(field func(*Broker) *[]string) func(*Broker, string) error {
	return func(b *Broker, v string) error {
		list, err := parseMechanisms(v)
		if err != nil {
			return err
		}
		*field(b) = list
		return nil
	}
}

// parseMechanisms reads a list of mechanism names. GSSAPI is accepted
// here (it is Kafka's default) and refused only on a SASL listener.
func parseMechanisms(v string) ([]string, error) {
	var list []string
	for _, m := range parseList(v) {
		m = strings.ToUpper(strings.TrimSpace(m))
		if m == "" {
			continue
		}
		if m != "GSSAPI" && !contains(saslMechanisms, m) {
			return nil, fmt.Errorf("unknown SASL mechanism %s (Samsa knows %s)", m, strings.Join(saslMechanisms, ", "))
		}
		if !contains(list, m) {
			list = append(list, m)
		}
	}
	return list, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// listenerScoped reports whether key is a listener-scoped key Samsa
// reads: listener.name.<listener>.sasl.enabled.mechanisms and
// listener.name.<listener>.<mechanism>.sasl.jaas.config and
// listener.name.<listener>.oauthbearer.sasl.server.callback.handler.class.
func listenerScoped(key string) bool {
	rest, ok := strings.CutPrefix(key, "listener.name.")
	if !ok {
		return false
	}
	_, suffix, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	if suffix == "sasl.enabled.mechanisms" || suffix == "oauthbearer.sasl.server.callback.handler.class" {
		return true
	}
	mech, ok := strings.CutSuffix(suffix, ".sasl.jaas.config")
	return ok && contains(saslMechanisms, strings.ToUpper(mech))
}

// resolveSASL builds the settings of every SASL listener, once the
// listeners and the listener-scoped keys are known.
func (b *Broker) resolveSASL() error {
	b.SASL.Listeners = map[string]SASLListener{}
	for _, l := range b.Listeners {
		if !strings.HasPrefix(l.SecurityProtocol, "SASL_") {
			continue
		}
		prefix := "listener.name." + strings.ToLower(l.Name) + "."
		key, v := "sasl.enabled.mechanisms", b.raw("sasl.enabled.mechanisms")
		mechs := b.SASL.EnabledMechanisms
		if lv, ok := b.ListenerScoped[prefix+"sasl.enabled.mechanisms"]; ok {
			var err error
			key, v = prefix+"sasl.enabled.mechanisms", lv
			if mechs, err = parseMechanisms(lv); err != nil {
				return invalid(key, v, err.Error())
			}
		}
		if len(mechs) == 0 {
			return invalid(key, v, "listener "+l.Name+" is "+l.SecurityProtocol+" but enables no SASL mechanism")
		}
		if contains(mechs, "GSSAPI") {
			return invalid(key, v, errGSSAPI.Error())
		}
		sl := SASLListener{Mechanisms: mechs, JAAS: map[string]JAAS{},
			OAuthBearerCallbackHandler: b.ListenerScoped[prefix+"oauthbearer.sasl.server.callback.handler.class"]}
		for _, m := range mechs {
			jkey := prefix + strings.ToLower(m) + ".sasl.jaas.config"
			text, ok := b.ListenerScoped[jkey]
			if !ok {
				if m == "PLAIN" {
					return invalid(jkey, "", "listener "+l.Name+" enables PLAIN, whose users come from this key (user_<name>=\"<password>\"); set it")
				}
				continue
			}
			j, err := ParseJAAS(text)
			if err != nil {
				return invalid(jkey, "[hidden]", err.Error())
			}
			if want := loginModuleFor(m); want != "" && j.LoginModule != want {
				return invalid(jkey, "[hidden]", fmt.Sprintf("mechanism %s needs login module %s, not %s", m, want, j.LoginModule))
			}
			sl.JAAS[m] = j
		}
		b.SASL.Listeners[l.Name] = sl
	}
	return nil
}

func loginModuleFor(mechanism string) string {
	switch mechanism {
	case "PLAIN":
		return PlainLoginModule
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		return ScramLoginModule
	case "OAUTHBEARER":
		return OAuthBearerLoginModule
	}
	return ""
}

// PlainUsers returns the users of a PLAIN JAAS line: its
// user_<name>="<password>" options, as Kafka's PlainServerCallbackHandler
// reads them.
func (j JAAS) PlainUsers() map[string]string {
	users := map[string]string{}
	for k, v := range j.Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
			users[name] = v
		}
	}
	return users
}

// ParseJAAS parses one JAAS login module entry as Kafka's JaasConfig
// reads sasl.jaas.config: a login module class, a control flag, options
// key=value (the value quoted or a bare token), and a closing semicolon.
func ParseJAAS(text string) (JAAS, error) {
	s := strings.TrimSpace(text)
	body, ok := strings.CutSuffix(s, ";")
	if !ok {
		return JAAS{}, errors.New("JAAS config entry must end with ';'")
	}
	tok := jaasTokenizer{s: body}
	module, err := tok.word()
	if err != nil || module == "" {
		return JAAS{}, errors.New("JAAS config has no login module")
	}
	flag, err := tok.word()
	if err != nil {
		return JAAS{}, err
	}
	switch strings.ToLower(flag) {
	case "required", "requisite", "sufficient", "optional":
	default:
		return JAAS{}, fmt.Errorf("JAAS config has control flag %q; want required, requisite, sufficient or optional", flag)
	}
	j := JAAS{LoginModule: module, Flag: strings.ToLower(flag), Options: map[string]string{}}
	for {
		tok.skipSpace()
		if tok.done() {
			break
		}
		key, err := tok.word()
		if err != nil {
			return JAAS{}, err
		}
		k, v, ok := strings.Cut(key, "=")
		if !ok {
			return JAAS{}, fmt.Errorf("JAAS option %q has no value", key)
		}
		if v == "" {
			if v, err = tok.value(); err != nil {
				return JAAS{}, fmt.Errorf("JAAS option %s: %w", k, err)
			}
		}
		j.Options[k] = v
	}
	return j, nil
}

// jaasTokenizer splits a JAAS entry into words; a word ending in '='
// is followed by a value, quoted or not.
type jaasTokenizer struct {
	s   string
	pos int
}

func (t *jaasTokenizer) done() bool { return t.pos >= len(t.s) }

func (t *jaasTokenizer) skipSpace() {
	for !t.done() && strings.ContainsRune(" \t\r\n", rune(t.s[t.pos])) {
		t.pos++
	}
}

// word reads up to a space, or up to and including '=' for an option.
func (t *jaasTokenizer) word() (string, error) {
	t.skipSpace()
	start := t.pos
	for !t.done() && !strings.ContainsRune(" \t\r\n", rune(t.s[t.pos])) {
		if t.s[t.pos] == '"' {
			return "", errors.New("JAAS config has a quote where a name was expected")
		}
		t.pos++
		if t.s[t.pos-1] == '=' {
			break
		}
	}
	return t.s[start:t.pos], nil
}

// value reads an option value: "quoted" (with \" and \\ escapes) or a
// bare token.
func (t *jaasTokenizer) value() (string, error) {
	if t.done() {
		return "", errors.New("missing value")
	}
	if t.s[t.pos] != '"' {
		start := t.pos
		for !t.done() && !strings.ContainsRune(" \t\r\n", rune(t.s[t.pos])) {
			t.pos++
		}
		return t.s[start:t.pos], nil
	}
	t.pos++
	var v strings.Builder
	for !t.done() {
		c := t.s[t.pos]
		t.pos++
		switch {
		case c == '\\' && !t.done():
			v.WriteByte(t.s[t.pos])
			t.pos++
		case c == '"':
			return v.String(), nil
		default:
			v.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted value")
}

// SASLListenerNames returns the SASL listeners' names, sorted.
func (s SASL) SASLListenerNames() []string {
	names := make([]string, 0, len(s.Listeners))
	for n := range s.Listeners {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
