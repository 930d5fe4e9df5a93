package engine

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/proto"
)

// addrCap counts clients per source address for MaxConnectionsPerAddr, so
// that one address cannot hold every slot. IPv6 addresses count per /64:
// a single host is routinely given a whole /64.
//
// It is keyed by the client's address: the TCP peer's (OnOpen), or for a
// connection from a trusted proxy the one in its PROXY header (proxyHeader).
type addrCap struct {
	mu sync.Mutex
	n  map[netip.Prefix]int32
}

// WithMaxConnectionsPerAddr caps concurrent clients per source address
// (IPv6: per /64); see Config.MaxConnectionsPerAddr.
func WithMaxConnectionsPerAddr(n int) Option {
	return func(c *Config) { c.MaxConnectionsPerAddr = n }
}

// addrKey returns the prefix a connection from a counts against.
func addrKey(a net.Addr) (netip.Prefix, bool) {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Prefix{}, false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// acquireAddr counts c against its address c.addr, or returns ErrAddrLimit
// when the address is at the cap. Addresses it cannot parse are not capped.
// c.addr must not change afterwards: releaseAddr derives the key from it.
func (s *Server) acquireAddr(c *Client) error {
	limit := s.cfg.MaxConnectionsPerAddr
	if limit <= 0 {
		return nil
	}
	k, ok := addrKey(c.addr)
	if !ok {
		return nil
	}
	m := &s.addrs
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n == nil {
		m.n = make(map[netip.Prefix]int32)
	}
	if m.n[k] >= int32(limit) {
		return ErrAddrLimit
	}
	m.n[k]++
	c.capped = true
	return nil
}

// releaseAddr undoes acquireAddr when c is gone.
func (s *Server) releaseAddr(c *Client) {
	if !c.capped {
		return
	}
	c.capped = false
	k, _ := addrKey(c.addr) // as acquireAddr found it
	m := &s.addrs
	m.mu.Lock()
	if m.n[k]--; m.n[k] <= 0 {
		delete(m.n, k)
	}
	m.mu.Unlock()
}

// refuse answers a connection refused at admission: CLOSE with the reason,
// then close.
func (s *Server) refuse(addr net.Addr, reason error) ([]byte, gnet.Action) {
	s.stats.refused.Add(1)
	s.logRefusal(addr, reason)
	return proto.AppendClose(nil, reason.Error()), gnet.Close
}

// logRefusal logs a refused connection, one line per logEvery, so that a
// flood of them cannot flood the log.
func (s *Server) logRefusal(addr net.Addr, reason error) {
	if ok, more := s.refusals.allow(time.Now()); ok {
		s.log.Warn("simpleserver: connection refused", "addr", addr.String(),
			"reason", reason.Error(), "refused_unlogged", more)
	}
}
