package oauthbearer

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/samsa-io/samsa/broker/sasl"
)

// MechanismName is the SASL mechanism name clients ask for.
const MechanismName = "OAUTHBEARER"

// The server callback handler classes Kafka accepts in
// listener.name.<listener>.oauthbearer.sasl.server.callback.handler.class.
const (
	// UnsecuredValidatorClass is Kafka's default: unsecured JWS tokens.
	UnsecuredValidatorClass = "org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler"
	// SecuredValidatorClass is Kafka 3.x's JWKS validator (KIP-768).
	SecuredValidatorClass = "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler"
	// SecuredValidatorClassKafka4 is the same validator under its Kafka 4 name.
	SecuredValidatorClassKafka4 = "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler"
)

// Kafka's defaults for the secured validator's keys.
const (
	DefaultJWKSEndpointRefresh = time.Hour        // sasl.oauthbearer.jwks.endpoint.refresh.ms
	DefaultClockSkew           = 30 * time.Second // sasl.oauthbearer.clock.skew.seconds
	DefaultSubClaimName        = "sub"            // sasl.oauthbearer.sub.claim.name
	DefaultScopeClaimName      = "scope"          // sasl.oauthbearer.scope.claim.name
)

// Config is what Kafka's keys say about OAUTHBEARER on one listener. The
// zero Config is Kafka's default: unsecured tokens, principal in "sub".
type Config struct {
	// ServerCallbackHandlerClass is
	// listener.name.<l>.oauthbearer.sasl.server.callback.handler.class:
	// empty, UnsecuredValidatorClass, SecuredValidatorClass or
	// SecuredValidatorClassKafka4. Empty chooses the secured validator
	// when JWKSEndpointURL is set, the unsecured one otherwise.
	ServerCallbackHandlerClass string

	// The unsecured validator's options, from the JAAS line of
	// listener.name.<l>.oauthbearer.sasl.jaas.config (see
	// SetJAASOptions).

	// UnsecuredPrincipalClaimName is unsecuredValidatorPrincipalClaimName
	// (default "sub").
	UnsecuredPrincipalClaimName string
	// UnsecuredScopeClaimName is unsecuredValidatorScopeClaimName
	// (default "scope").
	UnsecuredScopeClaimName string
	// UnsecuredRequiredScope is unsecuredValidatorRequiredScope, a
	// space-separated list in the JAAS line: every element must be in
	// the token's scope.
	UnsecuredRequiredScope []string
	// UnsecuredAllowableClockSkew is unsecuredValidatorAllowableClockSkewMs
	// (default 0).
	UnsecuredAllowableClockSkew time.Duration

	// The secured validator's broker keys.

	// JWKSEndpointURL is sasl.oauthbearer.jwks.endpoint.url: an https://
	// (or http://) URL of the identity provider's JWKS, or a file:// URL
	// of a JWKS file.
	JWKSEndpointURL string
	// JWKSEndpointRefresh is sasl.oauthbearer.jwks.endpoint.refresh.ms
	// (default one hour); an http(s) JWKS is fetched again this often.
	JWKSEndpointRefresh time.Duration
	// ExpectedAudience is sasl.oauthbearer.expected.audience: the token's
	// aud must name one of these.
	ExpectedAudience []string
	// ExpectedIssuer is sasl.oauthbearer.expected.issuer: the token's iss
	// must equal it.
	ExpectedIssuer string
	// SubClaimName is sasl.oauthbearer.sub.claim.name (default "sub").
	SubClaimName string
	// ScopeClaimName is sasl.oauthbearer.scope.claim.name (default "scope").
	ScopeClaimName string
	// ClockSkew is sasl.oauthbearer.clock.skew.seconds (default 30 s).
	ClockSkew time.Duration
	// JWKSTLS, if set, is the TLS configuration used to fetch an https
	// JWKS (the trusted CAs of a private identity provider); nil uses the
	// system's roots. Kafka has no broker key for this; Samsa's config
	// layer fills it.
	JWKSTLS *tls.Config
}

// The JAAS options of Kafka's unsecured validator.
const (
	jaasPrincipalClaimName   = "unsecuredValidatorPrincipalClaimName"
	jaasScopeClaimName       = "unsecuredValidatorScopeClaimName"
	jaasRequiredScope        = "unsecuredValidatorRequiredScope"
	jaasAllowableClockSkewMs = "unsecuredValidatorAllowableClockSkewMs"
)

// SetJAASOptions applies the options of the OAuthBearerLoginModule JAAS
// line (already parsed into name → value) that the unsecured validator
// reads; other options (unsecuredLogin*, the client's) are ignored, as
// Kafka ignores them on the broker.
func (c *Config) SetJAASOptions(options map[string]string) error {
	if v := strings.TrimSpace(options[jaasPrincipalClaimName]); v != "" {
		c.UnsecuredPrincipalClaimName = v
	}
	if v := strings.TrimSpace(options[jaasScopeClaimName]); v != "" {
		c.UnsecuredScopeClaimName = v
	}
	if v := strings.TrimSpace(options[jaasRequiredScope]); v != "" {
		c.UnsecuredRequiredScope = strings.Fields(v)
	}
	if v := strings.TrimSpace(options[jaasAllowableClockSkewMs]); v != "" {
		ms, err := strconv.ParseInt(v, 10, 32)
		if err != nil || ms < 0 {
			return fmt.Errorf("%s: allowable clock skew millis must be a non-negative integer: %q", jaasAllowableClockSkewMs, v)
		}
		c.UnsecuredAllowableClockSkew = time.Duration(ms) * time.Millisecond
	}
	return nil
}

// Mechanism is SASL/OAUTHBEARER with one validator.
type Mechanism struct {
	validator validator
	keys      keySource // secured mode only
	now       func() time.Time
}

var _ sasl.Mechanism = (*Mechanism)(nil)

// New builds the mechanism cfg describes. In secured mode with an http(s)
// JWKS it fetches the key set once before returning (an unreachable or
// empty JWKS is an error) and starts refreshing it; Close stops that.
func New(cfg Config) (*Mechanism, error) {
	now := time.Now
	secured, err := securedMode(cfg)
	if err != nil {
		return nil, err
	}
	if !secured {
		return &Mechanism{validator: newUnsecuredValidator(cfg), now: now}, nil
	}
	keys, err := openKeySource(cfg)
	if err != nil {
		return nil, err
	}
	v := &securedValidator{
		keys:             keys,
		expectedAudience: cfg.ExpectedAudience,
		expectedIssuer:   cfg.ExpectedIssuer,
		subClaim:         orDefault(cfg.SubClaimName, DefaultSubClaimName),
		scopeClaim:       orDefault(cfg.ScopeClaimName, DefaultScopeClaimName),
		clockSkew:        cfg.ClockSkew,
	}
	if v.clockSkew == 0 {
		v.clockSkew = DefaultClockSkew
	}
	if v.clockSkew < 0 {
		return nil, fmt.Errorf("sasl.oauthbearer.clock.skew.seconds must not be negative: %v", cfg.ClockSkew)
	}
	return &Mechanism{validator: v, keys: keys, now: now}, nil
}

func securedMode(cfg Config) (bool, error) {
	switch cfg.ServerCallbackHandlerClass {
	case "":
		return cfg.JWKSEndpointURL != "", nil
	case UnsecuredValidatorClass:
		if cfg.JWKSEndpointURL != "" {
			return false, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url is set but the server callback handler is the unsecured %s; set it to %s to validate tokens with the JWKS",
				UnsecuredValidatorClass, SecuredValidatorClass)
		}
		return false, nil
	case SecuredValidatorClass, SecuredValidatorClassKafka4:
		if cfg.JWKSEndpointURL == "" {
			return false, fmt.Errorf("%s needs sasl.oauthbearer.jwks.endpoint.url", cfg.ServerCallbackHandlerClass)
		}
		return true, nil
	default:
		return false, fmt.Errorf("unsupported OAUTHBEARER server callback handler class %q (supported: %s, %s)",
			cfg.ServerCallbackHandlerClass, UnsecuredValidatorClass, SecuredValidatorClass)
	}
}

func newUnsecuredValidator(cfg Config) *unsecuredValidator {
	return &unsecuredValidator{
		principalClaim: orDefault(strings.TrimSpace(cfg.UnsecuredPrincipalClaimName), "sub"),
		scopeClaim:     orDefault(strings.TrimSpace(cfg.UnsecuredScopeClaimName), "scope"),
		requiredScope:  cfg.UnsecuredRequiredScope,
		clockSkew:      max(cfg.UnsecuredAllowableClockSkew, 0),
	}
}

func openKeySource(cfg Config) (keySource, error) {
	u, err := url.Parse(cfg.JWKSEndpointURL)
	if err != nil {
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url: %w", err)
	}
	switch u.Scheme {
	case "https", "http":
		refresh := cfg.JWKSEndpointRefresh
		if refresh == 0 {
			refresh = DefaultJWKSEndpointRefresh
		}
		if refresh < 0 {
			return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.refresh.ms must be non-negative: %v", refresh)
		}
		return newHTTPKeys(cfg.JWKSEndpointURL, refresh, cfg.JWKSTLS)
	case "file":
		if u.Path == "" {
			return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url %q names no file", cfg.JWKSEndpointURL)
		}
		return newFileKeys(u.Path)
	default:
		return nil, fmt.Errorf("sasl.oauthbearer.jwks.endpoint.url %q: scheme must be https, http or file", cfg.JWKSEndpointURL)
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Name is "OAUTHBEARER".
func (m *Mechanism) Name() string { return MechanismName }

// Start begins one authentication.
func (m *Mechanism) Start() sasl.Exchange { return &exchange{mechanism: m} }

// Close stops refreshing the JWKS. Exchanges started before keep working
// with the last key set.
func (m *Mechanism) Close() error {
	if m.keys != nil {
		m.keys.close()
	}
	return nil
}
