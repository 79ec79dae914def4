package quota

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// ConnectionRates are Kafka's connection creation rate quotas (KIP-612):
// max.connection.creation.rate for the whole broker (every listener but
// the inter-broker one), listener.name.<l>.max.connection.creation.rate
// for one listener, and connection_creation_rate for IP addresses
// (ips/<ip>, ips/<default>, set with AlterClientQuotas). It implements
// wire.CreationRate.
//
// As in Kafka, a broker over its rate keeps the connection it accepted
// but pauses its listener for the throttle time, so later clients wait
// in the listen backlog; an address over its rate has its new
// connection closed after the throttle time, and that connection is
// not counted. Either throttle is at most quota.window.size.seconds.
type ConnectionRates struct {
	window Window

	mu     sync.Mutex
	broker int64 // connections per second; math.MaxInt32 and above: none
	// interBroker is the listener the broker-wide rate leaves alone.
	interBroker string
	listeners   map[string]int64 // per listener name
	listenerAt  map[string]*Rate
	ipDefault   int64
	ips         map[netip.Addr]int64
	brokerAt    *Rate
	ipAt        map[netip.Addr]*Rate
	accepts     int // since the last sweep of idle addresses' rates
}

// NewConnectionRates returns rates with no limits, measured over w.
func NewConnectionRates(w Window) *ConnectionRates {
	return &ConnectionRates{window: w.normalized(), broker: math.MaxInt32, ipDefault: math.MaxInt32,
		brokerAt: NewRate(w), ipAt: map[netip.Addr]*Rate{}, listeners: map[string]int64{}, listenerAt: map[string]*Rate{}}
}

// SetListeners replaces the per-listener rates (by listener name) and
// names the listener the broker-wide rate does not bound: the
// inter-broker one when the broker has others, as in Kafka, so brokers
// always reach each other ("": none).
func (r *ConnectionRates) SetListeners(rates map[string]int32, interBroker string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listeners = make(map[string]int64, len(rates))
	for name, v := range rates {
		r.listeners[name] = int64(v)
	}
	r.interBroker = interBroker
}

// Set replaces the limits: the broker-wide rate, and the IP entities'
// configs as the store lists them ("ips/10.0.0.1", "ips/<default>").
func (r *ConnectionRates) Set(brokerRate int32, ipEntities map[string]map[string]string) {
	ipDefault := int64(math.MaxInt32)
	ips := map[netip.Addr]int64{}
	for path, configs := range ipEntities {
		v, ok := configs[ConnectionCreationRate]
		if !ok {
			continue
		}
		f, err := ParseValue(ConnectionCreationRate, v)
		if err != nil {
			continue
		}
		name := path[len("ips/"):]
		if name == Default {
			ipDefault = int64(f)
		} else if ip, err := netip.ParseAddr(name); err == nil {
			ips[ip.Unmap()] = int64(f)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.broker, r.ipDefault, r.ips = int64(brokerRate), ipDefault, ips
}

// Accepted records a connection accepted on listener from ip at now. It
// returns how long the listener pauses before accepting again (the
// broker is over its rate), or, when ip is over its own rate, how long
// to hold the connection before closing it (and the connection is not
// counted).
func (r *ConnectionRates) Accepted(listener string, ip netip.Addr, now time.Time) (pause, closeAfter time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	limit, ok := r.ips[ip]
	if !ok {
		limit = r.ipDefault
	}
	if r.accepts++; r.accepts >= sweepEvery {
		r.accepts = 0
		for addr, rate := range r.ipAt {
			if total, _ := rate.totalAndSpan(now); total == 0 {
				delete(r.ipAt, addr) // every sample expired
			}
		}
	}
	if limit < math.MaxInt32 {
		rate := r.ipAt[ip]
		if rate == nil {
			rate = NewRate(r.window)
			r.ipAt[ip] = rate
		}
		rate.Record(now, 1)
		if d := rate.ThrottleTime(now, float64(limit)); d > 0 {
			rate.Record(now, -1)
			return 0, min(d, r.window.Size)
		}
	}
	if limit, ok := r.listeners[listener]; ok && limit < math.MaxInt32 {
		rate := r.listenerAt[listener]
		if rate == nil {
			rate = NewRate(r.window)
			r.listenerAt[listener] = rate
		}
		rate.Record(now, 1)
		pause = min(rate.ThrottleTime(now, float64(limit)), r.window.Size)
	}
	if r.broker < math.MaxInt32 && listener != r.interBroker {
		r.brokerAt.Record(now, 1)
		pause = max(pause, min(r.brokerAt.ThrottleTime(now, float64(r.broker)), r.window.Size))
	}
	return pause, 0
}
