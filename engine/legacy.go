package engine

import (
	"encoding/binary"
	"math"
	"sync"
	"time"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/proto"
	"github.com/simpleserver-go/simpleserver/proto/legacy"
)

// The legacy transport serves clients of the original Python SimpleServer,
// unmodified, in their text format (package proto/legacy). Config's
// LegacyClients turns it on; a connection whose first byte is neither 0x00
// (protocol v1) nor the start of an HTTP GET (WebSocket) is then one.
//
// The format has no framing: the original takes every recv(1024) as one
// message and sends every message with one send. So inbound, everything
// one read brought is one message; outbound, every message leaves in a
// write(2) of its own, never joined to another (legacyflush.go). Original
// clients cannot answer a PING nor read a CLOSE frame: they get neither,
// and are never cut for idleness (TCP keep-alive finds dead ones).

// WithLegacyClients serves the original Python library's clients on the
// server's port too; see Config.LegacyClients.
func WithLegacyClients(v bool) Option { return func(c *Config) { c.LegacyClients = v } }

// legacyTr is the legacy transport. It has no per-connection state: the
// queue itself records where each message ends (see appendMessage).
var legacyTr transport = legacyTransport{}

type legacyTransport struct{}

// legacyRecordHead is the size of the length written before each message
// in a legacy client's queue, so that the flush can write them one by one.
const legacyRecordHead = 2

// read takes everything buffered as one message, as the original did with
// each recv(1024), and hands it on as a v1 payload.
func (legacyTransport) read(h *handler, gc gnet.Conn, c *Client, l *loopState) gnet.Action {
	n := gc.InboundBuffered()
	if n == 0 {
		return gnet.None
	}
	data, err := gc.Peek(n)
	if err != nil {
		return gnet.None
	}
	err = legacy.Decode(&l.legacyMsg, data, &h.s.cfg.Limits)
	_, _ = gc.Discard(n)
	c.frameStart.Store(0)
	if err != nil {
		return h.protocolError(c, err)
	}
	// A connection becomes a legacy client once its first message decodes:
	// a scanner's garbage raises no events.
	h.s.announce(c, true)
	l.legacyBuf, err = proto.AppendPayload(l.legacyBuf[:0], &l.legacyMsg)
	l.legacyMsg.Reset()
	if err != nil { // not reached: Decode admits valid names only
		return h.protocolError(c, err)
	}
	action := h.handlePayload(c, l, l.legacyBuf)
	c.resumeLegacyFlush() // a client that speaks has likely read: go on
	return action
}

// appendMessage appends m's legacy form as one record: its length, then
// the message.
func (legacyTransport) appendMessage(dst []byte, m *proto.Message) ([]byte, error) {
	n := len(dst)
	out, err := legacy.Append(append(dst, 0, 0), m)
	if err != nil {
		return dst[:n], err
	}
	binary.BigEndian.PutUint16(out[n:], uint16(len(out)-n-legacyRecordHead))
	return out, nil
}

// appendFrame appends the legacy record of a fan-out frame, built once per
// frame for all legacy targets, or returns why it has none.
func (legacyTransport) appendFrame(dst []byte, f *outFrame) ([]byte, error) {
	if !f.legacyBuilt {
		f.buildLegacy()
	}
	if f.legacyErr != nil {
		return dst, f.legacyErr
	}
	return append(dst, f.legacy...), nil
}

// Original clients know no control frames: nothing is sent for them.
func (legacyTransport) appendPing(dst, _ []byte) []byte                  { return dst }
func (legacyTransport) appendPong(dst, _ []byte) []byte                  { return dst }
func (legacyTransport) appendClose(dst []byte, _ error, _ string) []byte { return dst }

// anyHeaders lets a frame with more headers than the receive limits be
// decoded again: it was encoded by this server, not received.
var anyHeaders = proto.Limits{MaxHeaders: math.MaxInt32}

// legacyScratch holds the messages buildLegacy decodes frames into.
var legacyScratch = sync.Pool{New: func() any { return new(proto.Message) }}

// buildLegacy derives the legacy record from the v1 frame.
func (f *outFrame) buildLegacy() {
	f.legacyBuilt = true
	m := legacyScratch.Get().(*proto.Message)
	defer func() { m.Reset(); legacyScratch.Put(m) }()
	if err := m.Decode(f.v1[proto.LengthSize+1:], &anyHeaders); err != nil {
		f.legacyErr = err // not reached: the frame was encoded by AppendFrame
		return
	}
	f.legacy, f.legacyErr = legacyTr.appendMessage(nil, m)
}

// heartbeatExempt reports whether c is spared PINGs and the idle timeout:
// a legacy client, or, when legacy clients are served, a connection that
// has not spoken yet and may be one.
func (c *Client) heartbeatExempt() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tr == legacyTr || c.tr == (undetermined{})
}

// httpMethods are the request methods of RFC 9110, each with its space.
var httpMethods = []string{"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "CONNECT ", "OPTIONS ", "TRACE ", "PATCH "}

// isHTTPRequest reports whether the first read of a connection starts with
// an HTTP method and a space. When legacy clients are served, one whose
// first read does not is one: a read is one legacy message, while an HTTP
// client sends its request line at once.
func isHTTPRequest(gc gnet.Conn) bool {
	head, err := gc.Peek(min(gc.InboundBuffered(), len("OPTIONS ")))
	if err != nil {
		return false
	}
	for _, m := range httpMethods {
		if len(head) >= len(m) && string(head[:len(m)]) == m {
			return true
		}
	}
	return false
}

// legacyKeepAlive is the TCP keep-alive idle time when legacy clients are
// served: they get no heartbeat, so the kernel finds dead peers (probes
// every 1/5 of it, 5 of them: a dead peer goes within about a minute more).
const legacyKeepAlive = 30 * time.Second

// tcpKeepAlive is gnet's TCPKeepAlive option: on for legacy clients only.
func (s *Server) tcpKeepAlive() time.Duration {
	if s.cfg.LegacyClients {
		return legacyKeepAlive
	}
	return 0
}

// skippedSend counts a fan-out target skipped because its transport cannot
// carry the message.
func (s *Server) skippedSend(c *Client, err error) {
	s.stats.skipped.Add(1)
	s.log.Debug("simpleserver: message not sent", "client", c.id, "addr", c.addr.String(), "err", err.Error())
}
