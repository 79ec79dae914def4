package zk

import (
	"testing"
	"time"

	"github.com/samsa-io/samsa/controller"
)

func TestBrokerRegistrationKeepsEveryListenersEndpoint(t *testing.T) {
	self := controller.Broker{ID: 2, Host: "b2", Port: 9092}
	data := encodeBrokerRegistration(self, []Endpoint{
		{Name: "INTERNAL", Host: "10.0.0.2", Port: 9092, SecurityProtocol: "PLAINTEXT"},
		{Name: "EXTERNAL", Host: "b2.example.com", Port: 9093, SecurityProtocol: "SSL"},
	}, time.Now())
	b, err := decodeBrokerRegistration(2, data)
	if err != nil {
		t.Fatal(err)
	}
	if b.Host != "10.0.0.2" || b.Port != 9092 {
		t.Errorf("address %s:%d, want the first endpoint 10.0.0.2:9092", b.Host, b.Port)
	}
	if h, p := b.Addr("EXTERNAL"); h != "b2.example.com" || p != 9093 {
		t.Errorf("EXTERNAL at %s:%d, want b2.example.com:9093", h, p)
	}
	if h, p := b.Addr("UNKNOWN"); h != "10.0.0.2" || p != 9092 {
		t.Errorf("an unregistered listener falls back to the first endpoint, got %s:%d", h, p)
	}
}
