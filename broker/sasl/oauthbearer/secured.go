package oauthbearer

import (
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signingAlgorithms are the JWS algorithms a secured token may use: the
// asymmetric ones, since the broker only holds the provider's public
// keys. Kafka (jose4j with DISALLOW_NONE) refuses only "none".
var signingAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// securedValidator is Kafka's BrokerJwtValidator (KIP-768): the token is a
// JWT signed by a key of the JWKS, found by its kid; exp and iat are
// required, exp and nbf are checked with the allowed clock skew; iss and
// aud are checked when an expected issuer or audience is configured, and a
// token that names an audience is refused when none is expected (jose4j's
// default, which Kafka keeps); the subject claim must be a non-blank
// string.
type securedValidator struct {
	keys             keySource
	expectedAudience []string
	expectedIssuer   string
	subClaim         string
	scopeClaim       string
	clockSkew        time.Duration
}

func (v *securedValidator) validate(raw string, now time.Time) (validatedToken, error) {
	options := []jwt.ParserOption{
		jwt.WithValidMethods(signingAlgorithms),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.clockSkew),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithJSONNumber(),
	}
	if v.expectedIssuer != "" {
		options = append(options, jwt.WithIssuer(v.expectedIssuer))
	}
	if len(v.expectedAudience) > 0 {
		options = append(options, jwt.WithAudience(v.expectedAudience...))
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(raw, claims, v.keys.key, options...); err != nil {
		return validatedToken{}, invalidToken("could not validate the access token: %v", err)
	}
	if len(v.expectedAudience) == 0 {
		if aud, err := claims.GetAudience(); err == nil && len(aud) > 0 {
			return validatedToken{}, invalidToken("could not validate the access token: audience (aud) claim %v present in the JWT but no expected audience value(s) were configured (sasl.oauthbearer.expected.audience)", []string(aud))
		}
	}
	iat, err := claims.GetIssuedAt()
	if err != nil {
		return validatedToken{}, invalidToken("could not extract the 'iat' claim from the access token: %v", err)
	}
	if iat == nil {
		return validatedToken{}, invalidToken("could not validate the access token: no Issued At (iat) claim present")
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return validatedToken{}, invalidToken("could not extract the 'exp' claim from the access token")
	}
	sub, present, err := stringClaim(claims, v.subClaim)
	if err != nil {
		return validatedToken{}, err
	}
	if !present || strings.TrimSpace(sub) == "" {
		return validatedToken{}, invalidToken("the '%s' claim value must be non-blank", v.subClaim)
	}
	scope, err := scopeClaim(claims, v.scopeClaim)
	if err != nil {
		return validatedToken{}, err
	}
	return validatedToken{principal: strings.TrimSpace(sub), scope: scope, expiry: exp.Time}, nil
}

// keySource finds the verification key of a token by its kid.
type keySource interface {
	key(token *jwt.Token) (any, error)
	close()
}

var errUnknownKeyID = errors.New("no key in the JWKS has the token's key ID")
