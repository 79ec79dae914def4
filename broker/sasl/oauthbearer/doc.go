// Package oauthbearer is the broker side of SASL/OAUTHBEARER (RFC 7628,
// KIP-255 and KIP-768): it reads the client's initial response, validates
// the bearer token it carries and names the authenticated principal.
//
// Two validators exist, as in Kafka:
//
//   - unsecured (Kafka's OAuthBearerUnsecuredValidatorCallbackHandler, the
//     default): the token is an unsigned JWS (alg "none"); only its claims
//     are checked. For development only: anyone can mint such a token.
//   - secured (Kafka's OAuthBearerValidatorCallbackHandler, KIP-768): the
//     token is a JWT signed by a key of the identity provider's JWKS
//     (sasl.oauthbearer.jwks.endpoint.url, https:// or file://); signature,
//     expiry, issuer and audience are checked.
//
// A Mechanism is safe for concurrent use; each Exchange belongs to one
// connection. In secured mode the Mechanism owns the goroutine that
// refreshes the JWKS; Close stops it.
package oauthbearer
