package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/samsa-io/samsa/broker/config"
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

// clientTLS is the TLS configuration of the ssl.* properties: a PEM
// truststore (file or inline; none: the system's roots), a PEM keystore
// for client certificates, and hostname verification unless
// ssl.endpoint.identification.algorithm is empty.
func clientTLS(props map[string]string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	trustType := strings.ToUpper(strings.TrimSpace(props["ssl.truststore.type"]))
	trustPEM := []byte(props["ssl.truststore.certificates"])
	if loc := strings.TrimSpace(props["ssl.truststore.location"]); loc != "" {
		if trustType != "" && trustType != "PEM" {
			return nil, fmt.Errorf("ssl.truststore.type %s: samsa's tools read PEM truststores (ssl.truststore.type=PEM)", trustType)
		}
		data, err := os.ReadFile(loc)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		trustPEM = data
	}
	if len(trustPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(trustPEM) {
			return nil, errors.New("the truststore holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	keyPEM, chainPEM := []byte(props["ssl.keystore.key"]), []byte(props["ssl.keystore.certificate.chain"])
	if loc := strings.TrimSpace(props["ssl.keystore.location"]); loc != "" {
		if t := strings.ToUpper(strings.TrimSpace(props["ssl.keystore.type"])); t != "" && t != "PEM" {
			return nil, fmt.Errorf("ssl.keystore.type %s: samsa's tools read PEM keystores (ssl.keystore.type=PEM)", t)
		}
		data, err := os.ReadFile(loc)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		keyPEM, chainPEM = data, data
	}
	if len(keyPEM) > 0 || len(chainPEM) > 0 {
		if props["ssl.key.password"] != "" {
			return nil, errors.New("ssl.key.password: samsa's tools read unencrypted PEM keys only")
		}
		cert, err := tls.X509KeyPair(pemBlocks(chainPEM, "CERTIFICATE"), pemKey(keyPEM))
		if err != nil {
			return nil, fmt.Errorf("the keystore: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if alg, set := props["ssl.endpoint.identification.algorithm"]; set && strings.TrimSpace(alg) == "" {
		// Kafka's empty algorithm: the chain is verified, the host name
		// is not.
		tc.InsecureSkipVerify = true
		roots := tc.RootCAs
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			certs := make([]*x509.Certificate, 0, len(raw))
			for _, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs = append(certs, c)
			}
			if len(certs) == 0 {
				return errors.New("the broker sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return tc, nil
}

// pemBlocks keeps the blocks of one type.
func pemBlocks(data []byte, typ string) []byte {
	var out []byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		if b.Type == typ {
			out = append(out, pem.EncodeToMemory(b)...)
		}
	}
}

// pemKey keeps the private key block.
func pemKey(data []byte) []byte {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil
		}
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			return pem.EncodeToMemory(b)
		}
	}
}
