package controller

import (
	"net"
	"strconv"
	"strings"
)

// JoinEndpoints makes Broker.Endpoints from listener names and addresses.
func JoinEndpoints(names []string, hosts []string, ports []int32) string {
	eps := make([]string, len(names))
	for i := range names {
		eps[i] = strings.ToUpper(names[i]) + "://" + net.JoinHostPort(hosts[i], strconv.Itoa(int(ports[i])))
	}
	return strings.Join(eps, ",")
}

// Addr is where a client of the listener called name reaches the
// broker: that listener's address, as Kafka answers Metadata with the
// endpoints of the listener the request came in on; Host and Port when
// the broker registered no such listener.
func (b Broker) Addr(name string) (host string, port int32) {
	for _, ep := range strings.Split(b.Endpoints, ",") {
		l, hostPort, ok := strings.Cut(ep, "://")
		if !ok || !strings.EqualFold(l, name) {
			continue
		}
		h, p, err := net.SplitHostPort(hostPort)
		if n, perr := strconv.ParseInt(p, 10, 32); err == nil && perr == nil {
			return h, int32(n)
		}
	}
	return b.Host, b.Port
}
