package oauthbearer

import (
	"errors"
	"fmt"
	"strings"
)

// kvSeparator separates the key=value pairs of the client's initial
// response (RFC 7628 section 3.1); a lone kvSeparator is also what the
// client sends to acknowledge the server's error message.
const kvSeparator = "\x01"

// initialResponse is the client's first (and only) OAUTHBEARER message:
//
//	"n," ["a=" authzid] "," 0x01 "auth=Bearer " token 0x01 (key "=" value 0x01)* 0x01
type initialResponse struct {
	authzid    string
	token      string
	extensions map[string]string
}

var errInvalidFirstMessage = errors.New("invalid OAUTHBEARER client first message")

// parseInitialResponse accepts what Kafka's OAuthBearerClientInitialResponse
// accepts: no channel binding ("n"), an optional authorization ID, keys of
// letters, values of printable ASCII, space, tab, CR or LF, a mandatory
// "auth" pair with the Bearer scheme (any case) and a token of
// base64url characters and dots.
func parseInitialResponse(msg []byte) (initialResponse, error) {
	s := string(msg)
	rest, ok := strings.CutPrefix(s, "n,")
	if !ok {
		return initialResponse{}, fmt.Errorf("%w: gs2 header must start with \"n,\"", errInvalidFirstMessage)
	}
	authzPart, rest, ok := strings.Cut(rest, ",")
	if !ok {
		return initialResponse{}, fmt.Errorf("%w: gs2 header is not terminated by ','", errInvalidFirstMessage)
	}
	var r initialResponse
	if authzPart != "" {
		zid, ok := strings.CutPrefix(authzPart, "a=")
		if !ok || !validSASLName(zid) {
			return initialResponse{}, fmt.Errorf("%w: invalid authorization ID", errInvalidFirstMessage)
		}
		r.authzid = zid
	}
	// rest is 0x01 (pair 0x01)* 0x01.
	body, ok := strings.CutPrefix(rest, kvSeparator)
	if !ok {
		return initialResponse{}, fmt.Errorf("%w: no separator after the gs2 header", errInvalidFirstMessage)
	}
	body, ok = strings.CutSuffix(body, kvSeparator)
	if !ok {
		return initialResponse{}, fmt.Errorf("%w: not terminated by 0x01", errInvalidFirstMessage)
	}
	pairs := map[string]string{}
	if body != "" {
		body, ok = strings.CutSuffix(body, kvSeparator)
		if !ok {
			return initialResponse{}, fmt.Errorf("%w: not terminated by 0x01 0x01", errInvalidFirstMessage)
		}
		for _, pair := range strings.Split(body, kvSeparator) {
			key, value, ok := strings.Cut(pair, "=")
			if !ok || !validExtensionKey(key) || !validExtensionValue(value) {
				return initialResponse{}, fmt.Errorf("%w: malformed key=value pair", errInvalidFirstMessage)
			}
			pairs[key] = value // as Kafka's Utils.parseMap: a repeated key keeps its last value
		}
	}
	auth, ok := pairs["auth"]
	if !ok {
		return initialResponse{}, fmt.Errorf("%w: 'auth' not specified", errInvalidFirstMessage)
	}
	delete(pairs, "auth")
	scheme, token, ok := strings.Cut(auth, " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !validScheme(scheme) || !validToken(token) {
		return initialResponse{}, fmt.Errorf("%w: invalid 'auth' format", errInvalidFirstMessage)
	}
	if !strings.EqualFold(scheme, "bearer") {
		return initialResponse{}, fmt.Errorf("invalid scheme in OAUTHBEARER client first message: %s", scheme)
	}
	r.token = token
	r.extensions = pairs
	return r, nil
}

// validSASLName: RFC 5801 saslname, ASCII 0x01-0x7F without '=' and ','
// except as the escapes =2C and =3D. Kept escaped, as Kafka keeps it.
func validSASLName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '=':
			if !strings.HasPrefix(s[i:], "=2C") && !strings.HasPrefix(s[i:], "=3D") {
				return false
			}
			i += 2
		case c == ',' || c == 0 || c > 0x7f:
			return false
		}
	}
	return true
}

func validExtensionKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func validExtensionValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(0x21 <= c && c <= 0x7e || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			return false
		}
	}
	return true
}

func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
