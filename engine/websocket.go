package engine

import (
	"strconv"

	"github.com/panjf2000/gnet/v2"
	"github.com/valyala/bytebufferpool"

	"github.com/simpleserver-go/simpleserver/engine/wsproto"
	"github.com/simpleserver-go/simpleserver/proto"
)

// wsTransport is protocol v1 over WebSocket (docs/PROTOCOL.md): one binary
// message carries one v1 payload; a text message is a headerless MESSAGE
// whose body is the text. Its fields are the reading state, loop-only; the
// append methods use none of them. An open connection costs this struct
// alone: a fragment buffer is taken from a pool only while a fragmented
// message is arriving.
type wsTransport struct {
	frag   *bytebufferpool.ByteBuffer // the v1 payload reassembled so far
	fragOp wsproto.Opcode             // OpText or OpBinary while reassembling
	text   wsproto.UTF8State          // the text so far, across fragments
}

// fragPool holds the buffers of fragmented messages.
var fragPool bytebufferpool.Pool

// read handles every complete frame buffered on gc. A frame is handled
// once it is whole (its size is known, and checked against the limit, from
// its header); it is unmasked in place, so a single-frame message is
// handed on zero-copy, as v1 frames are.
func (t *wsTransport) read(h *handler, gc gnet.Conn, c *Client, l *loopState) gnet.Action {
	maxPayload := int64(h.s.cfg.Limits.MaxFrameSize)
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
		switch {
		case err != nil:
			return h.wsError(c, err, "")
		case hn == 0:
			return gnet.None
		case !hd.Masked:
			return h.wsError(c, wsproto.ErrNotMasked, "")
		}
		if !hd.Op.IsControl() {
			total := hd.Length
			switch {
			case hd.Op == wsproto.OpContinuation && t.frag != nil:
				total += int64(len(t.frag.B))
			case hd.Op == wsproto.OpText:
				total += 2 // the headerless MESSAGE's kind and count bytes
			}
			if total > maxPayload {
				return h.wsError(c, wsproto.ErrMessageTooBig, "payload over "+strconv.FormatInt(maxPayload, 10)+" bytes")
			}
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
	payload := frame[hn:]
	switch hd.Op {
	case wsproto.OpPing:
		c.queueControl(func(b []byte) []byte {
			b = wsproto.AppendHeader(b, true, wsproto.OpPong, len(payload), nil)
			return append(b, payload...)
		})
		return gnet.None
	case wsproto.OpPong:
		return gnet.None // a sign of life, as any traffic
	case wsproto.OpClose:
		code, reason, err := wsproto.ParseClose(payload)
		if err != nil {
			return h.wsError(c, err, "")
		}
		return h.wsPeerClose(c, code, string(reason))
	case wsproto.OpContinuation:
		if t.frag == nil {
			return h.wsError(c, wsproto.ErrBadContinuation, "")
		}
		if t.fragOp == wsproto.OpText && !t.text.Write(payload) {
			return h.wsError(c, wsproto.ErrInvalidUTF8, "")
		}
		t.frag.B = append(t.frag.B, payload...)
		if !hd.Fin {
			return gnet.None
		}
		if t.fragOp == wsproto.OpText && !t.text.Done() {
			return h.wsError(c, wsproto.ErrInvalidUTF8, "")
		}
		action := t.message(h, c, l, t.frag.B)
		t.release()
		return action
	}
	// A new text or binary message.
	if t.frag != nil {
		return h.wsError(c, wsproto.ErrExpectedContinue, "")
	}
	text := hd.Op == wsproto.OpText
	if !hd.Fin {
		t.frag, t.fragOp = fragPool.Get(), hd.Op
		t.frag.B = t.frag.B[:0]
		if text {
			t.text.Reset()
			if !t.text.Write(payload) {
				return h.wsError(c, wsproto.ErrInvalidUTF8, "")
			}
			t.frag.B = append(t.frag.B, byte(proto.KindMessage), 0)
		}
		t.frag.B = append(t.frag.B, payload...)
		return gnet.None
	}
	if !text {
		return t.message(h, c, l, payload)
	}
	if !wsproto.ValidUTF8(payload) {
		return h.wsError(c, wsproto.ErrInvalidUTF8, "")
	}
	// The headerless MESSAGE's two bytes go over the end of the header
	// (the mask key, already read: a client frame's header is >= 6 bytes).
	frame[hn-2], frame[hn-1] = byte(proto.KindMessage), 0
	return t.message(h, c, l, frame[hn-2:])
}

// message hands one whole v1 payload on. A v1 CLOSE inside a binary
// message is answered like a WebSocket close, so the browser sees why.
func (t *wsTransport) message(h *handler, c *Client, l *loopState, payload []byte) gnet.Action {
	if len(payload) > 0 && proto.Kind(payload[0]) == proto.KindClose {
		return h.wsPeerClose(c, wsproto.CloseNormal, string(payload[1:]))
	}
	return h.handlePayload(c, l, payload)
}

// release returns the fragment buffer; it runs on the loop (also from
// OnClose).
func (t *wsTransport) release() {
	if t.frag != nil {
		fragPool.Put(t.frag)
		t.frag, t.fragOp = nil, 0
	}
}

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

func (*wsTransport) appendFrame(dst []byte, f *outFrame) []byte {
	if f.ws.n == 0 {
		f.ws.build(len(f.v1) - proto.LengthSize)
	}
	dst = append(dst, f.ws.b[:f.ws.n]...)
	return append(dst, f.v1[proto.LengthSize:]...)
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
