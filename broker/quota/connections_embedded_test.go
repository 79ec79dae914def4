package quota_test

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/samsa-io/samsa/broker/embedded"
)

// apiVersionsRoundTrip opens a connection to addr and sends ApiVersions
// v0; it reports whether an answer came back (the broker served the
// connection) rather than the connection being closed.
func apiVersionsRoundTrip(t *testing.T, addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Errorf("dial: %v", err)
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var req []byte
	req = binary.BigEndian.AppendUint32(req, 2+2+4+2)
	req = binary.BigEndian.AppendUint16(req, 18) // ApiVersions
	req = binary.BigEndian.AppendUint16(req, 0)
	req = binary.BigEndian.AppendUint32(req, 1)
	req = binary.BigEndian.AppendUint16(req, 0) // client ID ""
	if _, err := c.Write(req); err != nil {
		return false
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return false
	}
	_, err = io.ReadFull(c, make([]byte, binary.BigEndian.Uint32(size[:])))
	return err == nil
}

// connectAtOnce opens n connections at once and returns how many were served
// and how long the last one took.
func connectAtOnce(t *testing.T, addr string, n int) (served int, took time.Duration) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := apiVersionsRoundTrip(t, addr)
			mu.Lock()
			defer mu.Unlock()
			if ok {
				served++
			}
		}()
	}
	wg.Wait()
	return served, time.Since(start)
}

func TestBrokerOverMaxConnectionCreationRateDelaysABurstOfConnections(t *testing.T) {
	overrides := map[string]string{"max.connection.creation.rate": "20"}
	for k, v := range shortWindow {
		overrides[k] = v
	}
	c := startCluster(t, embedded.Config{Overrides: overrides})
	// 20 connections are within the rate; the 20 after them wait for
	// the listener, paused until the rate is back under 20/s.
	served, took := connectAtOnce(t, c.Seeds()[0], 40)
	if served != 40 {
		t.Errorf("%d of 40 connections served, want all: the broker-wide rate delays, it does not refuse", served)
	}
	if took < 500*time.Millisecond {
		t.Errorf("40 connections at 20/s were all served in %v, want the second 20 delayed", took)
	}
}

func TestAddressOverItsConnectionCreationRateHasConnectionsRefused(t *testing.T) {
	c := startCluster(t, embedded.Config{Overrides: shortWindow})
	adm := kadm.NewClient(newClient(t, c.Seeds()))
	alter(t, adm, kadm.ClientQuotaEntity{{Type: "ip", Name: str("127.0.0.1")}}, set("connection_creation_rate", 5))
	served, _ := connectAtOnce(t, c.Seeds()[0], 20)
	if served < 5 || served > 10 {
		t.Errorf("%d of 20 connections from an address allowed 5/s were served, want 5 to 10", served)
	}
}
