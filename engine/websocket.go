package engine

import (
	"errors"
	"strconv"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// wsTransport is protocol v1 over WebSocket (docs/PROTOCOL.md): one binary
// message carries one v1 payload; a text message is a headerless MESSAGE
// whose body is the text. Its reading state is loop-only; the append
// methods use none of it. An open connection costs this struct alone: the
// Assembler takes a buffer from a pool only while a fragmented message is
// arriving.
type wsTransport struct {
	asm wsproto.Assembler
}

// headerless is the start of a headerless MESSAGE payload: kind, 0 headers.
var headerless = []byte{byte(proto.KindMessage), 0}

func newWSTransport(s *Server) *wsTransport {
	t := &wsTransport{}
	t.asm.MaxMessage = int64(s.cfg.Limits.MaxFrameSize)
	t.asm.TextPrefix = headerless
	return t
}

// read handles every complete frame buffered on gc. A frame is handled
// once it is whole (its size is known, and checked against the limit, from
// its header); it is unmasked in place, so a single-frame message is
// handed on zero-copy, as v1 frames are.
func (t *wsTransport) read(h *handler, gc gnet.Conn, c *Client, l *loopState) gnet.Action {
	for {
		buffered := gc.InboundBuffered()
		if buffered < 2 {
			return gnet.None
		}
		head, err := gc.Peek(min(buffered, wsproto.MaxHeaderSize))
		if err != nil {
			return gnet.None
		}
		hd, hn, err := wsproto.ParseHeader(head)
		if err == nil && hn > 0 {
			err = t.asm.CheckHeader(&hd)
		}
		switch {
		case errors.Is(err, wsproto.ErrMessageTooBig):
			return h.wsError(c, err, "payload over "+strconv.FormatInt(t.asm.MaxMessage, 10)+" bytes")
		case err != nil:
			return h.wsError(c, err, "")
		case hn == 0:
			return gnet.None
		}
		size := hn + int(hd.Length)
		if buffered < size {
			return gnet.None
		}
		frame, err := gc.Peek(size)
		if err != nil {
			return gnet.None
		}
		wsproto.Mask(frame[hn:], hd.Key, 0)
		action := t.frame(h, c, l, &hd, frame, hn)
		_, _ = gc.Discard(size)
		c.frameStart.Store(0)
		if action != gnet.None {
			return action
		}
	}
}

// frame handles one whole, unmasked frame: frame[hn:] is its payload.
func (t *wsTransport) frame(h *handler, c *Client, l *loopState, hd *wsproto.Header, frame []byte, hn int) gnet.Action {
	ev, err := t.asm.Frame(hd, frame[hn:])
	if err != nil {
		return h.wsError(c, err, "")
	}
	switch ev.Kind {
	case wsproto.EventPing:
		c.queueControl(func(b []byte) []byte {
			b = wsproto.AppendHeader(b, true, wsproto.OpPong, len(ev.Data), nil)
			return append(b, ev.Data...)
		})
	case wsproto.EventClose:
		return h.wsPeerClose(c, ev.Code, string(ev.Data))
	case wsproto.EventMessage:
		if ev.Op == wsproto.OpText && !ev.Reassembled {
			// The headerless MESSAGE's two bytes go over the end of the
			// header (the mask key, already read: a client frame's header
			// is at least 6 bytes).
			copy(frame[hn-len(headerless):], headerless)
			return t.message(h, c, l, frame[hn-len(headerless):])
		}
		return t.message(h, c, l, ev.Data)
	}
	return gnet.None // a fragment, or a pong: a sign of life as any traffic
}

// message hands one whole v1 payload on. A v1 CLOSE inside a binary
// message is answered like a WebSocket close, so the browser sees why.
func (t *wsTransport) message(h *handler, c *Client, l *loopState, payload []byte) gnet.Action {
	if len(payload) > 0 && proto.Kind(payload[0]) == proto.KindClose {
		return h.wsPeerClose(c, wsproto.CloseNormal, string(payload[1:]))
	}
	return h.handlePayload(c, l, payload)
}

// release returns the reassembly buffer, from OnClose on the loop.
func (t *wsTransport) release() { t.asm.Release() }

// wsError answers a WebSocket protocol violation: a close frame with its
// code and the reason, then the connection closes. OnDisconnect gets a
// *proto.ProtocolError wrapping the *wsproto.Error.
func (h *handler) wsError(c *Client, err error, detail string) gnet.Action {
	return h.protocolError(c, &proto.ProtocolError{Err: err, Detail: detail})
}

// wsPeerClose echoes the peer's close (RFC 6455 §5.5.1) and closes.
func (h *handler) wsPeerClose(c *Client, code int, reason string) gnet.Action {
	c.mu.Lock()
	if !c.closing && !c.closed {
		c.closing = true
		c.setReasonLocked(&PeerCloseError{Reason: reason, Code: code})
		c.pend = wsproto.AppendClose(c.pend, code, "")
	}
	c.mu.Unlock()
	c.flushOnLoop()
	return gnet.Close
}

func (*wsTransport) appendMessage(dst []byte, m *proto.Message) ([]byte, error) {
	n := len(dst)
	dst = wsproto.AppendHeader(dst, true, wsproto.OpBinary, m.PayloadSize(), nil)
	out, err := proto.AppendPayload(dst, m)
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

func (*wsTransport) appendFrame(dst []byte, f *outFrame) ([]byte, error) {
	if f.ws.n == 0 {
		f.ws.build(len(f.v1) - proto.LengthSize)
	}
	dst = append(dst, f.ws.b[:f.ws.n]...)
	return append(dst, f.v1[proto.LengthSize:]...), nil
}

// appendPing is a WebSocket ping: browsers answer it by themselves.
func (*wsTransport) appendPing(dst, data []byte) []byte {
	data = data[:min(len(data), wsproto.MaxControlPayload)]
	dst = wsproto.AppendHeader(dst, true, wsproto.OpPing, len(data), nil)
	return append(dst, data...)
}

// appendPong answers a v1 PING (sent in a binary message) in kind.
func (*wsTransport) appendPong(dst, data []byte) []byte {
	dst = wsproto.AppendHeader(dst, true, wsproto.OpBinary, 1+len(data), nil)
	dst = append(dst, byte(proto.KindPong))
	return append(dst, data...)
}

func (*wsTransport) appendClose(dst []byte, reason error, text string) []byte {
	return wsproto.AppendClose(dst, closeCode(reason), text)
}

// wsFrameHead is the WebSocket header of an outFrame's payload: server
// frames are unmasked, so it is the same for every recipient.
type wsFrameHead struct {
	b [10]byte
	n uint8 // 0: not built yet
}

func (w *wsFrameHead) build(payloadLen int) {
	w.n = uint8(len(wsproto.AppendHeader(w.b[:0], true, wsproto.OpBinary, payloadLen, nil)))
}
