package devsecurity

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrepareKeepsTheCAAndPasswordsAndRenewsTheCertificateForANewHost(t *testing.T) {
	dir := filepath.Join(t.TempDir(), DirName)
	first, err := Prepare(dir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if first.Admin.Name != "admin" || first.User.Name != "alice" || len(first.Admin.Password) != 20 || first.Admin.Password == first.User.Password {
		t.Fatalf("users %+v %+v", first.Admin, first.User)
	}
	ca, _ := os.ReadFile(first.CAFile())
	keystore, _ := os.ReadFile(first.KeystoreFile())

	again, err := Prepare(dir, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(again.CAFile())
	keystore2, _ := os.ReadFile(again.KeystoreFile())
	if again.Admin != first.Admin || again.User != first.User || string(ca2) != string(ca) || string(keystore2) != string(keystore) {
		t.Fatal("a second start changed the material")
	}

	moved, err := Prepare(dir, []string{"kafka.internal.example"})
	if err != nil {
		t.Fatal(err)
	}
	ca3, _ := os.ReadFile(moved.CAFile())
	keystore3, _ := os.ReadFile(moved.KeystoreFile())
	if string(ca3) != string(ca) || string(keystore3) == string(keystore) || moved.Admin != first.Admin {
		t.Fatal("a new listener host must renew only the broker certificate")
	}
	cert, err := firstCert(keystore3)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"kafka.internal.example", "localhost", "127.0.0.1"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Errorf("the broker certificate does not cover %s: %v", h, err)
		}
	}
	if err := cert.CheckSignatureFrom(moved.caCert); err != nil {
		t.Errorf("the broker certificate is not signed by the CA: %v", err)
	}
}
