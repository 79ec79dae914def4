package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

// handler serves one decoded request on a broker. A Go error closes the
// connection; Kafka errors go back inside the response.
type handler func(b *Broker, ctx context.Context, conn *wire.Conn, req kmsg.Request) (*wire.Response, error)

// api declares one API the broker serves. Each API's file declares its own
// beside its handler (franz-go kfake's regKey), in an init calling
// registerAPI; the group APIs are declared beside theirs in groupcoord
// (groups.go takes them in). The dispatch table, ApiVersions and the
// README's API table are all built from these declarations.
type api struct {
	key kmsg.Key
	// min and max are the versions served, the ranges ApiVersions
	// advertises. Minimum versions follow Kafka 4.0, which dropped the
	// message formats before magic v2 (Produce starts at v3 and Fetch at
	// v4, the first versions that carry record batches v2).
	min, max int16
	serve    handler
	// note is the API's row in the README's API table: what a user of
	// the API should know.
	note string
}

// apis holds every declared API by key. It is filled by the init
// functions of the API files and never changes afterwards.
var apis = map[kmsg.Key]api{}

// registerAPI declares an API. A key declared twice, or a declaration
// kmsg could not decode, is a programming error and panics at start-up.
func registerAPI(a api) {
	name := a.key.Name()
	if prev, dup := apis[a.key]; dup {
		panic(fmt.Sprintf("API %s (%d) declared twice (v%d-v%d and v%d-v%d)", name, a.key, prev.min, prev.max, a.min, a.max))
	}
	req := a.key.Request()
	switch {
	case req == nil:
		panic(fmt.Sprintf("API key %d is unknown to kmsg", a.key))
	case a.serve == nil:
		panic(fmt.Sprintf("API %s declared without a handler", name))
	case a.min < 0 || a.min > a.max || a.max > req.MaxVersion():
		panic(fmt.Sprintf("API %s declared for v%d-v%d; kmsg decodes v0-v%d", name, a.min, a.max, req.MaxVersion()))
	}
	apis[a.key] = a
}

// declaredAPIs returns every declared API in key order.
func declaredAPIs() []api {
	list := make([]api, 0, len(apis))
	for _, a := range apis {
		list = append(list, a)
	}
	slices.SortFunc(list, func(x, y api) int { return cmp.Compare(x.key, y.key) })
	return list
}

// typed adapts a handler that builds a kmsg response.
func typed[R kmsg.Request](fn func(*Broker, context.Context, *wire.Conn, R) (kmsg.Response, error)) handler {
	return func(b *Broker, ctx context.Context, conn *wire.Conn, req kmsg.Request) (*wire.Response, error) {
		start := time.Now()
		resp, err := fn(b, ctx, conn, req.(R))
		if err != nil || resp == nil {
			return nil, err
		}
		b.throttleRequestTime(ctx, conn, time.Since(start), resp)
		b.observeErrors(resp)
		return encodeResponse(resp), nil
	}
}

// encodeResponse serialises a kmsg response. ApiVersions responses always
// use response header v0, even in flexible versions (KIP-511).
func encodeResponse(resp kmsg.Response) *wire.Response {
	flexibleHeader := resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions)
	return wire.BytesResponse(flexibleHeader, resp.AppendTo(make([]byte, 0, 256)))
}

// buildRoutes builds the broker's dispatch table from the declared APIs,
// indexed by API key; keys not served hold the zero api (no handler).
func (b *Broker) buildRoutes() []api {
	list := declaredAPIs()
	routes := make([]api, int(list[len(list)-1].key)+1)
	for _, a := range list {
		routes[a.key] = a
	}
	return routes
}

// lookupRoute returns the route for key, if the broker serves it.
func (b *Broker) lookupRoute(key int16) (api, bool) {
	if key < 0 || int(key) >= len(b.routes) || b.routes[key].serve == nil {
		return api{}, false
	}
	return b.routes[key], true
}

// ServeKafka implements wire.Handler.
func (b *Broker) ServeKafka(ctx context.Context, conn *wire.Conn, req *wire.Request) (*wire.Response, error) {
	if req.RawSASL {
		return b.serveRawSASLToken(conn, req.Body)
	}
	r, ok := b.lookupRoute(req.APIKey)
	if ok && req.APIKey == int16(kmsg.ApiVersions) && req.APIVersion > r.max {
		// KIP-511: a client may open with a newer ApiVersions than we
		// know. Answer v0 with UNSUPPORTED_VERSION and our ranges so it
		// retries with a version both sides speak.
		b.observer.RequestServed(req.APIKey, 0)
		b.observer.ResponseError(req.APIKey, closedUnsupportedVersion)
		return b.apiVersionsFallback(), nil
	}
	if !ok || !req.KnownKey {
		b.observer.ResponseError(req.APIKey, closedUnsupportedVersion)
		return nil, fmt.Errorf("%w: API key %d is not served", errUnsupportedRequest, req.APIKey)
	}
	if req.APIVersion < r.min || req.APIVersion > r.max {
		b.observer.ResponseError(req.APIKey, closedUnsupportedVersion)
		return nil, fmt.Errorf("%w: %s v%d is not served (v%d to v%d are)", errUnsupportedRequest,
			kmsg.NameForKey(req.APIKey), req.APIVersion, r.min, r.max)
	}
	if err := b.checkSASL(conn, req.APIKey); err != nil {
		b.observer.ResponseError(req.APIKey, closedInvalidRequest)
		return nil, err
	}
	start := time.Now()
	kreq := kmsg.RequestForKey(req.APIKey)
	kreq.SetVersion(req.APIVersion)
	if err := kreq.ReadFrom(req.Body); err != nil {
		b.observer.ResponseError(req.APIKey, closedInvalidRequest)
		return nil, fmt.Errorf("decode %s v%d request: %w", kmsg.NameForKey(req.APIKey), req.APIVersion, err)
	}
	// Who sent it, in one context value: the quotas measure the user and
	// client ID, the group APIs report the client ID, and Produce lets
	// Kafka's admin client ID write to internal topics.
	ctx = withQuotaClient(ctx, conn.Principal, req.ClientID)
	resp, err := r.serve(b, ctx, conn, kreq)
	if resp != nil && resp.Finish != nil {
		// Served once finished (an acks=all produce's wait for its ISR
		// counts, as in Kafka's request time).
		finish := resp.Finish
		resp.Finish = func() {
			finish()
			b.observer.RequestServed(req.APIKey, time.Since(start))
		}
		return resp, err
	}
	b.observer.RequestServed(req.APIKey, time.Since(start))
	return resp, err
}

// errUnsupportedRequest closes the connection of a request whose API key
// or version the broker does not serve, as Kafka does: the layout of the
// answer would follow a schema the broker does not know, and a client
// that parses it by the version it sent would read garbage. The client
// learns the served versions from ApiVersions, which is answered at any
// version (KIP-511).
var errUnsupportedRequest = errors.New("unsupported request")
