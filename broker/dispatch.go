package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

// serveFunc serves one decoded request.
type serveFunc func(ctx context.Context, conn *wire.Conn, req kmsg.Request) (*wire.Response, error)

// route is one API the broker serves, with the version range it
// implements. ApiVersions advertises exactly these ranges.
type route struct {
	key        int16
	minVersion int16
	maxVersion int16
	serve      serveFunc
	// withClientID puts the request's client ID in the context (the group
	// APIs report it; Produce lets Kafka's admin client ID write to
	// internal topics).
	withClientID bool
}

// typed adapts a handler that builds a kmsg response.
func typed[R kmsg.Request](fn func(context.Context, *wire.Conn, R) (kmsg.Response, error)) serveFunc {
	return func(ctx context.Context, conn *wire.Conn, req kmsg.Request) (*wire.Response, error) {
		resp, err := fn(ctx, conn, req.(R))
		if err != nil || resp == nil {
			return nil, err
		}
		return encodeResponse(resp), nil
	}
}

// encodeResponse serialises a kmsg response. ApiVersions responses always
// use response header v0, even in flexible versions (KIP-511).
func encodeResponse(resp kmsg.Response) *wire.Response {
	flexibleHeader := resp.IsFlexible() && resp.Key() != int16(kmsg.ApiVersions)
	return wire.BytesResponse(flexibleHeader, resp.AppendTo(make([]byte, 0, 256)))
}

// buildRoutes lists every API the broker serves. Minimum versions follow
// Kafka 4.0, which dropped the message formats before magic v2: Produce
// starts at v3 and Fetch at v4, the first versions that carry record
// batches v2.
func (b *Broker) buildRoutes() []route {
	list := []route{
		{key: int16(kmsg.Produce), minVersion: 3, maxVersion: 13, serve: b.serveProduce, withClientID: true},
		{key: int16(kmsg.Fetch), minVersion: 4, maxVersion: 18, serve: b.serveFetch},
		{key: int16(kmsg.ListOffsets), minVersion: 1, maxVersion: 10, serve: typed(b.handleListOffsets)},
		{key: int16(kmsg.Metadata), minVersion: 0, maxVersion: 13, serve: typed(b.handleMetadata)},
		{key: int16(kmsg.ApiVersions), minVersion: 0, maxVersion: 4, serve: typed(b.handleApiVersions)},
		{key: int16(kmsg.InitProducerID), minVersion: 0, maxVersion: 5, serve: typed(b.handleInitProducerID)},
		{key: int16(kmsg.OffsetForLeaderEpoch), minVersion: 0, maxVersion: 4, serve: typed(b.handleOffsetForLeaderEpoch)},
	}
	list = append(list, b.adminRoutes()...)
	list = append(list, b.groupRoutes()...)
	routes := make([]route, maxAPIKey(list)+1)
	for i := range routes {
		routes[i].key = -1
	}
	for _, r := range list {
		routes[r.key] = r
	}
	return routes
}

func maxAPIKey(list []route) int16 {
	var max int16
	for _, r := range list {
		if r.key > max {
			max = r.key
		}
	}
	return max
}

// lookupRoute returns the route for key, if the broker serves it.
func (b *Broker) lookupRoute(key int16) (route, bool) {
	if key < 0 || int(key) >= len(b.routes) || b.routes[key].key < 0 {
		return route{}, false
	}
	return b.routes[key], true
}

// ServeKafka implements wire.Handler.
func (b *Broker) ServeKafka(ctx context.Context, conn *wire.Conn, req *wire.Request) (*wire.Response, error) {
	r, ok := b.lookupRoute(req.APIKey)
	if ok && req.APIKey == int16(kmsg.ApiVersions) && req.APIVersion > r.maxVersion {
		// KIP-511: a client may open with a newer ApiVersions than we
		// know. Answer v0 with UNSUPPORTED_VERSION and our ranges so it
		// retries with a version both sides speak.
		return b.apiVersionsFallback(), nil
	}
	if !ok || !req.KnownKey {
		return nil, fmt.Errorf("%w: API key %d is not served", errUnsupportedRequest, req.APIKey)
	}
	if req.APIVersion < r.minVersion || req.APIVersion > r.maxVersion {
		return nil, fmt.Errorf("%w: %s v%d is not served (v%d to v%d are)", errUnsupportedRequest,
			kmsg.NameForKey(req.APIKey), req.APIVersion, r.minVersion, r.maxVersion)
	}
	kreq := kmsg.RequestForKey(req.APIKey)
	kreq.SetVersion(req.APIVersion)
	if err := kreq.ReadFrom(req.Body); err != nil {
		return nil, fmt.Errorf("decode %s v%d request: %w", kmsg.NameForKey(req.APIKey), req.APIVersion, err)
	}
	if r.withClientID {
		ctx = withClientID(ctx, req.ClientID)
	}
	return r.serve(ctx, conn, kreq)
}

// errUnsupportedRequest closes the connection of a request whose API key
// or version the broker does not serve, as Kafka does: the layout of the
// answer would follow a schema the broker does not know, and a client
// that parses it by the version it sent would read garbage. The client
// learns the served versions from ApiVersions, which is answered at any
// version (KIP-511).
var errUnsupportedRequest = errors.New("unsupported request")
