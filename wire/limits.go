package wire

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// ConnLimits are Kafka's connection quotas, shared by every listener of a
// broker and changeable while it runs (they are dynamic broker configs):
//
//   - max.connections: when the broker holds this many connections, its
//     listeners stop accepting until one closes (Kafka blocks its acceptor
//     the same way; the client's connect waits in the listen backlog).
//   - max.connections.per.ip, and max.connections.per.ip.overrides for
//     single addresses: a connection over its address's limit is accepted
//     and closed at once, as Kafka does.
type ConnLimits struct {
	mu        sync.Mutex
	freed     chan struct{} // closed and replaced when a connection ends or limits change
	max       int
	perIP     int
	overrides map[netip.Addr]int
	total     int
	byIP      map[netip.Addr]int
	creation  CreationRate // connection creation rates (creation_rate.go); nil: none
}

// NewConnLimits returns limits allowing maxConns connections in all and
// perIP per address, with overrides per address.
func NewConnLimits(maxConns, perIP int, overrides map[netip.Addr]int) *ConnLimits {
	l := &ConnLimits{freed: make(chan struct{}), byIP: make(map[netip.Addr]int)}
	l.Set(maxConns, perIP, overrides)
	return l
}

// Set replaces the limits. Connections already open stay open.
func (l *ConnLimits) Set(maxConns, perIP int, overrides map[netip.Addr]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.max, l.perIP, l.overrides = maxConns, perIP, overrides
	l.wakeLocked()
}

// waitForSlot blocks until fewer than max.connections are open, or ctx
// ends.
func (l *ConnLimits) waitForSlot(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.total < l.max {
			l.mu.Unlock()
			return nil
		}
		freed := l.freed
		l.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// admit counts a new connection from addr, or refuses it when its address
// is at its limit (the error says which).
func (l *ConnLimits) admit(addr net.Addr) (release func(), err error) {
	ip := addrIP(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	limit := l.perIP
	if n, ok := l.overrides[ip]; ok {
		limit = n
	}
	if l.byIP[ip] >= limit {
		return nil, fmt.Errorf("address %s already has the configured maximum of %d connections (max.connections.per.ip)", ip, limit)
	}
	l.byIP[ip]++
	l.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.byIP[ip]--; l.byIP[ip] <= 0 {
				delete(l.byIP, ip)
			}
			l.wakeLocked()
		})
	}, nil
}

func (l *ConnLimits) wakeLocked() {
	close(l.freed)
	l.freed = make(chan struct{})
}

// Open returns the number of connections counted now.
func (l *ConnLimits) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func addrIP(a net.Addr) netip.Addr {
	if tcp, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(tcp.IP); ok {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// ParseConnectionOverrides reads max.connections.per.ip.overrides:
// comma-separated host:count pairs ("hostName:100,127.0.0.1:200"). Host
// names are resolved now, as Kafka resolves them when the config is set;
// an IPv6 address is written in brackets ("[::1]:50").
func ParseConnectionOverrides(v string, resolve func(host string) ([]netip.Addr, error)) (map[netip.Addr]int, error) {
	out := make(map[netip.Addr]int)
	v = strings.TrimSpace(v)
	if v == "" {
		return out, nil
	}
	for _, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		i := strings.LastIndexByte(entry, ':')
		if i <= 0 {
			return nil, fmt.Errorf("%q is not host:count", entry)
		}
		host := strings.TrimSuffix(strings.TrimPrefix(entry[:i], "["), "]")
		count, err := strconv.Atoi(strings.TrimSpace(entry[i+1:]))
		if err != nil || count < 0 {
			return nil, fmt.Errorf("%q: the count must be a non-negative integer", entry)
		}
		var addrs []netip.Addr
		if ip, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{ip.Unmap()}
		} else if resolve == nil {
			return nil, fmt.Errorf("%q: %q is not an IP address", entry, host)
		} else if addrs, err = resolve(host); err != nil || len(addrs) == 0 {
			return nil, fmt.Errorf("%q: cannot resolve %q: %v", entry, host, err)
		}
		for _, a := range addrs {
			out[a.Unmap()] = count
		}
	}
	return out, nil
}
