package oauthbearer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// unsecuredValidator is Kafka's OAuthBearerUnsecuredValidatorCallbackHandler:
// the token must be an unsecured JWS (header alg "none", empty signature)
// whose claims carry a string principal claim, a numeric exp in the future
// and, if present, a numeric iat not in the future and before exp; every
// required scope must be in the scope claim. Times are seconds since the
// epoch, possibly fractional. nbf is ignored, as Kafka ignores it.
type unsecuredValidator struct {
	principalClaim string
	scopeClaim     string
	requiredScope  []string
	clockSkew      time.Duration
}

func (v *unsecuredValidator) validate(raw string, now time.Time) (validatedToken, error) {
	if strings.Contains(raw, "..") {
		return validatedToken{}, invalidToken("malformed compact serialization contains '..'")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return validatedToken{}, invalidToken("unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values")
	}
	header, err := decodeJSONPart(parts[0])
	if err != nil {
		return validatedToken{}, invalidToken("JWS header: %v", err)
	}
	claims, err := decodeJSONPart(parts[1])
	if err != nil {
		return validatedToken{}, invalidToken("JWT claims: %v", err)
	}
	alg, ok := header["alg"]
	if !ok {
		return validatedToken{}, invalidToken("JWS header must have an Algorithm value")
	}
	if alg != "none" {
		return validatedToken{}, invalidToken("unsecured JWS must have 'none' for an algorithm")
	}
	if parts[2] != "" {
		return validatedToken{}, invalidToken("unsecured JWS must not contain a digital signature")
	}
	scope, err := scopeClaim(claims, v.scopeClaim)
	if err != nil {
		return validatedToken{}, err
	}
	exp, present, err := numericClaim(claims, "exp")
	if err != nil {
		return validatedToken{}, err
	}
	if !present {
		return validatedToken{}, invalidToken("no expiration time in JWT")
	}
	principal, present, err := stringClaim(claims, v.principalClaim)
	if err != nil {
		return validatedToken{}, err
	}
	if !present || strings.TrimSpace(principal) == "" {
		return validatedToken{}, invalidToken("no principal name in JWT claim: %s", v.principalClaim)
	}
	iat, hasIat, err := numericClaim(claims, "iat")
	if err != nil {
		return validatedToken{}, err
	}
	nowMs := float64(now.UnixMilli())
	skewMs := float64(v.clockSkew.Milliseconds())
	if hasIat && 1000*iat > nowMs+skewMs {
		return validatedToken{}, invalidToken("the Issued At value (%f seconds) was after the indicated time (%d ms) plus allowable clock skew (%d ms)",
			iat, now.UnixMilli(), v.clockSkew.Milliseconds())
	}
	if nowMs-skewMs >= 1000*exp {
		return validatedToken{}, invalidToken("the indicated time (%d ms) minus allowable clock skew (%d ms) was on or after the Expiration Time value (%f seconds)",
			now.UnixMilli(), v.clockSkew.Milliseconds(), exp)
	}
	if hasIat && exp <= iat {
		return validatedToken{}, invalidToken("the Expiration Time time (%f seconds) was not after the Issued At time (%f seconds)", exp, iat)
	}
	for _, required := range v.requiredScope {
		if !slices.Contains(scope, required) {
			return validatedToken{}, &tokenError{
				status: "insufficient_scope",
				scope:  javaList(v.requiredScope),
				reason: fmt.Sprintf("the provided scope (%s) was missing a required scope (%s); all required scope elements: %s",
					javaList(scope), required, javaList(v.requiredScope)),
			}
		}
	}
	return validatedToken{
		principal: principal,
		scope:     scope,
		expiry:    time.UnixMilli(int64(math.Round(exp * 1000))),
	}, nil
}

// decodeJSONPart decodes one base64url part of a JWS into its JSON
// object. Numbers stay json.Number so a claim's type can be checked as
// Kafka checks it.
func decodeJSONPart(part string) (map[string]any, error) {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(part, "="))
	if err != nil {
		return nil, fmt.Errorf("malformed Base64 URL encoded value")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var object map[string]any
	if err := dec.Decode(&object); err != nil || object == nil {
		return nil, fmt.Errorf("malformed JSON")
	}
	return object, nil
}

func numericClaim(claims map[string]any, name string) (float64, bool, error) {
	value, ok := claims[name]
	if !ok || value == nil {
		return 0, false, nil
	}
	n, ok := value.(json.Number)
	if !ok {
		return 0, false, invalidToken("the '%s' claim was not of type Number: %s", name, jsonTypeName(value))
	}
	f, err := n.Float64()
	if err != nil {
		return 0, false, invalidToken("the '%s' claim is not a number: %v", name, err)
	}
	return f, true, nil
}

func stringClaim(claims map[string]any, name string) (string, bool, error) {
	value, ok := claims[name]
	if !ok || value == nil {
		return "", false, nil
	}
	s, ok := value.(string)
	if !ok {
		return "", false, invalidToken("the '%s' claim was not of type String: %s", name, jsonTypeName(value))
	}
	return s, true, nil
}

// scopeClaim reads the scope claim as Kafka does: a string is one scope
// (not split on spaces), a list is several; blank entries are dropped
// and the rest trimmed.
func scopeClaim(claims map[string]any, name string) ([]string, error) {
	switch value := claims[name].(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(value) == "" {
			return nil, nil
		}
		return []string{strings.TrimSpace(value)}, nil
	case []any:
		var scope []string
		for _, item := range value {
			s, ok := item.(string)
			if !ok {
				return nil, invalidToken("the '%s' claim holds a %s, not a string", name, jsonTypeName(item))
			}
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(scope, s) {
				scope = append(scope, s)
			}
		}
		return scope, nil
	default:
		return nil, invalidToken("the '%s' claim was not of type List: %s", name, jsonTypeName(value))
	}
}

func jsonTypeName(v any) string {
	switch v.(type) {
	case string:
		return "String"
	case json.Number:
		return "Number"
	case []any:
		return "List"
	case bool:
		return "Boolean"
	case map[string]any:
		return "Object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
