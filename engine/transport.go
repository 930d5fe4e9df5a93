package engine

import (
	"sync"

	"github.com/valyala/bytebufferpool"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/proto"
)

// How a connection's bytes become payloads, and payloads bytes again.
//
// Every client has a transport (its codec), chosen from the first bytes it
// sends (detect): protocol v1 over TCP, WebSocket, ... Inbound, the
// transport's read turns everything buffered on the connection into v1
// payloads (kind byte + rest) for handlePayload, resuming at any byte
// boundary: it consumes only complete units and loops over all of them,
// since gnet calls OnTraffic again only when new bytes arrive. Outbound, the
// append methods write a payload in the transport's framing into the
// client's queue; they run under c.mu from any goroutine, so they must not
// touch loop-only state.
//
// A connection that has sent nothing yet has the undetermined transport: it
// is no client yet (no OnConnection, nothing can be sent to it). When only
// protocol v1 is enabled there is nothing to detect and OnOpen gives every
// connection the v1 transport at once, as before transports existed.
type transport interface {
	// read handles every complete unit buffered on gc and returns the
	// action for OnTraffic. It runs on c's loop.
	read(h *handler, gc gnet.Conn, c *Client, l *loopState) gnet.Action
	// appendMessage appends m as one message on the wire.
	appendMessage(dst []byte, m *proto.Message) ([]byte, error)
	// appendFrame appends the v1 frame f.v1 (length prefix included) in
	// this transport's framing. f caches per-transport forms, so a fan-out
	// frames a payload once per transport, not once per client. It fails,
	// leaving dst as it was, only for a message the transport cannot carry
	// (the legacy format's legacy.ErrUnrepresentable).
	appendFrame(dst []byte, f *outFrame) ([]byte, error)
	// appendPing appends the server's heartbeat PING carrying data.
	appendPing(dst, data []byte) []byte
	// appendPong appends the answer to a v1 PING payload carrying data.
	appendPong(dst, data []byte) []byte
	// appendClose appends the last thing sent before closing, telling the
	// peer why: reason is the disconnect reason, text the words for it.
	appendClose(dst []byte, reason error, text string) []byte
}

// outFrame is one encoded v1 frame on its way to one or many clients, with
// the forms other transports derived from it, built at most once each.
// It belongs to one goroutine, except a PreparedMessage's, which is built
// complete and then only read.
type outFrame struct {
	v1 []byte                     // length prefix and payload
	ws wsFrameHead                // WebSocket's header for it (websocket.go)
	bb *bytebufferpool.ByteBuffer // owns v1 for a fan-out frame (encodeShared)

	// The legacy form (legacy.go): its queue record, or why there is none.
	legacy      []byte
	legacyErr   error
	legacyBuilt bool
}

// detect picks the transport of a connection from the first byte it sent.
// A v1 frame starts with 0x00 (its length is far below 16 MiB; no v1 frame
// can start above 0x40) and an HTTP request with its method's capital
// letter (GET, HEAD, ...); a new transport adds its case here. Anything
// else is taken for v1, whose length check then refuses it as it always
// did.
func (s *Server) detect(first byte) transport {
	switch {
	case first == 0x00:
		return v1
	case first >= 'A' && first <= 'Z' && s.httpEnabled():
		return newHTTPTransport(s)
	case s.cfg.LegacyClients:
		return legacyTr
	}
	return v1
}

// detecting reports whether connections wait for their first bytes to be
// given a transport; with v1 alone there is nothing to choose.
func (s *Server) detecting() bool { return s.httpEnabled() || s.cfg.LegacyClients }

// undetermined is the transport of a connection that has sent nothing yet.
type undetermined struct{}

// read detects the transport from the first byte, then lets it read.
func (undetermined) read(h *handler, gc gnet.Conn, c *Client, l *loopState) gnet.Action {
	first, err := gc.Peek(1)
	if err != nil || len(first) == 0 {
		return gnet.None
	}
	t := h.s.detect(first[0])
	if t != v1 && t != legacyTr && h.s.cfg.LegacyClients && !isHTTPRequest(gc) {
		t = legacyTr // a legacy message that starts with a capital letter
	}
	c.setTransport(t)
	if t == v1 { // a legacy client once its first message decodes (legacy.go)
		h.s.announce(c, true)
	}
	return t.read(h, gc, c, l)
}

// Nothing is ever sent to an undetermined connection: it is no client yet.
func (undetermined) appendMessage(dst []byte, _ *proto.Message) ([]byte, error) { return dst, nil }
func (undetermined) appendFrame(dst []byte, _ *outFrame) ([]byte, error)        { return dst, nil }
func (undetermined) appendPing(dst, _ []byte) []byte                            { return dst }
func (undetermined) appendPong(dst, _ []byte) []byte                            { return dst }
func (undetermined) appendClose(dst []byte, _ error, _ string) []byte           { return dst }

// v1 is protocol v1 over TCP: docs/PROTOCOL.md, frames as they are.
var v1 transport = v1Transport{}

type v1Transport struct{}

// read handles every complete frame buffered on gc, zero-copy: payloads
// are slices of gnet's buffer, valid for the callback.
func (v1Transport) read(h *handler, gc gnet.Conn, c *Client, l *loopState) gnet.Action {
	maxFrame := h.s.cfg.Limits.MaxFrameSize
	for {
		buffered := gc.InboundBuffered()
		if buffered < proto.LengthSize {
			return gnet.None
		}
		head, _ := gc.Peek(proto.LengthSize)
		size, err := proto.FrameSize(head, maxFrame)
		if err != nil {
			return h.protocolError(c, err)
		}
		if buffered < size {
			return gnet.None
		}
		frame, err := gc.Peek(size)
		if err != nil {
			return gnet.None
		}
		action := h.handlePayload(c, l, frame[proto.LengthSize:])
		_, _ = gc.Discard(size)
		c.frameStart.Store(0)
		if action != gnet.None {
			return action
		}
	}
}

func (v1Transport) appendMessage(dst []byte, m *proto.Message) ([]byte, error) {
	return proto.AppendFrame(dst, m)
}

func (v1Transport) appendFrame(dst []byte, f *outFrame) ([]byte, error) {
	return append(dst, f.v1...), nil
}

func (v1Transport) appendPing(dst, data []byte) []byte { return proto.AppendPing(dst, data) }

func (v1Transport) appendPong(dst, data []byte) []byte { return proto.AppendPong(dst, data) }

func (v1Transport) appendClose(dst []byte, _ error, text string) []byte {
	return proto.AppendClose(dst, text)
}

// setTransport gives c its transport; c.mu orders it before any send.
func (c *Client) setTransport(t transport) {
	c.mu.Lock()
	c.tr = t
	c.mu.Unlock()
}

// sharedPool recycles the frames of Broadcast, MessageClients and room
// broadcasts (an outFrame handed to transports through an interface
// escapes, so a local one would be allocated each time).
var sharedPool = sync.Pool{New: func() any { return new(outFrame) }}

// encodeShared encodes m once for a fan-out; releaseShared recycles it.
func (s *Server) encodeShared(m *proto.Message) (*outFrame, error) {
	f := sharedPool.Get().(*outFrame)
	f.bb = s.outPool.Get()
	var err error
	if f.bb.B, err = proto.AppendFrame(f.bb.B[:0], m); err != nil {
		s.releaseShared(f)
		return nil, err
	}
	f.v1 = f.bb.B
	return f, nil
}

// releaseShared recycles a frame from encodeShared.
func (s *Server) releaseShared(f *outFrame) {
	s.outPool.Put(f.bb)
	*f = outFrame{legacy: f.legacy[:0]} // keeps the legacy form's storage
	sharedPool.Put(f)
}

// prepare builds every transport's form of f at once, for a frame that
// will be shared between goroutines (PreparedMessage).
func (f *outFrame) prepare() {
	f.ws.build(len(f.v1) - proto.LengthSize)
	f.buildLegacy()
}

// releaser is a transport holding pooled reading state, released by
// OnClose on the loop.
type releaser interface{ release() }
