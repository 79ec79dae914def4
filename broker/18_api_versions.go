package broker

// ApiVersions v0-v4. The advertised ranges are exactly the routes the
// broker serves (dispatch.go). A request newer than v4 gets the KIP-511
// fallback: a v0 response with UNSUPPORTED_VERSION and the full ranges.
// v3+ reports finalized features: none yet.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

func (b *Broker) handleApiVersions(_ context.Context, _ *wire.Conn, req *kmsg.ApiVersionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = b.apiVersionKeys()
	return resp, nil
}

func (b *Broker) apiVersionKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(b.routes))
	for _, r := range b.routes {
		if r.key < 0 {
			continue
		}
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: r.key, MinVersion: r.minVersion, MaxVersion: r.maxVersion})
	}
	return keys
}

func (b *Broker) apiVersionsFallback() *wire.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = b.apiVersionKeys()
	return encodeResponse(resp)
}
