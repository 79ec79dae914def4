package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRegisterAPIRefusesABadDeclaration(t *testing.T) {
	// AddPartitionsToTxn is not served: a declaration of it that is
	// wrongly accepted is taken back.
	unserved := kmsg.AddPartitionsToTxn
	serve := apis[kmsg.Produce].serve
	for name, a := range map[string]api{
		"a key declared twice":            apis[kmsg.Produce],
		"a version kmsg cannot decode":    {key: unserved, min: 0, max: kmsg.NewPtrAddPartitionsToTxnRequest().MaxVersion() + 1, serve: serve},
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
