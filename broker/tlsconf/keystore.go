package tlsconf

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/samsa-io/samsa/broker/config"
)

// errJKS explains the refusal of Kafka's default store type.
func errJKS(key string) error {
	return fmt.Errorf("%s JKS is not supported by Samsa: convert the store to PKCS12 "+
		"(keytool -importkeystore -srckeystore store.jks -destkeystore store.p12 -deststoretype PKCS12) "+
		"and set %s=PKCS12, or use PEM", key, key)
}

// loadKeystore reads the broker's certificate chain and private key.
func loadKeystore(s config.SSL) (tls.Certificate, error) {
	inline := s.KeystoreCertificateChain != "" || s.KeystoreKey != ""
	if !inline && s.KeystoreLocation == "" {
		return tls.Certificate{}, errors.New("no key store: set ssl.keystore.type=PEM with ssl.keystore.certificate.chain " +
			"and ssl.keystore.key, or ssl.keystore.location (PEM or PKCS12)")
	}
	switch s.KeystoreType {
	case "JKS":
		return tls.Certificate{}, errJKS("ssl.keystore.type")
	case "PEM":
		if inline {
			if s.KeystoreLocation != "" {
				return tls.Certificate{}, errors.New("ssl.keystore.location and ssl.keystore.certificate.chain/ssl.keystore.key are both set; set one")
			}
			if s.KeystoreCertificateChain == "" || s.KeystoreKey == "" {
				return tls.Certificate{}, errors.New("ssl.keystore.certificate.chain and ssl.keystore.key must be set together")
			}
			return pemKeyPair([]byte(s.KeystoreCertificateChain), []byte(s.KeystoreKey), s.KeyPassword)
		}
		data, err := os.ReadFile(s.KeystoreLocation)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		c, err := pemKeyPair(data, data, s.KeyPassword)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("ssl.keystore.location %s: %w", s.KeystoreLocation, err)
		}
		return c, nil
	case "PKCS12":
		if inline {
			return tls.Certificate{}, errors.New("ssl.keystore.certificate.chain and ssl.keystore.key need ssl.keystore.type=PEM")
		}
		data, err := os.ReadFile(s.KeystoreLocation)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		c, err := pkcs12KeyPair(data, s.KeystorePassword, s.KeyPassword)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("ssl.keystore.location %s: %w", s.KeystoreLocation, err)
		}
		return c, nil
	}
	return tls.Certificate{}, fmt.Errorf("ssl.keystore.type %q: want PEM or PKCS12", s.KeystoreType)
}

// pemKeyPair reads the CERTIFICATE blocks of certPEM (leaf first) and the
// private key block of keyPEM; an encrypted PKCS#8 key ("ENCRYPTED
// PRIVATE KEY", what openssl pkcs8 -topk8 and Java write) is decrypted
// with keyPassword (ssl.key.password), as Kafka's PEM key store does.
func pemKeyPair(certPEM, keyPEM []byte, keyPassword string) (tls.Certificate, error) {
	var c tls.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			c.Certificate = append(c.Certificate, b.Bytes)
		}
	}
	if len(c.Certificate) == 0 {
		return c, errors.New("no CERTIFICATE in PEM")
	}
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return c, errors.New("no private key in PEM")
		}
		switch b.Type {
		case "ENCRYPTED PRIVATE KEY":
			if keyPassword == "" {
				return c, errors.New("the private key is encrypted: set ssl.key.password")
			}
			key, err := pkcs8.ParsePKCS8PrivateKey(b.Bytes, []byte(keyPassword))
			if err != nil {
				return c, fmt.Errorf("decrypt the private key (is ssl.key.password right?): %w", err)
			}
			c.PrivateKey = key
			return c, checkPair(c)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			key, err := parseKey(b)
			if err != nil {
				return c, err
			}
			c.PrivateKey = key
			return c, checkPair(c)
		}
	}
}

func parseKey(b *pem.Block) (crypto.PrivateKey, error) {
	switch b.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	}
	return x509.ParsePKCS8PrivateKey(b.Bytes)
}

// pkcs12KeyPair decodes a PKCS12 key store. go-pkcs12 reads stores whose
// key is encrypted with the store password (what keytool and openssl
// write by default); ssl.key.password is tried when that fails.
func pkcs12KeyPair(data []byte, storePassword, keyPassword string) (tls.Certificate, error) {
	key, leaf, chain, err := pkcs12.DecodeChain(data, storePassword)
	if err != nil && keyPassword != "" && keyPassword != storePassword {
		key, leaf, chain, err = pkcs12.DecodeChain(data, keyPassword)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("decode PKCS12 (is ssl.keystore.password right?): %w", err)
	}
	c := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	for _, ca := range chain {
		c.Certificate = append(c.Certificate, ca.Raw)
	}
	return c, checkPair(c)
}

// checkPair fails when the private key does not belong to the leaf
// certificate, which would otherwise only show in every handshake.
func checkPair(c tls.Certificate) error {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return fmt.Errorf("parse certificate: %w", err)
	}
	pub, ok := c.PrivateKey.(interface{ Public() crypto.PublicKey })
	if !ok {
		return errors.New("unsupported private key type")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	switch k := pub.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		if !k.(equaler).Equal(leaf.PublicKey) {
			return errors.New("the private key does not match the certificate")
		}
	default:
		return errors.New("unsupported private key type")
	}
	return nil
}

// loadTruststore reads the trusted CA certificates; nil (with no error)
// when no trust store is set, which means the system's roots, as Kafka
// falls back to the JVM's.
func loadTruststore(s config.SSL) (*x509.CertPool, error) {
	if s.TruststoreCertificates == "" && s.TruststoreLocation == "" {
		return nil, nil // the system's roots
	}
	if s.TruststoreCertificates != "" && s.TruststoreLocation != "" {
		return nil, errors.New("ssl.truststore.location and ssl.truststore.certificates are both set; set one")
	}
	switch s.TruststoreType {
	case "JKS":
		return nil, errJKS("ssl.truststore.type")
	case "PEM":
		data := []byte(s.TruststoreCertificates)
		if s.TruststoreLocation != "" {
			var err error
			if data, err = os.ReadFile(s.TruststoreLocation); err != nil {
				return nil, fmt.Errorf("ssl.truststore.location: %w", err)
			}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(data) {
			return nil, errors.New("trust store: no CERTIFICATE in PEM")
		}
		return pool, nil
	case "PKCS12":
		if s.TruststoreLocation == "" {
			return nil, errors.New("ssl.truststore.certificates needs ssl.truststore.type=PEM")
		}
		data, err := os.ReadFile(s.TruststoreLocation)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		certs, err := pkcs12.DecodeTrustStore(data, s.TruststorePassword)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location %s: decode PKCS12 trust store: %w", s.TruststoreLocation, err)
		}
		pool := x509.NewCertPool()
		for _, c := range certs {
			pool.AddCert(c)
		}
		return pool, nil
	}
	return nil, fmt.Errorf("ssl.truststore.type %q: want PEM or PKCS12", s.TruststoreType)
}
