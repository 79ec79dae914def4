package plain

import "testing"

func TestPlainChecksUserAndPasswordAndAuthorizationID(t *testing.T) {
	m := New(map[string]string{"alice": "secret"})
	for _, tc := range []struct {
		msg  string
		user string // "" when refused
	}{
		{"\x00alice\x00secret", "alice"},
		{"alice\x00alice\x00secret", "alice"},
		{"bob\x00alice\x00secret", ""}, // another authorization ID
		{"\x00alice\x00wrong", ""},
		{"\x00bob\x00secret", ""},
		{"\x00alice\x00", ""},
		{"alice secret", ""},
	} {
		ex := m.Start()
		_, done, err := ex.Next([]byte(tc.msg))
		if tc.user == "" {
			if err == nil || done {
				t.Errorf("%q: logged in, want refused", tc.msg)
			}
			continue
		}
		if err != nil || !done || ex.Principal() != tc.user {
			t.Errorf("%q: done %v principal %q err %v, want %s", tc.msg, done, ex.Principal(), err, tc.user)
		}
	}
}
