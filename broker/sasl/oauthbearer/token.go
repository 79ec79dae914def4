package oauthbearer

import (
	"fmt"
	"strings"
	"time"
)

// validatedToken is what a validator learned from a token it accepted.
type validatedToken struct {
	principal string
	scope     []string
	expiry    time.Time
}

// validator checks one bearer token, as Kafka's server callback handlers
// do. A refusal is a *tokenError.
type validator interface {
	validate(token string, now time.Time) (validatedToken, error)
}

// tokenError is a refused token: status and scope go back to the client
// in the server's error message (RFC 7628 section 3.2.2), the reason
// ends the authentication.
type tokenError struct {
	// status is "invalid_token" or, when a required scope is missing,
	// "insufficient_scope".
	status string
	// scope is the required scope, in Kafka's form ("[a, b]"), for
	// insufficient_scope.
	scope  string
	reason string
}

func (e *tokenError) Error() string { return e.reason }

func invalidToken(format string, args ...any) *tokenError {
	return &tokenError{status: "invalid_token", reason: fmt.Sprintf(format, args...)}
}

// jsonReply is the server's error message as Kafka's OAuthBearerSaslServer
// writes it, byte for byte (including the space after the comma).
func (e *tokenError) jsonReply() []byte {
	reply := fmt.Sprintf("{\"status\":\"%s\"", e.status)
	if e.scope != "" {
		reply += fmt.Sprintf(", \"scope\":\"%s\"", e.scope)
	}
	return []byte(reply + "}")
}

// javaList renders a list as Java's List.toString does, which is how
// Kafka names the required scope in an insufficient_scope reply.
func javaList(items []string) string {
	return "[" + strings.Join(items, ", ") + "]"
}
