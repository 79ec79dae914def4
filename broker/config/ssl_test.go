package config

import (
	"slices"
	"strings"
	"testing"
)

func TestSSLAndSASLSSLListenersAreAcceptedWithTheirProtocols(t *testing.T) {
	b, _ := load(t, "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SECURE://127.0.0.1:0\n"+
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SECURE:SASL_SSL\n"+
		"sasl.enabled.mechanisms=SCRAM-SHA-256\n")
	var got []string
	for _, l := range b.Listeners {
		got = append(got, l.Name+"="+l.SecurityProtocol)
	}
	want := []string{"PLAINTEXT=PLAINTEXT", "SSL=SSL", "SECURE=SASL_SSL"}
	if !slices.Equal(got, want) {
		t.Fatalf("listeners %v, want %v", got, want)
	}
	if b.Listeners[0].UsesTLS() || !b.Listeners[1].UsesTLS() || !b.Listeners[2].UsesTLS() {
		t.Errorf("UsesTLS wrong for %v", got)
	}
}

func TestListenerPrefixedSSLKeyWinsForItsListenerOnly(t *testing.T) {
	b, warnings := load(t, "listeners=INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0\n"+
		"listener.security.protocol.map=INTERNAL:SSL,EXTERNAL:SSL\n"+
		"ssl.client.auth=requested\n"+
		"ssl.keystore.type=PEM\n"+
		"listener.name.internal.ssl.client.auth=required\n"+
		"listener.name.internal.ssl.enabled.protocols=TLSv1.3\n")
	if len(warnings) != 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	in, ex := b.ListenerSSL("INTERNAL"), b.ListenerSSL("EXTERNAL")
	if in.ClientAuth != "required" || ex.ClientAuth != "requested" {
		t.Errorf("ssl.client.auth: internal %q, external %q; want required, requested", in.ClientAuth, ex.ClientAuth)
	}
	if !slices.Equal(in.EnabledProtocols, []string{"TLSv1.3"}) || !slices.Equal(ex.EnabledProtocols, []string{"TLSv1.2", "TLSv1.3"}) {
		t.Errorf("ssl.enabled.protocols: internal %v, external %v", in.EnabledProtocols, ex.EnabledProtocols)
	}
	if in.KeystoreType != "PEM" || ex.KeystoreType != "PEM" {
		t.Errorf("the plain ssl.keystore.type should apply to both listeners: %q %q", in.KeystoreType, ex.KeystoreType)
	}
	if d := Default().ListenerSSL("PLAINTEXT"); d.KeystoreType != "JKS" || d.ClientAuth != "none" || d.PrincipalMappingRules != "DEFAULT" {
		t.Errorf("defaults are not Kafka's: %+v", d)
	}
}

func TestInvalidSSLValuesNameTheKey(t *testing.T) {
	cases := []struct{ file, want string }{
		{"ssl.client.auth=always", "ssl.client.auth"},
		{"listener.name.ssl.ssl.client.auth=always", "listener.name.ssl.ssl.client.auth"},
		{"ssl.enabled.protocols=TLSv1.1", "TLSv1.1"},
		{"ssl.principal.mapping.rules=RULE:^CN=(.*)$/$1", "invalid rule"},
		{"ssl.keystore.type=BCFKS", "ssl.keystore.type"},
		{"inter.broker.listener.name=INTERNAL", "must be a listener name defined in listeners"},
		{"security.inter.broker.protocol=SSL", "no listener is called SSL"},
		{"listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0\nsecurity.inter.broker.protocol=SSL\ninter.broker.listener.name=SSL", "only one of"},
	}
	for _, c := range cases {
		err := loadErr(t, c.file)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q, want %q", c.file, err, c.want)
		}
	}
}

func TestDynamicListenerKeystoreWinsOverStatic(t *testing.T) {
	b, _ := load(t, "listeners=SSL://127.0.0.1:0\nlistener.security.protocol.map=SSL:SSL\nssl.keystore.location=/old.p12\n")
	dyn := map[string]string{"listener.name.ssl.ssl.keystore.location": "/new.p12"}
	if err := ValidateBrokerDynamic(dyn); err != nil {
		t.Fatalf("Kafka allows listener keystores to change dynamically: %v", err)
	}
	if err := ValidateBrokerDynamic(map[string]string{"listener.name.ssl.ssl.client.auth": "required"}); err == nil {
		t.Errorf("ssl.client.auth is not dynamic in Samsa, but was accepted")
	}
	e := b.WithDynamic(nil, dyn)
	if got := e.ListenerSSL("SSL").KeystoreLocation; got != "/new.p12" {
		t.Errorf("keystore after the dynamic change: %q, want /new.p12", got)
	}
	if got := b.ListenerSSL("SSL").KeystoreLocation; got != "/old.p12" {
		t.Errorf("the static config changed: %q", got)
	}
}

func TestPrincipalRulesParseKafkaSyntax(t *testing.T) {
	rules, err := ParsePrincipalRules(`RULE:^CN=([^,]*),OU=(.*?),O=.*$/$1@$2/L, RULE:^CN=a\/b$/slash/, DEFAULT`)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 3 || rules[0].Case != 'L' || rules[1].Replacement != "slash" || !rules[2].Default {
		t.Fatalf("rules %+v", rules)
	}
	if !rules[1].Pattern.MatchString("CN=a/b") {
		t.Errorf("an escaped slash should match a slash")
	}
}

func TestInterBrokerListenerIsNamedOrDerivedFromTheProtocolOrFirst(t *testing.T) {
	two := "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0\n"
	cases := []struct{ file, want string }{
		{two, "PLAINTEXT"},
		{"listeners=CLIENT://127.0.0.1:0,REPL://127.0.0.1:0\nlistener.security.protocol.map=CLIENT:PLAINTEXT,REPL:SSL\n", "CLIENT"},
		{two + "inter.broker.listener.name=ssl\n", "SSL"},
		{two + "security.inter.broker.protocol=SSL\n", "SSL"},
	}
	for _, c := range cases {
		b, _ := load(t, c.file)
		if got := b.InterBrokerListener(); got.Name != c.want {
			t.Errorf("%q: inter-broker listener %s, want %s", c.file, got.Name, c.want)
		}
	}
}

func TestListenerConnectionCreationRateBoundsOneListenerAndLeavesTheBrokerWideOne(t *testing.T) {
	b, warnings := load(t, "listeners=INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0\n"+
		"listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT\n"+
		"inter.broker.listener.name=INTERNAL\n"+
		"max.connection.creation.rate=100\n"+
		"listener.name.external.max.connection.creation.rate=5\n")
	if len(warnings) != 0 {
		t.Fatalf("warnings: %v", warnings)
	}
	if b.MaxConnectionCreationRate != 100 {
		t.Errorf("max.connection.creation.rate = %d, want the broker-wide 100", b.MaxConnectionCreationRate)
	}
	if got := b.ListenerConnectionCreationRates(); len(got) != 1 || got["EXTERNAL"] != 5 {
		t.Errorf("per-listener rates %v, want EXTERNAL 5", got)
	}
	dyn := b.WithDynamic(nil, map[string]string{"listener.name.internal.max.connection.creation.rate": "50"})
	if got := dyn.ListenerConnectionCreationRates(); got["INTERNAL"] != 50 || got["EXTERNAL"] != 5 {
		t.Errorf("after a dynamic change: %v", got)
	}
	if _, _, err := Load("", []string{"listeners=PLAINTEXT://127.0.0.1:0", "listener.name.plaintext.max.connection.creation.rate=fast"}); err == nil {
		t.Error("a listener rate that is not a number was accepted")
	}
}
