// Package devsecurity is `samsa broker --dev-security`: one flag for a
// broker secured the way production Kafka clusters are (SASL_SSL with
// SCRAM and PLAIN, ACLs on), with a certificate authority, a broker
// certificate and two users generated into the broker's data directory,
// and ready-to-use client settings printed and written beside them.
//
// It is for development: the CA's key lies next to the data, and the
// passwords are stored in plain text for the developer to read.
package devsecurity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/samsa-io/samsa/log"
	"github.com/samsa-io/samsa/log/atomicfile"
)

// DirName is the directory, inside the broker's first log directory,
// that holds the generated material.
const DirName = log.DevSecurityDir

// File names inside the directory.
const (
	caFile       = "ca.pem"     // the CA certificate clients trust
	caKeyFile    = "ca-key.pem" // the CA's private key
	keystoreFile = "broker.pem" // the broker's private key and certificate chain
	usersFile    = "users.json" // the users' passwords
	certLifetime = 10 * 365 * 24 * time.Hour
)

// User is one generated user.
type User struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// Material is the generated CA, broker certificate and users.
type Material struct {
	Dir string
	// Admin is the super user; User is an ordinary user, whose ACLs let
	// it produce, consume and create topics but not administer.
	Admin, User User

	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

// CAFile is the path of the CA certificate (PEM) clients trust.
func (m *Material) CAFile() string { return filepath.Join(m.Dir, caFile) }

// KeystoreFile is the path of the broker's PEM keystore: its private key
// and certificate chain, as Kafka's ssl.keystore.type=PEM reads it.
func (m *Material) KeystoreFile() string { return filepath.Join(m.Dir, keystoreFile) }

// Prepare loads the material in dir, generating what is missing: a CA,
// a broker certificate valid for hosts (regenerated when it does not
// cover them all), and the users with random passwords. The material
// survives restarts, so clients keep working.
func Prepare(dir string, hosts []string) (*Material, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("dev security: %w", err)
	}
	m := &Material{Dir: dir}
	if err := m.loadOrCreateCA(); err != nil {
		return nil, fmt.Errorf("dev security: certificate authority: %w", err)
	}
	if err := m.ensureBrokerCert(hosts); err != nil {
		return nil, fmt.Errorf("dev security: broker certificate: %w", err)
	}
	if err := m.loadOrCreateUsers(); err != nil {
		return nil, fmt.Errorf("dev security: users: %w", err)
	}
	return m, nil
}

func (m *Material) loadOrCreateCA() error {
	certPEM, err1 := os.ReadFile(filepath.Join(m.Dir, caFile))
	keyPEM, err2 := os.ReadFile(filepath.Join(m.Dir, caKeyFile))
	if err1 == nil && err2 == nil {
		cert, key, err := parsePair(certPEM, keyPEM)
		if err != nil {
			return fmt.Errorf("%s: %w (remove %s to generate a new one)", m.Dir, err, m.Dir)
		}
		m.caCert, m.caKey = cert, key
		return nil
	}
	if !errors.Is(err1, os.ErrNotExist) && err1 != nil {
		return err1
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Samsa dev CA", Organization: []string{"Samsa dev security"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(m.Dir, caKeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(m.Dir, caFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})); err != nil {
		return err
	}
	m.caCert, m.caKey = cert, key
	return nil
}

// ensureBrokerCert keeps the broker's certificate when it was signed by
// the CA and covers hosts, and makes a new one otherwise.
func (m *Material) ensureBrokerCert(hosts []string) error {
	path := filepath.Join(m.Dir, keystoreFile)
	if data, err := os.ReadFile(path); err == nil {
		if cert, err := firstCert(data); err == nil && cert.CheckSignatureFrom(m.caCert) == nil && time.Now().Before(cert.NotAfter) && covers(cert, hosts) {
			return nil
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "samsa-broker", Organization: []string{"Samsa dev security"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range sans(hosts) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, m.caCert, &key.PublicKey, m.caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// Kafka's PEM keystore: the private key (PKCS#8), then the chain.
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.caCert.Raw})...)
	return atomicfile.Write(path, out)
}

// sans are the names the broker's certificate holds: the listener hosts,
// and the loopback names a developer uses.
func sans(hosts []string) []string {
	out := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		out = append(out, h)
	}
	for _, h := range hosts {
		if h != "" && h != "0.0.0.0" && h != "::" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range sans(hosts) {
		if cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func (m *Material) loadOrCreateUsers() error {
	path := filepath.Join(m.Dir, usersFile)
	if data, err := os.ReadFile(path); err == nil {
		var users struct{ Admin, User User }
		if err := json.Unmarshal(data, &users); err != nil || users.Admin.Password == "" || users.User.Password == "" {
			return fmt.Errorf("%s is unreadable (remove it to generate new passwords): %v", path, err)
		}
		m.Admin, m.User = users.Admin, users.User
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	m.Admin = User{Name: "admin", Password: password()}
	m.User = User{Name: "alice", Password: password()}
	data, err := json.MarshalIndent(struct{ Admin, User User }{m.Admin, m.User}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data)
}

// password is 20 random letters and digits: nothing a properties file,
// a JAAS line or a shell needs to quote.
func password() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err)
	}
	return n
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, err := firstCert(certPEM)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, nil, errors.New("no PEM key")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func firstCert(data []byte) (*x509.Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no certificate")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}
