package engine

import (
	"strconv"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// httpRequest is the transport of a connection that began like an HTTP
// request (a capital letter: GET, HEAD, ...):
// it waits for the whole request head (capped by
// WebSocketConfig.MaxRequestBytes, timed by Config.FrameTimeout as any
// started frame), then upgrades the connection to WebSocket, serves an
// HTTPPage, or answers an error status, and closes. Until it upgrades, the
// connection is no client and nothing is sent to it but the response.
type httpRequest struct{}

func newHTTPTransport(*Server) transport { return httpRequest{} }

// read parses the request head once it is complete and answers it.
func (httpRequest) read(h *handler, gc gnet.Conn, c *Client, l *loopState) gnet.Action {
	s := h.s
	ws := &s.cfg.WebSocket
	buffered := gc.InboundBuffered()
	b, err := gc.Peek(min(buffered, ws.MaxRequestBytes))
	if err != nil {
		return gnet.None
	}
	req, n, err := wsproto.ParseRequest(b, ws.MaxRequestBytes)
	switch {
	case err == wsproto.ErrRequestTooLarge:
		return h.httpAnswer(c, 431, "request head over "+strconv.Itoa(ws.MaxRequestBytes)+" bytes")
	case err != nil:
		return h.httpAnswer(c, 400, "malformed request")
	case n == 0:
		return gnet.None // the rest of the head is still on its way
	}
	if !req.IsUpgrade() && (!ws.Enabled || req.Path != ws.Path) {
		if page, ok := s.cfg.HTTPPages[req.Path]; ok && (req.Method == "GET" || req.Method == "HEAD") {
			resp := wsproto.AppendResponse(nil, 200, page.ContentType, page.Body)
			if req.Method == "HEAD" {
				resp = resp[:len(resp)-len(page.Body)]
			}
			c.queueRaw(resp)
			return gnet.Close
		}
		if req.Method != "GET" && req.Method != "HEAD" {
			return h.httpAnswer(c, 405, "method not allowed")
		}
		return h.httpAnswer(c, 404, "not found")
	}
	if !ws.Enabled || req.Path != ws.Path {
		return h.httpAnswer(c, 404, "no WebSocket endpoint at "+req.Path)
	}
	if status, why := req.CheckUpgrade(); status != 0 {
		return h.httpAnswer(c, status, why)
	}
	if !ws.originAllowed(&req) {
		return h.httpAnswer(c, 403, "origin not allowed")
	}
	sub := ws.subprotocolFor(&req)
	// The 101 is built in a pooled buffer: a per-connection one would be
	// garbage the GC leaves as RSS headroom after a burst of upgrades. With
	// nothing queued yet (the client is not announced: nobody can send to
	// it) it is written at once; otherwise it goes through the queue, so
	// that what follows keeps its order.
	bb := s.outPool.Get()
	bb.B = wsproto.AppendUpgradeResponse(bb.B[:0], req.Key, sub)
	c.mu.Lock()
	c.tr = newWSTransport(s)
	direct := len(c.pend) == 0
	if direct {
		_, _ = gc.Write(bb.B) // copies what the kernel does not take
		c.loop.counters.bytesOut.Add(uint64(len(bb.B)))
		c.gnetOut = gc.OutboundBuffered()
		c.backlog = c.gnetOut > 0
	} else {
		c.pend = append(c.pend, bb.B...)
	}
	c.mu.Unlock()
	s.outPool.Put(bb)
	if !direct {
		c.flushOnLoop()
		// Drop the buffer that carried the 101 (the second of pend's
		// pair): kept, it made an idle WebSocket client cost 1.39× a TCP
		// one in bench idle-10k.
		c.mu.Lock()
		c.spare = nil
		c.mu.Unlock()
	}
	_, _ = gc.Discard(n)
	c.frameStart.Store(0)
	s.log.Debug("simpleserver: websocket upgrade", "client", c.id, "addr", c.addr.String(), "subprotocol", sub)
	h.s.announce(c, true)
	return c.tr.read(h, gc, c, l) // frames sent right behind the request
}

// httpAnswer answers a request with an error status and closes.
func (h *handler) httpAnswer(c *Client, status int, why string) gnet.Action {
	h.s.log.Debug("simpleserver: http request refused", "addr", c.addr.String(), "status", status, "why", why)
	var extra []string
	switch status {
	case 426:
		extra = append(extra, "Sec-WebSocket-Version: 13", "Upgrade: websocket")
	case 405:
		extra = append(extra, "Allow: GET, HEAD")
	}
	c.queueRaw(wsproto.AppendResponse(nil, status, "text/plain; charset=utf-8", []byte(why+"\n"), extra...))
	return gnet.Close
}

// queueRaw writes b to the connection through its queue, on its loop.
func (c *Client) queueRaw(b []byte) {
	c.mu.Lock()
	c.pend = append(c.pend, b...)
	c.mu.Unlock()
	c.flushOnLoop()
}

// Nothing but the response is sent before the upgrade.
func (httpRequest) appendMessage(dst []byte, _ *proto.Message) ([]byte, error) { return dst, nil }
func (httpRequest) appendFrame(dst []byte, _ *outFrame) ([]byte, error)        { return dst, nil }
func (httpRequest) appendPing(dst, _ []byte) []byte                            { return dst }
func (httpRequest) appendPong(dst, _ []byte) []byte                            { return dst }
func (httpRequest) appendClose(dst []byte, _ error, _ string) []byte           { return dst }
