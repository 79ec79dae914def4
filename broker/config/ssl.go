package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// SSL is the TLS setup of one listener: Kafka's ssl.* keys, each one read
// from listener.name.<listener>.ssl.* when that is set (at any level) and
// from the unprefixed key otherwise, as Kafka resolves listener configs.
// Values are as given (validated); package tlsconf turns them into a
// tls.Config.
type SSL struct {
	KeystoreType             string   // ssl.keystore.type (JKS; Samsa reads PEM and PKCS12)
	KeystoreLocation         string   // ssl.keystore.location
	KeystorePassword         string   // ssl.keystore.password
	KeyPassword              string   // ssl.key.password
	KeystoreCertificateChain string   // ssl.keystore.certificate.chain (PEM text)
	KeystoreKey              string   // ssl.keystore.key (PEM text)
	TruststoreType           string   // ssl.truststore.type (JKS; Samsa reads PEM and PKCS12)
	TruststoreLocation       string   // ssl.truststore.location
	TruststorePassword       string   // ssl.truststore.password
	TruststoreCertificates   string   // ssl.truststore.certificates (PEM text)
	ClientAuth               string   // ssl.client.auth (none, requested, required)
	EnabledProtocols         []string // ssl.enabled.protocols (TLSv1.2,TLSv1.3)
	CipherSuites             []string // ssl.cipher.suites (empty: Go's defaults)
	PrincipalMappingRules    string   // ssl.principal.mapping.rules (DEFAULT)
	// EndpointIdentificationAlgorithm is
	// ssl.endpoint.identification.algorithm ("https": a client checks the
	// server's host name; empty: it does not).
	EndpointIdentificationAlgorithm string
}

// listenerPrefix starts every per-listener key:
// listener.name.<listener, lower case>.<key>.
const listenerPrefix = "listener.name."

// lookupKey finds the table entry for name, which may carry a
// listener.name.<listener>. prefix when the key is a per-listener one
// (ssl.*). listener is the prefix's listener name, upper-cased, or empty.
func lookupKey(name string) (k *brokerKey, listener string) {
	if k := brokerKeyByName[name]; k != nil {
		return k, ""
	}
	rest, ok := strings.CutPrefix(name, listenerPrefix)
	if !ok {
		return nil, ""
	}
	l, key, ok := strings.Cut(rest, ".")
	if !ok || l == "" {
		return nil, ""
	}
	if k := brokerKeyByName[key]; k != nil && k.perListener {
		return k, strings.ToUpper(l)
	}
	return nil, ""
}

// ListenerConnectionCreationRates are the
// listener.name.<listener>.max.connection.creation.rate values set, by
// listener name (upper case), at dynamic per-broker, dynamic cluster
// default or static level, most precedent first.
func (b *Broker) ListenerConnectionCreationRates() map[string]int32 {
	out := map[string]int32{}
	for _, l := range b.Listeners {
		name := listenerPrefix + strings.ToLower(l.Name) + ".max.connection.creation.rate"
		for _, layer := range []map[string]string{b.dynamicBroker, b.dynamicDefault, b.Set} {
			if v, ok := layer[name]; ok {
				if n, err := parseInt(v, TypeInt, 0, math.MaxInt32); err == nil {
					out[l.Name] = int32(n)
				}
				break
			}
		}
	}
	return out
}

// ListenerSSL resolves the ssl.* keys for a listener (its name, any
// case). Per key, most precedent first: the listener-prefixed key then
// the plain key, each at dynamic per-broker, dynamic cluster default and
// static level, then the built-in default.
func (b *Broker) ListenerSSL(listener string) SSL {
	prefix := listenerPrefix + strings.ToLower(listener) + "."
	value := func(key string) string {
		for _, name := range []string{prefix + key, key} {
			for _, layer := range []map[string]string{b.dynamicBroker, b.dynamicDefault, b.Set} {
				if v, ok := layer[name]; ok {
					return v
				}
			}
		}
		if k := brokerKeyByName[key]; k != nil && k.def != nil {
			return *k.def
		}
		return ""
	}
	return SSL{
		KeystoreType:                    value("ssl.keystore.type"),
		KeystoreLocation:                value("ssl.keystore.location"),
		KeystorePassword:                value("ssl.keystore.password"),
		KeyPassword:                     value("ssl.key.password"),
		KeystoreCertificateChain:        value("ssl.keystore.certificate.chain"),
		KeystoreKey:                     value("ssl.keystore.key"),
		TruststoreType:                  value("ssl.truststore.type"),
		TruststoreLocation:              value("ssl.truststore.location"),
		TruststorePassword:              value("ssl.truststore.password"),
		TruststoreCertificates:          value("ssl.truststore.certificates"),
		ClientAuth:                      value("ssl.client.auth"),
		EnabledProtocols:                parseList(value("ssl.enabled.protocols")),
		CipherSuites:                    parseList(value("ssl.cipher.suites")),
		PrincipalMappingRules:           value("ssl.principal.mapping.rules"),
		EndpointIdentificationAlgorithm: value("ssl.endpoint.identification.algorithm"),
	}
}

// sslKeys are Kafka's ssl.* broker keys. Each may also be given per
// listener (perListener). The keystore and truststore keys are dynamic
// (Kafka's DynamicBrokerConfig allows them per broker), so a certificate
// can be replaced with AlterConfigs.
var sslKeys = []brokerKey{
	{name: "ssl.keystore.type", typ: TypeString, def: text("JKS"), dynamic: true,
		doc:   "Format of the key store: PEM or PKCS12. Kafka's default, JKS, is refused by Samsa: convert it to PKCS12 with keytool -importkeystore.",
		apply: checkSSL(choice("JKS", "PKCS12", "PEM"))},
	{name: "ssl.keystore.location", typ: TypeString, dynamic: true,
		doc:   "Key store file: a PKCS12 file, or for PEM a file holding the private key and the certificate chain. Reloaded when it changes.",
		apply: checkSSL(nil)},
	{name: "ssl.keystore.password", typ: TypePassword, dynamic: true,
		doc:   "Password of the key store file (PKCS12).",
		apply: checkSSL(nil)},
	{name: "ssl.key.password", typ: TypePassword, dynamic: true,
		doc:   "Password of the private key: it decrypts an encrypted PKCS#8 PEM key (ENCRYPTED PRIVATE KEY), and in a PKCS12 key store it is tried when the key store password does not open it.",
		apply: checkSSL(nil)},
	{name: "ssl.keystore.certificate.chain", typ: TypePassword, dynamic: true,
		doc:   "Certificate chain in PEM, given in the config itself (ssl.keystore.type=PEM).",
		apply: checkSSL(nil)},
	{name: "ssl.keystore.key", typ: TypePassword, dynamic: true,
		doc:   "Private key in PEM (PKCS#8 or PKCS#1/SEC1), given in the config itself (ssl.keystore.type=PEM).",
		apply: checkSSL(nil)},
	{name: "ssl.truststore.type", typ: TypeString, def: text("JKS"), dynamic: true,
		doc:   "Format of the trust store: PEM or PKCS12 (JKS is refused).",
		apply: checkSSL(choice("JKS", "PKCS12", "PEM"))},
	{name: "ssl.truststore.location", typ: TypeString, dynamic: true,
		doc:   "Trust store file: CA certificates that sign client certificates (and, for the inter-broker client, broker certificates).",
		apply: checkSSL(nil)},
	{name: "ssl.truststore.password", typ: TypePassword, dynamic: true,
		doc:   "Password of the trust store file (PKCS12).",
		apply: checkSSL(nil)},
	{name: "ssl.truststore.certificates", typ: TypePassword, dynamic: true,
		doc:   "Trusted certificates in PEM, given in the config itself (ssl.truststore.type=PEM).",
		apply: checkSSL(nil)},
	{name: "ssl.client.auth", typ: TypeString, def: text("none"),
		doc:   "Client certificates: none, requested (asked for, checked when given) or required.",
		apply: checkSSL(choice("none", "requested", "required"))},
	{name: "ssl.enabled.protocols", typ: TypeList, def: text("TLSv1.2,TLSv1.3"),
		doc:   "TLS versions accepted: TLSv1.2 and TLSv1.3.",
		apply: checkSSL(listOf("TLSv1.2", "TLSv1.3"))},
	{name: "ssl.cipher.suites", typ: TypeList, def: text(""),
		doc:   "Cipher suites for TLS 1.2, by their IANA (Java) names; empty: Go's secure defaults. TLS 1.3 suites are always enabled.",
		apply: checkSSL(nil)},
	{name: "ssl.principal.mapping.rules", typ: TypeString, def: text("DEFAULT"),
		doc:   "How a client certificate's distinguished name becomes the principal's name: RULE:pattern/replacement/[LU] rules, comma-separated, then DEFAULT (the DN itself).",
		apply: checkSSL(checkPrincipalRules)},
	{name: "ssl.endpoint.identification.algorithm", typ: TypeString, def: text("https"),
		doc:   "https: the inter-broker TLS client checks that a peer's certificate names the host it dials; empty: it checks the chain only.",
		apply: checkSSL(nil)},
}

// checkSSL makes a table apply for an ssl.* key: it validates with check
// (nil: any value) and stores nothing, as ListenerSSL reads the raw
// values per listener.
func checkSSL(check func(string) error) func(*Broker, string) error {
	return func(_ *Broker, v string) error {
		if check == nil {
			return nil
		}
		return check(v)
	}
}

func choice(choices ...string) func(string) error {
	return func(v string) error {
		_, err := parseChoice(v, choices...)
		return err
	}
}

func listOf(choices ...string) func(string) error {
	return func(v string) error {
		items := parseList(v)
		if len(items) == 0 {
			return errors.New("at least one is required: " + strings.Join(choices, ", "))
		}
		for _, item := range items {
			if _, err := parseChoice(item, choices...); err != nil {
				return fmt.Errorf("%s: %w", item, err)
			}
		}
		return nil
	}
}

// checkPrincipalRules parses ssl.principal.mapping.rules the way
// ParsePrincipalRules does.
func checkPrincipalRules(v string) error {
	_, err := ParsePrincipalRules(v)
	return err
}

// PrincipalRule is one rule of ssl.principal.mapping.rules: DEFAULT, or
// RULE:pattern/replacement/ with an optional L (lower-case) or U
// (upper-case) flag.
type PrincipalRule struct {
	Default     bool
	Pattern     *regexp.Regexp // matches the whole DN
	Replacement string         // $1 refers to the pattern's first group
	Case        byte           // 'L', 'U' or 0
}

// ruleSyntax is one rule followed by a comma or the end: a pattern and a
// replacement may contain commas and escaped slashes (\/), as in Kafka.
var ruleSyntax = regexp.MustCompile(`^\s*(?:(DEFAULT)|RULE:((?:\\/|[^/])*)/((?:\\/|[^/])*)/([LU]?))\s*(?:,|$)`)

// ParsePrincipalRules parses ssl.principal.mapping.rules. Patterns are
// Go regular expressions (RE2), which read like Java's for what rules use.
func ParsePrincipalRules(v string) ([]PrincipalRule, error) {
	var rules []PrincipalRule
	rest := strings.TrimSpace(v)
	for rest != "" {
		m := ruleSyntax.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("invalid rule at %q: want DEFAULT or RULE:pattern/replacement/[LU]", rest)
		}
		rest = strings.TrimSpace(rest[len(m[0]):])
		if m[1] != "" {
			rules = append(rules, PrincipalRule{Default: true})
			continue
		}
		pattern := strings.ReplaceAll(m[2], `\/`, "/")
		re, err := regexp.Compile("^(?:" + pattern + ")$")
		if err != nil {
			return nil, fmt.Errorf("rule pattern %q: %w", pattern, err)
		}
		r := PrincipalRule{Pattern: re, Replacement: strings.ReplaceAll(m[3], `\/`, "/")}
		if m[4] != "" {
			r.Case = m[4][0]
		}
		rules = append(rules, r)
	}
	if len(rules) == 0 {
		return nil, errors.New("no rules; DEFAULT is the default")
	}
	return rules, nil
}
