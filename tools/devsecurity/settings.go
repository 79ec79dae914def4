package devsecurity

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/samsa-io/samsa/broker/config"
	"github.com/samsa-io/samsa/broker/tlsconf"
	"github.com/samsa-io/samsa/log/atomicfile"
)

// ListenerName is the one listener --dev-security gives the broker.
const ListenerName = "SASL_SSL"

// AuthorizerClass is the authorizer --dev-security turns on (Kafka's
// ZooKeeper-era class name, which Samsa accepts).
const AuthorizerClass = "kafka.security.authorizer.AclAuthorizer"

// Overrides are the broker configs --dev-security sets, for a listener on
// hostPort; the user's own overrides come after them and win.
func (m *Material) Overrides(hostPort string) []string {
	jaas := fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required username="%s" password="%s" user_%s="%s" user_%s="%s";`,
		m.Admin.Name, m.Admin.Password, m.Admin.Name, m.Admin.Password, m.User.Name, m.User.Password)
	return []string{
		"listeners=" + ListenerName + "://" + hostPort,
		"ssl.keystore.type=PEM",
		"ssl.keystore.location=" + m.KeystoreFile(),
		"sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
		"sasl.mechanism.inter.broker.protocol=PLAIN",
		"listener.name.sasl_ssl.plain.sasl.jaas.config=" + jaas,
		"authorizer.class.name=" + AuthorizerClass,
		"super.users=User:" + m.Admin.Name,
	}
}

// tlsConfig trusts the generated CA, as a broker's own TLS client
// would with it as its trust store.
func (m *Material) tlsConfig(host string) (*tls.Config, error) {
	return tlsconf.ClientConfig(config.SSL{TruststoreType: "PEM", TruststoreLocation: m.CAFile(),
		EnabledProtocols: []string{"TLSv1.2", "TLSv1.3"}, EndpointIdentificationAlgorithm: "https"}, host)
}

// Provision logs in to the broker at addr as the admin (PLAIN over TLS)
// and makes sure both users have SCRAM credentials and the ordinary user
// its ACLs: produce, consume and create on every topic, every group,
// idempotent and transactional writes; nothing of the cluster's
// administration (deleting topics, configs, ACLs). It is idempotent.
func (m *Material) Provision(ctx context.Context, addr string) error {
	host := addr
	if h, _, ok := strings.Cut(addr, ":"); ok && !strings.HasPrefix(addr, "[") {
		host = h
	}
	tc, err := m.tlsConfig(host)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTLSConfig(tc),
		kgo.SASL(plain.Auth{User: m.Admin.Name, Pass: m.Admin.Password}.AsMechanism()))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var upserts []kadm.UpsertSCRAM
	for _, u := range []User{m.Admin, m.User} {
		for _, mech := range []kadm.ScramMechanism{kadm.ScramSha256, kadm.ScramSha512} {
			upserts = append(upserts, kadm.UpsertSCRAM{User: u.Name, Mechanism: mech, Iterations: 8192, Password: u.Password})
		}
	}
	res, err := adm.AlterUserSCRAMs(ctx, nil, upserts)
	if err != nil {
		return fmt.Errorf("create the SCRAM users: %w", err)
	}
	for user, r := range res {
		if r.Err != nil {
			return fmt.Errorf("create the SCRAM credentials of %s: %w", user, r.Err)
		}
	}
	principal := "User:" + m.User.Name
	acls := []*kadm.ACLBuilder{
		kadm.NewACLs().Allow(principal).Topics("*").Operations(kadm.OpRead, kadm.OpWrite, kadm.OpCreate, kadm.OpDescribe, kadm.OpDescribeConfigs),
		kadm.NewACLs().Allow(principal).Groups("*").Operations(kadm.OpRead, kadm.OpDescribe),
		kadm.NewACLs().Allow(principal).TransactionalIDs("*").Operations(kadm.OpWrite, kadm.OpDescribe),
		kadm.NewACLs().Allow(principal).Clusters().Operations(kadm.OpIdempotentWrite),
	}
	for _, b := range acls {
		results, err := adm.CreateACLs(ctx, b)
		if err != nil {
			return fmt.Errorf("create the ACLs of %s: %w", m.User.Name, err)
		}
		for _, r := range results {
			if r.Err != nil {
				return fmt.Errorf("create the ACLs of %s: %w", m.User.Name, r.Err)
			}
		}
	}
	return nil
}

// WriteClientFiles writes, for each user, a Java client properties file
// (for Kafka's scripts' --command-config and samsa's) and a librdkafka
// configuration file (kcat -F), and returns their paths by user.
func (m *Material) WriteClientFiles(addr string) (map[string][2]string, error) {
	out := map[string][2]string{}
	for _, u := range []User{m.Admin, m.User} {
		java := strings.Join([]string{
			"bootstrap.servers=" + addr,
			"security.protocol=SASL_SSL",
			"sasl.mechanism=SCRAM-SHA-512",
			fmt.Sprintf(`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";`, u.Name, u.Password),
			"ssl.truststore.type=PEM",
			"ssl.truststore.location=" + m.CAFile(),
			"",
		}, "\n")
		rd := strings.Join([]string{
			"bootstrap.servers=" + addr,
			"security.protocol=SASL_SSL",
			"sasl.mechanisms=SCRAM-SHA-512",
			"sasl.username=" + u.Name,
			"sasl.password=" + u.Password,
			"ssl.ca.location=" + m.CAFile(),
			"",
		}, "\n")
		javaPath := filepath.Join(m.Dir, u.Name+".properties")
		rdPath := filepath.Join(m.Dir, u.Name+".librdkafka.conf")
		if err := atomicfile.Write(javaPath, []byte(java)); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(rdPath, []byte(rd)); err != nil {
			return nil, err
		}
		out[u.Name] = [2]string{javaPath, rdPath}
	}
	return out, nil
}

// PrintSettings tells the developer how to connect.
func (m *Material) PrintSettings(w io.Writer, addr string, files map[string][2]string) {
	fmt.Fprintf(w, `
Dev security is on: SASL_SSL on %[1]s (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN), ACLs enforced.
  CA certificate:  %[2]s
  %-6[3]s %-22[4]s super user
  %-6[5]s %-22[6]s produce, consume, create topics; no administration

kcat (librdkafka):  kcat -F %[7]s -L
samsa tools:        samsa topics list --command-config %[8]s
Kafka's scripts:    kafka-topics.sh --bootstrap-server %[1]s --command-config %[8]s --list
franz-go:
    pool := x509.NewCertPool()
    pem, _ := os.ReadFile(%[2]q)
    pool.AppendCertsFromPEM(pem)
    cl, err := kgo.NewClient(kgo.SeedBrokers(%[1]q),
        kgo.DialTLSConfig(&tls.Config{RootCAs: pool}),
        kgo.SASL(scram.Auth{User: %[5]q, Pass: %[6]q}.AsSha512Mechanism()))

`, addr, m.CAFile(), m.Admin.Name, m.Admin.Password, m.User.Name, m.User.Password, files[m.User.Name][1], files[m.Admin.Name][0])
}
