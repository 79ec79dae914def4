package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRegisterAPIRefusesABadDeclaration(t *testing.T) {
	// A declaration of an API Samsa does not serve that is wrongly
	// accepted is taken back.
	unserved := unservedKey(t)
	serve := apis[kmsg.Produce].serve
	for name, a := range map[string]api{
		"a key declared twice":            apis[kmsg.Produce],
		"a version kmsg cannot decode":    {key: unserved, min: 0, max: kmsg.RequestForKey(int16(unserved)).MaxVersion() + 1, serve: serve},
		"a range from max to min":         {key: unserved, min: 2, max: 1, serve: serve},
		"a declaration without a handler": {key: unserved, min: 0, max: 0},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("registerAPI accepted %s", name)
				}
				delete(apis, unserved)
			}()
			registerAPI(a)
		}()
	}
}

// unservedKey is an API kmsg knows that Samsa does not serve.
func unservedKey(t *testing.T) kmsg.Key {
	t.Helper()
	for k := kmsg.Key(0); k < 100; k++ {
		if _, served := apis[k]; !served && kmsg.RequestForKey(int16(k)) != nil {
			return k
		}
	}
	t.Fatal("every API kmsg knows is served")
	return 0
}

func TestEveryDeclaredAPIAnswersAnEmptyRequestAtEveryVersion(t *testing.T) {
	// A declaration that pairs a key with another API's handler would
	// panic on that API's first request; an empty request of every
	// served version reaches every handler once.
	b := newTestBroker(t)
	for _, r := range b.routes {
		if r.serve == nil {
			continue // no API has this key
		}
		for v := r.min; v <= r.max; v++ {
			req := kmsg.RequestForKey(int16(r.key))
			req.SetVersion(v)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%s v%d panicked: %v", kmsg.NameForKey(int16(r.key)), v, p)
					}
				}()
				if _, err := serveRaw(b, int16(r.key), v, req.AppendTo(nil)); err != nil {
					t.Errorf("%s v%d: %v", kmsg.NameForKey(int16(r.key)), v, err)
				}
			}()
		}
	}
}
