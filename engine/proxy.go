package engine

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/proxyproto"
)

// PROXY protocol (Config.TrustedProxies).
//
// A connection from a trusted proxy must start with a v1 or v2 header; it
// is announced (OnConnection) only once the header is parsed, with the
// client's real address, so listeners never see the proxy's. The header is
// parsed from gnet's buffer on the loop, again on each read until it is
// whole (proxyproto.Parse needs no state), before any transport sees a
// byte. A trusted connection that sends no valid header within
// FrameTimeout, or a malformed one, is closed without events.
//
// A connection from any other address is announced at once, as without
// the feature: direct clients keep working. If it starts with a PROXY
// header anyway, someone is trying to choose their own address: it is
// disconnected with ErrProxyProtocol.

// Client.proxy states (loop-only).
const (
	proxyDone  uint8 = iota // no header expected, or it has been handled
	proxyAwait              // trusted: the header must come first; not announced yet
	proxySniff              // untrusted: refuse a header if one comes
)

// trustedProxy reports whether addr is in Config.TrustedProxies.
func (s *Server) trustedProxy(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return false
	}
	ap := ta.AddrPort()
	ip := ap.Addr().Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// proxyOnOpen sets c's PROXY state and reports whether its announcement
// must wait for the header.
func (s *Server) proxyOnOpen(c *Client) (wait bool) {
	if len(s.cfg.TrustedProxies) == 0 {
		return false
	}
	if s.trustedProxy(c.addr) {
		c.proxy = proxyAwait
		c.frameStart.Store(c.lastRecv.Load()) // FrameTimeout bounds the wait
		return true
	}
	c.proxy = proxySniff
	return false
}

// proxyHeader handles the start of the stream while c.proxy is not
// proxyDone. It reports ok when the rest of OnTraffic should proceed;
// otherwise OnTraffic returns action.
func (h *handler) proxyHeader(gc gnet.Conn, c *Client) (action gnet.Action, ok bool) {
	s := h.s
	b, _ := gc.Peek(min(gc.InboundBuffered(), proxyproto.MaxV2Size))
	if c.proxy == proxySniff {
		match, need := proxyproto.Match(b)
		switch {
		case need:
			return gnet.None, false
		case match:
			return h.proxyReject(c, "header from untrusted address "+c.addr.String()), false
		}
		c.proxy = proxyDone
		return gnet.None, true
	}
	hdr, n, err := proxyproto.Parse(b)
	switch err {
	case nil:
	case proxyproto.ErrIncomplete:
		return gnet.None, false
	case proxyproto.ErrNoHeader:
		return h.proxyReject(c, "no header from trusted proxy "+c.addr.String()), false
	default:
		return h.proxyReject(c, err.Error()), false
	}
	_, _ = gc.Discard(n)
	c.loop.counters.bytesIn.Add(uint64(n))
	if !hdr.Local {
		c.addr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(hdr.Source.Addr().Unmap(), hdr.Source.Port()))
	}
	if err := s.acquireAddr(c); err != nil {
		return h.refuseAfterHeader(gc, c, err), false
	}
	c.proxy = proxyDone
	c.frameStart.Store(0)
	s.log.Debug("simpleserver: PROXY header read", "client", c.id, "addr", c.addr.String(), "proxy", gc.RemoteAddr().String())
	if s.sessionsOn() {
		// OnOpen left this to now: the client speaks after the header, and
		// its first frame may open a session (session.go).
		s.awaitHello(c)
	}
	if s.detecting() {
		s.awaitFirstBytes(c) // what follows says which transport
	} else {
		s.announce(c, false)
	}
	return gnet.None, true
}

// refuseAfterHeader refuses c, over its cap by the address in its PROXY
// header, as OnOpen refuses a direct connection: with WebSocket on it is
// held and answered in what it speaks at its first bytes (refuse.go; a
// browser could not read a v1 CLOSE), its admission undone; otherwise it
// is sent a v1 CLOSE (even when its transport is still to be detected,
// whose CLOSE is nothing).
func (h *handler) refuseAfterHeader(gc gnet.Conn, c *Client, err error) gnet.Action {
	s := h.s
	if s.holdRefused(gc, c.addr, err) {
		s.retire(c, nil) // its OnClose is a refused connection's now
		if gc.InboundBuffered() > 0 {
			return h.refusedTraffic(gc, gc.Context().(*refusedConn)) // its first bytes came with the header
		}
		return gnet.None
	}
	s.logRefusal(c.addr, err)
	c.setTransport(v1)
	return h.fail(c, err, err.Error()) // counted refused by closeUnannounced
}

// proxyReject closes c for a bad or unwelcome PROXY header.
func (h *handler) proxyReject(c *Client, detail string) gnet.Action {
	err := fmt.Errorf("%w: %s", ErrProxyProtocol, detail)
	h.s.log.Warn("simpleserver: connection refused", "client", c.id, "addr", c.addr.String(), "err", err.Error())
	return h.fail(c, err, err.Error())
}

// closeUnannounced is OnClose for a connection listeners never heard of:
// one refused for its PROXY header, an HTTP request, or one still silent
// (or waiting for its header) when Stop began.
func (h *handler) closeUnannounced(c *Client, err error) {
	s := h.s
	reason := s.retire(c, err)
	if c.proxy == proxyAwait {
		s.stats.refused.Add(1)
	}
	s.log.Debug("simpleserver: connection closed before it was a client", "client", c.id, "addr", c.addr.String(), "reason", reason.Error())
}
