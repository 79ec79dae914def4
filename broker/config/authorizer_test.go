package config

import (
	"strings"
	"testing"
)

func TestAuthorizerKeysTakeKafkasClassNamesAndRefuseOthers(t *testing.T) {
	for _, name := range []string{"kafka.security.authorizer.AclAuthorizer", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"} {
		b, _, err := Load("", []string{"authorizer.class.name=" + name, "super.users=User:admin;User:ops", "allow.everyone.if.no.acl.found=true"})
		if err != nil {
			t.Fatalf("%s refused: %v", name, err)
		}
		if b.AuthorizerClassName != name || b.SuperUsers != "User:admin;User:ops" || !b.AllowEveryoneIfNoACLFound {
			t.Errorf("loaded %q %q %v", b.AuthorizerClassName, b.SuperUsers, b.AllowEveryoneIfNoACLFound)
		}
	}
	_, _, err := Load("", []string{"authorizer.class.name=com.example.MyAuthorizer"})
	if err == nil || !strings.Contains(err.Error(), "com.example.MyAuthorizer") {
		t.Fatalf("an unknown authorizer class: %v, want an error naming it", err)
	}
	if d := Default(); d.AuthorizerClassName != "" || d.AllowEveryoneIfNoACLFound {
		t.Fatalf("defaults turn authorization on: %q %v", d.AuthorizerClassName, d.AllowEveryoneIfNoACLFound)
	}
}
