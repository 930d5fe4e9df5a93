package engine

import (
	"net"
	"time"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// Refusals a browser can read.
//
// A connection refused at admission (server full, too many from its
// address) is refused in OnOpen, before it has said what it speaks. A
// protocol v1 client reads the CLOSE sent at once; a browser cannot: its
// WebSocket sees the TCP connection end before any handshake, close code
// 1006, the same as a network failure. So with WebSocket on, a refused
// connection is held until its first bytes: a WebSocket upgrade is
// completed and closed at once with 1013 (try again later) and the
// reason, any other HTTP request is answered 503, and anything else gets
// the v1 CLOSE as before. Held connections are no clients (no events, not
// counted in NumClients), bounded in number (maxHeldRefusals: past it they
// are refused at once, as before; each holds an fd, which the fd budget
// reserves, see rlimit.go) and in time (refusalWait).

const refusalWait = 5 * time.Second

// refusedConn is the context of a held refused connection.
type refusedConn struct {
	reason error
	timer  *time.Timer
}

// refuseConn refuses gc in OnOpen: held for its first bytes when a
// browser may be on the other end (see above), else CLOSE at once.
func (s *Server) refuseConn(gc gnet.Conn, reason error) ([]byte, gnet.Action) {
	if s.holdRefused(gc, gc.RemoteAddr(), reason) {
		return nil, gnet.None
	}
	return s.refuse(gc.RemoteAddr(), reason)
}

// holdRefused holds gc, refused for reason, for its first bytes, when a
// browser may be on the other end and fewer than maxHeldRefusals are held;
// it reports whether it did. addr is the client's (behind a proxy, the one
// in its PROXY header).
func (s *Server) holdRefused(gc gnet.Conn, addr net.Addr, reason error) bool {
	if !s.cfg.WebSocket.Enabled {
		return false
	}
	if s.heldRefusals.Add(1) > maxHeldRefusals {
		s.heldRefusals.Add(-1)
		return false
	}
	s.stats.refused.Add(1)
	s.logRefusal(addr, reason)
	r := &refusedConn{reason: reason}
	gc.SetContext(r)
	r.timer = time.AfterFunc(refusalWait, func() { _ = gc.Close() })
	return true
}

// refusedTraffic answers a held refused connection's first bytes.
func (h *handler) refusedTraffic(gc gnet.Conn, r *refusedConn) gnet.Action {
	s := h.s
	buffered := gc.InboundBuffered()
	first, err := gc.Peek(1)
	if err != nil || len(first) == 0 {
		return gnet.None
	}
	text := r.reason.Error()
	if !(first[0] >= 'A' && first[0] <= 'Z') || (s.cfg.LegacyClients && !isHTTPRequest(gc)) {
		_, _ = gc.Write(proto.AppendClose(nil, text))
		return gnet.Close
	}
	ws := &s.cfg.WebSocket
	b, err := gc.Peek(min(buffered, ws.MaxRequestBytes))
	if err != nil {
		return gnet.None
	}
	req, n, err := wsproto.ParseRequest(b, ws.MaxRequestBytes)
	switch {
	case err != nil:
		return gnet.Close
	case n == 0:
		return gnet.None // the rest of the head is on its way (refusalWait bounds it)
	}
	if status, _ := req.CheckUpgrade(); status != 0 || !req.IsUpgrade() || req.Path != ws.Path || !ws.originAllowed(&req) {
		_, _ = gc.Write(wsproto.AppendResponse(nil, 503, "text/plain; charset=utf-8", []byte(text+"\n"), "Retry-After: 1"))
		return gnet.Close
	}
	out := wsproto.AppendUpgradeResponse(nil, req.Key, ws.subprotocolFor(&req))
	out = wsproto.AppendClose(out, closeCode(r.reason), text)
	_, _ = gc.Write(out)
	return gnet.Close
}

// refusedClosed forgets a held refused connection (OnClose).
func (s *Server) refusedClosed(r *refusedConn) {
	r.timer.Stop()
	s.heldRefusals.Add(-1)
}
