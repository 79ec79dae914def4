package config

import (
	"strings"
	"testing"
	"time"
)

const saslFile = `listeners=SASL_PLAINTEXT://127.0.0.1:0
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256
connections.max.reauth.ms=60000
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \
    username="admin" password="admin-secret" \
    user_admin="admin-secret" user_alice="alice secret";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password=admin-secret;
`

func TestSASLListenerTakesItsMechanismsAndJAASUsers(t *testing.T) {
	b, warnings := load(t, saslFile)
	if len(warnings) != 0 {
		t.Fatalf("warnings for Kafka's own keys: %v", warnings)
	}
	if b.SASL.MaxReauth != time.Minute {
		t.Errorf("connections.max.reauth.ms = %v, want 1m", b.SASL.MaxReauth)
	}
	l, ok := b.SASL.Listeners["SASL_PLAINTEXT"]
	if !ok {
		t.Fatalf("no SASL settings for listener SASL_PLAINTEXT: %+v", b.SASL.Listeners)
	}
	if strings.Join(l.Mechanisms, ",") != "PLAIN,SCRAM-SHA-256" {
		t.Errorf("mechanisms = %v", l.Mechanisms)
	}
	users := l.JAAS["PLAIN"].PlainUsers()
	if len(users) != 2 || users["admin"] != "admin-secret" || users["alice"] != "alice secret" {
		t.Errorf("PLAIN users = %q", users)
	}
	scram := l.JAAS["SCRAM-SHA-256"]
	if scram.Options["username"] != "admin" || scram.Options["password"] != "admin-secret" {
		t.Errorf("SCRAM JAAS options = %q", scram.Options)
	}
}

func TestListenerScopedMechanismsOverrideTheBrokerWideList(t *testing.T) {
	b, _ := load(t, saslFile, "listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512")
	if got := b.SASL.Listeners["SASL_PLAINTEXT"].Mechanisms; len(got) != 1 || got[0] != "SCRAM-SHA-512" {
		t.Errorf("mechanisms = %v, want [SCRAM-SHA-512]", got)
	}
}

func TestSASLListenerWithKafkasDefaultGSSAPIIsRefused(t *testing.T) {
	err := loadErr(t, "listeners=SASL_PLAINTEXT://127.0.0.1:0\n")
	if !strings.Contains(err.Error(), "sasl.enabled.mechanisms") || !strings.Contains(err.Error(), "GSSAPI") {
		t.Errorf("error = %v; want it to name sasl.enabled.mechanisms and GSSAPI", err)
	}
}

func TestPlainWithoutJAASUsersIsRefused(t *testing.T) {
	err := loadErr(t, "listeners=SASL_PLAINTEXT://127.0.0.1:0\nsasl.enabled.mechanisms=PLAIN\n")
	if !strings.Contains(err.Error(), "listener.name.sasl_plaintext.plain.sasl.jaas.config") {
		t.Errorf("error = %v; want it to name the JAAS key", err)
	}
}

func TestJAASWithTheWrongLoginModuleIsRefusedWithoutShowingIt(t *testing.T) {
	err := loadErr(t, "listeners=SASL_PLAINTEXT://127.0.0.1:0\nsasl.enabled.mechanisms=PLAIN\n"+
		`listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required user_a="secret-pw";`+"\n")
	if !strings.Contains(err.Error(), PlainLoginModule) || strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error = %v; want the expected module named and no password shown", err)
	}
}

func TestUnknownSASLMechanismIsRefused(t *testing.T) {
	err := loadErr(t, "", "sasl.enabled.mechanisms=PLAIN,DIGEST-MD5")
	if !strings.Contains(err.Error(), "DIGEST-MD5") {
		t.Errorf("error = %v", err)
	}
}

func TestParseJAASReadsQuotedEscapedAndBareValues(t *testing.T) {
	j, err := ParseJAAS(`org.example.Module Required a="x \"y\" \\z" b=bare c="semi;colon";`)
	if err != nil {
		t.Fatal(err)
	}
	if j.LoginModule != "org.example.Module" || j.Flag != "required" {
		t.Errorf("module %q flag %q", j.LoginModule, j.Flag)
	}
	if j.Options["a"] != `x "y" \z` || j.Options["b"] != "bare" || j.Options["c"] != "semi;colon" {
		t.Errorf("options = %q", j.Options)
	}
}

func TestParseJAASRejectsMalformedEntries(t *testing.T) {
	for _, text := range []string{
		`org.example.Module required a="b"`,   // no semicolon
		`org.example.Module sometimes a="b";`, // bad flag
		`org.example.Module required a;`,      // option without value
		`org.example.Module required a="b;`,   // unterminated quote
		`;`,                                   // no module
	} {
		if _, err := ParseJAAS(text); err == nil {
			t.Errorf("ParseJAAS(%q): no error", text)
		}
	}
}
