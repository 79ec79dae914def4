package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// tls13Suites are TLS 1.3's suites. Java lets ssl.cipher.suites name them;
// Go always enables all three, so naming them changes nothing.
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
}

// cipherSuites maps ssl.cipher.suites (IANA names, which Java uses, or
// Java's older SSL_ aliases) to Go's TLS 1.2 suite IDs. An empty list is
// Go's secure default (nil). A list naming only TLS 1.3 suites leaves
// TLS 1.2 with none, as in Java.
func cipherSuites(names []string) ([]uint16, error) {
	if len(names) == 0 {
		return nil, nil
	}
	byName := make(map[string]uint16)
	for _, s := range tls.CipherSuites() {
		byName[s.Name] = s.ID
	}
	insecure := make(map[string]bool)
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.Name] = true
	}
	ids := []uint16{}
	for _, name := range names {
		iana := name
		if rest, ok := strings.CutPrefix(name, "SSL_"); ok {
			iana = "TLS_" + rest
		}
		if tls13Suites[iana] {
			continue
		}
		id, ok := byName[iana]
		switch {
		case ok:
			ids = append(ids, id)
		case insecure[iana]:
			return nil, fmt.Errorf("ssl.cipher.suites: %s is insecure and not offered", name)
		default:
			return nil, fmt.Errorf("ssl.cipher.suites: unknown or unsupported cipher suite %s", name)
		}
	}
	return ids, nil
}

// protocolVersions maps ssl.enabled.protocols to the lowest and highest
// TLS versions.
func protocolVersions(protocols []string) (lo, hi uint16, err error) {
	for _, p := range protocols {
		var v uint16
		switch p {
		case "TLSv1.2":
			v = tls.VersionTLS12
		case "TLSv1.3":
			v = tls.VersionTLS13
		default:
			return 0, 0, fmt.Errorf("ssl.enabled.protocols: %s is not supported (TLSv1.2, TLSv1.3)", p)
		}
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo == 0 {
		return 0, 0, fmt.Errorf("ssl.enabled.protocols is empty")
	}
	return lo, hi, nil
}
