package oauthbearer

import (
	"testing"
	"time"
)

func TestMalformedFirstMessagesFailAtOnce(t *testing.T) {
	token := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour)})
	for name, msg := range map[string]string{
		"empty":                    "",
		"channel binding asked":    "p=tls-unique,,\x01auth=Bearer " + token + "\x01\x01",
		"no separator after gs2":   "n,,auth=Bearer " + token + "\x01\x01",
		"not terminated":           "n,,\x01auth=Bearer " + token + "\x01",
		"no auth":                  "n,,\x01host=broker\x01\x01",
		"basic scheme":             "n,,\x01auth=Basic YWxpY2U6c2VjcmV0\x01\x01",
		"no token":                 "n,,\x01auth=Bearer \x01\x01",
		"token with a space":       "n,,\x01auth=Bearer a b\x01\x01",
		"extension key with digit": "n,,\x01auth=Bearer " + token + "\x01k1=v\x01\x01",
		"lone 0x01 first":          "\x01",
	} {
		t.Run(name, func(t *testing.T) {
			ex := newMechanism(t, Config{}).Start()
			reply, done, err := ex.Next([]byte(msg))
			if err == nil || done || reply != nil {
				t.Fatalf("Next = %q, %v, %v; want a failure with no reply", reply, done, err)
			}
		})
	}
}

func TestBearerSchemeIsCaseInsensitiveAsInKafka(t *testing.T) {
	token := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour)})
	ex := newMechanism(t, Config{}).Start()
	reply, done, err := ex.Next([]byte("n,,\x01auth=BEARER " + token + "\x01\x01"))
	if err != nil || !done || len(reply) != 0 || ex.Principal() != "alice" {
		t.Fatalf("Next = %q, %v, %v (principal %q); want alice authenticated", reply, done, err, ex.Principal())
	}
}

func TestClientMayRetryWithAnotherTokenAfterTheErrorMessage(t *testing.T) {
	expired := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(-time.Hour)})
	valid := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour)})
	ex := newMechanism(t, Config{}).Start()

	reply, done, err := ex.Next([]byte("n,,\x01auth=Bearer " + expired + "\x01\x01"))
	if err != nil || done || string(reply) != `{"status":"invalid_token"}` {
		t.Fatalf("expired token: Next = %q, %v, %v", reply, done, err)
	}
	// Kafka's server treats anything but 0x01 after its error message as
	// a new initial response.
	reply, done, err = ex.Next([]byte("n,,\x01auth=Bearer " + valid + "\x01\x01"))
	if err != nil || !done || len(reply) != 0 {
		t.Fatalf("valid token after the error: Next = %q, %v, %v", reply, done, err)
	}
}

func TestExchangeEndsAfterSuccessOrFailure(t *testing.T) {
	valid := unsecuredToken(t, map[string]any{"sub": "alice", "exp": unixIn(time.Hour)})
	ex := newMechanism(t, Config{}).Start()
	if _, done, err := ex.Next([]byte("n,,\x01auth=Bearer " + valid + "\x01\x01")); err != nil || !done {
		t.Fatalf("first authentication: done %v, err %v", done, err)
	}
	if _, _, err := ex.Next([]byte("n,,\x01auth=Bearer " + valid + "\x01\x01")); err == nil {
		t.Fatal("a finished exchange took another message")
	}

	ex = newMechanism(t, Config{}).Start()
	if _, _, err := ex.Next([]byte("garbage")); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, done, err := ex.Next([]byte("n,,\x01auth=Bearer " + valid + "\x01\x01")); err == nil || done {
		t.Fatal("a failed exchange took another message")
	}
}
