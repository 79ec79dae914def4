package tlsconf

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/samsa-io/samsa/broker/config"
)

// Anonymous is the principal of a connection without a client
// certificate, as Kafka names it.
const Anonymous = "User:ANONYMOUS"

// PrincipalMapper applies ssl.principal.mapping.rules to the subject of a
// client certificate, as Kafka's DefaultKafkaPrincipalBuilder does for
// SSL connections: the principal is User:<mapped name>.
type PrincipalMapper struct{ rules []config.PrincipalRule }

// NewPrincipalMapper parses ssl.principal.mapping.rules.
func NewPrincipalMapper(rules string) (*PrincipalMapper, error) {
	r, err := config.ParsePrincipalRules(rules)
	if err != nil {
		return nil, fmt.Errorf("ssl.principal.mapping.rules: %w", err)
	}
	return &PrincipalMapper{rules: r}, nil
}

// Principal is the principal of a client that showed chain (leaf first);
// Anonymous for none. The first rule that matches the whole DN decides;
// when none does, the client is refused, as in Kafka.
func (m *PrincipalMapper) Principal(chain []*x509.Certificate) (string, error) {
	if len(chain) == 0 {
		return Anonymous, nil
	}
	dn, err := DistinguishedName(chain[0])
	if err != nil {
		return "", err
	}
	name, err := m.Map(dn)
	if err != nil {
		return "", err
	}
	return "User:" + name, nil
}

// Map applies the rules to a DN.
func (m *PrincipalMapper) Map(dn string) (string, error) {
	for _, r := range m.rules {
		if r.Default {
			return dn, nil
		}
		match := r.Pattern.FindStringSubmatchIndex(dn)
		if match == nil {
			continue
		}
		name := string(r.Pattern.ExpandString(nil, r.Replacement, dn, match))
		switch r.Case {
		case 'L':
			name = strings.ToLower(name)
		case 'U':
			name = strings.ToUpper(name)
		}
		return name, nil
	}
	return "", fmt.Errorf("no ssl.principal.mapping.rules rule applies to %q", dn)
}

// dnKeywords are the attribute names Java's X500Principal.getName()
// (RFC 2253) writes; every other attribute is written as its OID and the
// hex of its DER value, as Java does.
var dnKeywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

type attribute struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// attributeSET is one RDN; encoding/asn1 reads a type whose name ends in
// SET as an ASN.1 SET.
type attributeSET []attribute

// DistinguishedName writes a certificate's subject the way Kafka sees it
// (Java's X500Principal.getName(), RFC 2253): the most specific RDN
// first, "CN=alice,OU=eng,O=Acme,C=US".
func DistinguishedName(c *x509.Certificate) (string, error) {
	var rdns []attributeSET
	if _, err := asn1.Unmarshal(c.RawSubject, &rdns); err != nil {
		return "", fmt.Errorf("parse certificate subject: %w", err)
	}
	parts := make([]string, 0, len(rdns))
	for i := len(rdns) - 1; i >= 0; i-- {
		avas := make([]string, 0, len(rdns[i]))
		for _, a := range rdns[i] {
			avas = append(avas, formatAttribute(a))
		}
		parts = append(parts, strings.Join(avas, "+"))
	}
	return strings.Join(parts, ","), nil
}

func formatAttribute(a attribute) string {
	oid := a.Type.String()
	keyword, known := dnKeywords[oid]
	if known {
		if s, ok := decodeString(a.Value); ok {
			return keyword + "=" + escapeDNValue(s)
		}
	}
	return oid + "=#" + hex.EncodeToString(a.Value.FullBytes)
}

// decodeString reads the directory string types found in subjects.
func decodeString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagUTF8String, asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String:
		return string(v.Bytes), true
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(v.Bytes)/2)
		for i := range u {
			u[i] = uint16(v.Bytes[2*i])<<8 | uint16(v.Bytes[2*i+1])
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// escapeDNValue escapes as RFC 2253 asks: the special characters, a
// leading '#' or space and a trailing space.
func escapeDNValue(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune(",+\"\\<>;", r),
			i == 0 && (r == '#' || r == ' '),
			i == len(s)-1 && r == ' ':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
