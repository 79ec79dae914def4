package groupcoord

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// API declares one group API the coordinator serves: its key, the versions
// served and the handler. Each API's file declares its own beside its
// handler, in an init; the broker serves exactly these (APIs), advertises
// them in ApiVersions and lists them in the README's API table.
type API struct {
	Key      kmsg.Key
	Min, Max int16 // the versions served
	// Serve calls the coordinator's handler with a request of Key's type.
	Serve func(*Coordinator, context.Context, kmsg.Request) kmsg.Response
	// Note is the API's row in the README's API table: what a user of the
	// API should know.
	Note string
}

// apis holds the declared group APIs by key; the init functions of the API
// files fill it, and it never changes afterwards.
var apis = map[kmsg.Key]API{}

// registerAPI declares a group API. A key declared twice is a programming
// error and panics at start-up.
func registerAPI(a API) {
	if _, dup := apis[a.Key]; dup {
		panic(fmt.Sprintf("group API %s (%d) declared twice", a.Key.Name(), a.Key))
	}
	apis[a.Key] = a
}

// APIs returns the group APIs the coordinator serves, in key order.
func APIs() []API {
	list := make([]API, 0, len(apis))
	for _, a := range apis {
		list = append(list, a)
	}
	slices.SortFunc(list, func(x, y API) int { return cmp.Compare(x.Key, y.Key) })
	return list
}

// serveAs adapts a coordinator method to API.Serve.
func serveAs[Req kmsg.Request, Resp kmsg.Response](fn func(*Coordinator, context.Context, Req) Resp) func(*Coordinator, context.Context, kmsg.Request) kmsg.Response {
	return func(c *Coordinator, ctx context.Context, req kmsg.Request) kmsg.Response {
		return fn(c, ctx, req.(Req))
	}
}
