package wire

import (
	"context"
	"testing"
	"time"
)

func TestThrottledConnectionGetsItsResponseAtOnceAndNothingMoreUntilTheThrottleEnds(t *testing.T) {
	const throttle = 300 * time.Millisecond
	h := handlerFunc(func(_ context.Context, c *Conn, r *Request) (*Response, error) {
		if r.CorrelationID == 1 {
			c.Throttle(throttle)
		}
		return BytesResponse(false, []byte{1}), nil
	})
	_, addr := startServer(t, ServerConfig{}, h)
	throttled, other := dial(t, addr), dial(t, addr)

	start := time.Now()
	// Pipelined: the second request is already read when the first
	// response goes out.
	throttled.Write(append(frame(18, 0, 1, "c", nil), frame(18, 0, 2, "c", nil)...))
	if corr, _ := readResponse(t, throttled); corr != 1 || time.Since(start) >= throttle {
		t.Fatalf("first response (corr %d) came after %v, want at once", corr, time.Since(start))
	}
	// Another connection of the same client is not muted.
	other.Write(frame(18, 0, 3, "c", nil))
	if corr, _ := readResponse(t, other); corr != 3 || time.Since(start) >= throttle {
		t.Fatalf("another connection's response (corr %d) came after %v, want at once", corr, time.Since(start))
	}
	if corr, _ := readResponse(t, throttled); corr != 2 || time.Since(start) < throttle {
		t.Fatalf("request after the throttled one (corr %d) answered after %v, want no sooner than %v", corr, time.Since(start), throttle)
	}
}
