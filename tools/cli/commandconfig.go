package cli

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/tlsconf"
)

// CommandConfigOpts turns the client properties of a --command-config
// file (as Kafka's tools read them: security.protocol, sasl.mechanism,
// sasl.jaas.config, ssl.truststore.*, ssl.keystore.*,
// ssl.endpoint.identification.algorithm, client.id) into franz-go
// options. Other client properties are ignored, as Kafka's tools only
// warn about them.
func CommandConfigOpts(props map[string]string) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if id := strings.TrimSpace(props["client.id"]); id != "" {
		opts = append(opts, kgo.ClientID(id))
	}
	protocol := strings.ToUpper(strings.TrimSpace(props["security.protocol"]))
	switch protocol {
	case "", "PLAINTEXT":
		return opts, nil
	case "SSL", "SASL_PLAINTEXT", "SASL_SSL":
	default:
		return nil, fmt.Errorf("security.protocol %q: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", props["security.protocol"])
	}
	if strings.HasSuffix(protocol, "SSL") {
		tc, err := clientTLS(props)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if strings.HasPrefix(protocol, "SASL_") {
		mech, err := clientSASL(props)
		if err != nil {
			return nil, err
		}
		opts = append(opts, mech)
	}
	return opts, nil
}

// clientSASL is the login the properties ask for: PLAIN or SCRAM with
// the username and password of the JAAS line.
func clientSASL(props map[string]string) (kgo.Opt, error) {
	mech := strings.ToUpper(strings.TrimSpace(props["sasl.mechanism"]))
	if mech == "" {
		mech = "GSSAPI" // Kafka's default
	}
	jaasText := props["sasl.jaas.config"]
	if jaasText == "" {
		return nil, fmt.Errorf("sasl.mechanism %s needs sasl.jaas.config with the username and password", mech)
	}
	jaas, err := config.ParseJAAS(jaasText)
	if err != nil {
		return nil, fmt.Errorf("sasl.jaas.config: %w", err)
	}
	user, pass := jaas.Options["username"], jaas.Options["password"]
	switch mech {
	case "PLAIN":
		return kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()), nil
	case "SCRAM-SHA-256":
		return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()), nil
	case "SCRAM-SHA-512":
		return kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()), nil
	}
	return nil, fmt.Errorf("sasl.mechanism %s is not supported by samsa's tools (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)", mech)
}

// clientTLS is the TLS configuration of the ssl.* properties, built as
// the broker builds its own inter-broker client (tlsconf.ClientConfig):
// PEM or PKCS12 trust and key stores (none: the system's roots), and
// host name checks unless ssl.endpoint.identification.algorithm is
// empty. Unset store types are PEM, the type a client file names most.
func clientTLS(props map[string]string) (*tls.Config, error) {
	storeType := func(key string) string {
		t := strings.ToUpper(strings.TrimSpace(props[key]))
		if t == "" {
			return "PEM"
		}
		return t
	}
	s := config.SSL{
		TruststoreType:                  storeType("ssl.truststore.type"),
		TruststoreLocation:              strings.TrimSpace(props["ssl.truststore.location"]),
		TruststorePassword:              props["ssl.truststore.password"],
		TruststoreCertificates:          props["ssl.truststore.certificates"],
		KeystoreType:                    storeType("ssl.keystore.type"),
		KeystoreLocation:                strings.TrimSpace(props["ssl.keystore.location"]),
		KeystorePassword:                props["ssl.keystore.password"],
		KeyPassword:                     props["ssl.key.password"],
		KeystoreCertificateChain:        props["ssl.keystore.certificate.chain"],
		KeystoreKey:                     props["ssl.keystore.key"],
		EnabledProtocols:                []string{"TLSv1.2", "TLSv1.3"},
		EndpointIdentificationAlgorithm: "https",
	}
	if alg, set := props["ssl.endpoint.identification.algorithm"]; set {
		s.EndpointIdentificationAlgorithm = strings.TrimSpace(alg)
	}
	for _, key := range []string{"ssl.truststore.type", "ssl.keystore.type"} {
		if t := storeType(key); t != "PEM" && t != "PKCS12" {
			return nil, fmt.Errorf("%s %s: samsa's tools read PEM truststores and key stores, or PKCS12 ones", key, t)
		}
	}
	// The server name is left to kgo, which sets each broker's host.
	return tlsconf.ClientConfig(s, "")
}
