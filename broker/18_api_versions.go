package broker

// ApiVersions. The advertised ranges are exactly the APIs the broker
// declares, each in its own file (registerAPI, dispatch.go). A request
// newer than the newest version served here gets the KIP-511 fallback: a
// v0 response with UNSUPPORTED_VERSION and the full ranges.
// v3+ reports finalized features: none yet.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/wire"
)

func init() {
	registerAPI(api{key: kmsg.ApiVersions, min: 0, max: 4, serve: typed((*Broker).handleApiVersions),
		note: "a newer request than v4 gets the v0 fallback with UNSUPPORTED_VERSION (KIP-511)"})
}

func (b *Broker) handleApiVersions(_ context.Context, _ *wire.Conn, req *kmsg.ApiVersionsRequest) (kmsg.Response, error) {
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = b.apiVersionKeys()
	return resp, nil
}

func (b *Broker) apiVersionKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(b.routes))
	for _, r := range b.routes {
		if r.serve == nil {
			continue
		}
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: int16(r.key), MinVersion: r.min, MaxVersion: r.max})
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
