package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/samsa-io/samsa/broker/config"
)

// FileCheckInterval is how often, at most, a handshake checks whether
// the key store or trust store files changed. Checking is a stat per
// file, so new certificates are picked up within this long of the write.
const FileCheckInterval = time.Second

// Listener is the TLS setup of one SSL or SASL_SSL listener.
type Listener struct {
	name   string
	logger zerolog.Logger

	current atomic.Pointer[setup]

	mu        sync.Mutex // serializes reloads
	lastCheck time.Time
}

// setup is one built configuration and the files it was read from.
type setup struct {
	settings config.SSL
	server   *tls.Config
	mapper   *PrincipalMapper
	files    map[string]fileStamp
}

// fileStamp tells whether a file changed: its modification time and size.
type fileStamp struct {
	mod  time.Time
	size int64
}

// NewListener builds the TLS setup of the listener called name. An error
// names the key at fault.
func NewListener(name string, s config.SSL, logger zerolog.Logger) (*Listener, error) {
	l := &Listener{name: name, logger: logger}
	st, err := build(s)
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", name, err)
	}
	l.current.Store(st)
	l.lastCheck = time.Now()
	return l, nil
}

// ServerConfig is what the listener's TLS server uses: each handshake
// gets the current setup, reloaded first when its files changed.
func (l *Listener) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			l.reloadIfFilesChanged()
			return l.current.Load().server, nil
		},
	}
}

// Principal is the principal of a connection after its handshake: the
// mapped subject of the client certificate, or Anonymous.
func (l *Listener) Principal(cs tls.ConnectionState) (string, error) {
	return l.current.Load().mapper.Principal(cs.PeerCertificates)
}

// Update applies new settings (a dynamic config change). Unchanged
// settings are a no-op; settings that do not build are refused and the
// old setup stays.
func (l *Listener) Update(s config.SSL) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if reflect.DeepEqual(l.current.Load().settings, s) {
		return nil
	}
	st, err := build(s)
	if err != nil {
		return fmt.Errorf("listener %s: %w", l.name, err)
	}
	l.current.Store(st)
	l.logger.Info().Str("listener", l.name).Msg("TLS settings changed; new connections use them")
	return nil
}

// reloadIfFilesChanged rebuilds the setup when a store file changed,
// checking at most every FileCheckInterval. A file caught half-written
// fails to build: the old setup stays and the next check tries again.
func (l *Listener) reloadIfFilesChanged() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.lastCheck) < FileCheckInterval {
		return
	}
	l.lastCheck = time.Now()
	cur := l.current.Load()
	changed := false
	for path, was := range cur.files {
		if now, err := stat(path); err != nil || now != was {
			changed = true
			break
		}
	}
	if !changed {
		return
	}
	st, err := build(cur.settings)
	if err != nil {
		l.logger.Warn().Err(err).Str("listener", l.name).Msg("key or trust store changed but does not load; keeping the previous one")
		return
	}
	l.current.Store(st)
	l.logger.Info().Str("listener", l.name).Msg("key or trust store file changed; reloaded")
}

func stat(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// build turns settings into a server tls.Config and principal mapper.
func build(s config.SSL) (*setup, error) {
	st := &setup{settings: s, files: make(map[string]fileStamp)}
	// Stamp files before reading them, so a write during the read shows
	// as a change at the next check.
	for _, path := range []string{s.KeystoreLocation, s.TruststoreLocation} {
		if path == "" {
			continue
		}
		if fs, err := stat(path); err == nil {
			st.files[path] = fs
		} // else reading it fails below, with the key named
	}
	cert, err := loadKeystore(s)
	if err != nil {
		return nil, err
	}
	roots, err := loadTruststore(s)
	if err != nil {
		return nil, err
	}
	lo, hi, err := protocolVersions(s.EnabledProtocols)
	if err != nil {
		return nil, err
	}
	suites, err := cipherSuites(s.CipherSuites)
	if err != nil {
		return nil, err
	}
	if st.mapper, err = NewPrincipalMapper(s.PrincipalMappingRules); err != nil {
		return nil, err
	}
	st.server = &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    roots,
		ClientAuth:   clientAuth(s.ClientAuth),
		MinVersion:   lo,
		MaxVersion:   hi,
		CipherSuites: suites,
	}
	return st, nil
}

// clientAuth maps ssl.client.auth. "requested" checks a certificate the
// client gives against the trust store, and lets a client without one in
// as ANONYMOUS, as Kafka's "requested" does.
func clientAuth(v string) tls.ClientAuthType {
	switch v {
	case "required":
		return tls.RequireAndVerifyClientCert
	case "requested":
		return tls.VerifyClientCertIfGiven
	}
	return tls.NoClientCert
}

// ClientConfig is the TLS client side for dialing a listener with these
// settings (the inter-broker listener): the trust store checks the peer
// (the system roots when none is set), the key store is shown when the
// peer asks for a client certificate, and the peer's host name is
// checked when ssl.endpoint.identification.algorithm is https.
func ClientConfig(s config.SSL, serverName string) (*tls.Config, error) {
	roots, err := loadTruststore(s)
	if err != nil {
		return nil, err
	}
	lo, hi, err := protocolVersions(s.EnabledProtocols)
	if err != nil {
		return nil, err
	}
	suites, err := cipherSuites(s.CipherSuites)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{RootCAs: roots, MinVersion: lo, MaxVersion: hi, CipherSuites: suites, ServerName: serverName}
	if s.KeystoreLocation != "" || s.KeystoreCertificateChain != "" {
		cert, err := loadKeystore(s)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	switch s.EndpointIdentificationAlgorithm {
	case "https", "HTTPS":
	case "":
		// Check the chain, not the name: Go checks both or neither, so
		// verify by hand.
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("peer showed no certificate")
			}
			inter := x509.NewCertPool()
			for _, ic := range cs.PeerCertificates[1:] {
				inter.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	default:
		return nil, fmt.Errorf("ssl.endpoint.identification.algorithm %q: want https or empty", s.EndpointIdentificationAlgorithm)
	}
	return c, nil
}

// Check reports whether settings s build a TLS setup (the stores load,
// the key matches its certificate), without using it: a dynamic change of
// a listener's ssl.* keys is checked with it before it is accepted, as
// Kafka validates an SSL reconfiguration.
func Check(s config.SSL) error {
	_, err := build(s)
	return err
}
