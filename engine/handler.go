package engine

import (
	"errors"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/simpleserver-go/simpleserver/internal/gnet"

	"github.com/simpleserver-go/simpleserver/proto"
)

// handler adapts gnet's callbacks to the server. OnOpen, OnTraffic and
// OnClose run on the connection's event loop; OnTick on gnet's ticker
// goroutine; OnBoot on the goroutine running gnet.Run.
type handler struct {
	gnet.BuiltinEventEngine
	s *Server
}

// OnBoot records the engine and the address clients connect to (the
// acceptor's, with the real port when Port was 0) and releases StartAsync.
func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	s := h.s
	addr := s.acc.booted()
	s.mu.Lock()
	s.eng, s.addr = eng, addr
	s.mu.Unlock()
	s.bootCh <- nil
	return gnet.None
}

// OnOpen admits a connection (or refuses it with CLOSE) and announces it.
func (h *handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := h.s
	// Count first, then check draining: Stop sets draining before it
	// reads numConns, so either it waits for this client or we refuse it.
	n := s.numConns.Add(1)
	if s.draining.Load() {
		s.numConns.Add(-1)
		s.stats.refused.Add(1)
		return proto.AppendClose(nil, ErrServerShutdown.Error()), gnet.Close
	}
	if s.cfg.MaxConnections > 0 && n > int64(s.cfg.MaxConnections) {
		s.numConns.Add(-1)
		return s.refuseConn(gc, ErrServerFull)
	}
	c := &Client{
		id:    s.nextID.Add(1),
		srv:   s,
		gc:    gc,
		fd:    int32(gc.Fd()),
		addr:  gc.RemoteAddr(),
		loop:  s.loopFor(gc.EventLoop()),
		slots: [2]int32{-1, -1},
		tr:    v1,
	}
	// From a trusted proxy, the cap applies to the address in the PROXY
	// header (proxyHeader).
	if !s.trustedProxy(c.addr) {
		if err := s.acquireAddr(c); err != nil {
			s.numConns.Add(-1)
			return s.refuseConn(gc, err)
		}
	}
	if s.detecting() {
		// It becomes a client once its first bytes say what it speaks.
		c.tr = undetermined{} // before the sweep can see c
	}
	c.lastRecv.Store(time.Now().UnixNano())
	gc.SetContext(c)
	s.stats.connsTotal.Add(1)
	c.loop.conns.add(c)
	if s.proxyOnOpen(c) {
		// Its transport and session wait for its PROXY header (proxy.go).
		return nil, gnet.None
	}
	if s.sessionsOn() {
		s.awaitHello(c) // announced at its first frame, unless a HELLO (session.go)
	}
	if s.detecting() {
		s.awaitFirstBytes(c)
		return nil, gnet.None
	}
	s.announce(c, false)
	return nil, gnet.None
}

// announce makes c a client: it joins the registry and OnConnection fires.
// It runs on c's loop, inside OnTraffic's flush scope when inTraffic is
// set. A connection that is never announced (an HTTP request, one closed
// while silent or waiting for its PROXY header) produces no events.
func (s *Server) announce(c *Client, inTraffic bool) {
	l := c.loop
	if c.announced || c.sx&sxHelloWait != 0 {
		return // (a session's first frame decides: session.go)
	}
	c.announced = true
	if s.debugOn() {
		s.log.Debug("simpleserver: client connected", "client", c.id, "addr", c.addr.String())
	}
	switch {
	case s.cfg.Inline && inTraffic: // OnTraffic's scope is open
		s.reg.add(c)
		s.fireConnection(c)
	case s.cfg.Inline:
		l.scope.begin()
		s.reg.add(c)
		s.fireConnection(c)
		s.endLoopScope(l)
	case inTraffic: // before the messages this OnTraffic stages
		ev := l.cur.next()
		ev.kind, ev.c = evOpen, c
	default:
		s.pushEvent(l, evOpen, c, nil)
	}
}

// OnClose marks the client closed (no more direct writes) and announces it.
func (h *handler) OnClose(gc gnet.Conn, err error) gnet.Action {
	s := h.s
	s.acc.fdFreed()
	c, _ := gc.Context().(*Client)
	if c == nil {
		if r, ok := gc.Context().(*refusedConn); ok {
			s.refusedClosed(r)
		}
		return gnet.None // refused at admission
	}
	if c.carrier != nil {
		h.closeUnannounced(c, err)
		s.sessionConnClosed(c, c.reason) // a session's transport (session.go)
		return gnet.None
	}
	if !c.announced {
		c.sx = 0 // no late hello timeout
		h.closeUnannounced(c, err)
		return gnet.None
	}
	reason := s.retire(c, err)
	s.countDisconnect(reason)
	if s.debugOn() {
		s.log.Debug("simpleserver: client disconnected", "client", c.id, "addr", c.addr.String(), "reason", reason.Error())
	}
	if s.cfg.Inline {
		s.reg.remove(c)
		s.fireDisconnect(c, reason)
	} else {
		s.pushEvent(c.loop, evClose, c, reason)
	}
	return gnet.None
}

// retire is the part of OnClose that every connection goes through,
// announced or not: it marks c closed (no more direct writes), frees its
// buffers, its transport's and its admission slots, and returns why it went.
func (s *Server) retire(c *Client, err error) error {
	c.mu.Lock()
	c.closed = true
	c.setReasonLocked(peerReason(err))
	reason := c.reason
	c.pend, c.spare = nil, nil
	tr := c.tr
	c.mu.Unlock()
	if r, ok := tr.(releaser); ok {
		r.release()
	}
	c.loop.conns.remove(c)
	s.numConns.Add(-1)
	s.releaseAddr(c)
	return reason
}

// peerReason turns what gnet reports into a disconnect reason.
func peerReason(err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return ErrPeerGone
	}
	return &peerGoneError{err}
}

type peerGoneError struct{ err error }

// Error returns "client closed the connection: <cause>".
func (e *peerGoneError) Error() string { return ErrPeerGone.Error() + ": " + e.err.Error() }

// Unwrap returns ErrPeerGone and the cause, for errors.Is on either.
func (e *peerGoneError) Unwrap() []error {
	return []error{ErrPeerGone, e.err}
}

// OnTraffic handles every complete frame buffered on the connection.
func (h *handler) OnTraffic(gc gnet.Conn) gnet.Action {
	s := h.s
	c, ok := gc.Context().(*Client)
	if !ok {
		return h.refusedTraffic(gc, gc.Context().(*refusedConn))
	}
	l := c.loop
	now := time.Now().UnixNano()
	c.lastRecv.Store(now)
	if c.pingSent.Load() != 0 {
		c.pingSent.Store(0)
	}
	if c.proxy != proxyDone {
		if action, ok := h.proxyHeader(gc, c); !ok {
			return action
		}
	}
	if s.cfg.Inline {
		l.scope.begin()
		defer s.endLoopScope(l)
		if now >= s.tickDue.Load() {
			// gnet's loop does not yield while traffic keeps coming; with
			// one P the OnUpdate goroutine would wait for forced preemption.
			runtime.Gosched()
		}
	}
	buffered := gc.InboundBuffered()
	l.hint = buffered
	action := c.tr.read(h, gc, c, l)
	l.counters.bytesIn.Add(uint64(buffered - gc.InboundBuffered()))
	if !s.cfg.Inline && len(l.cur.evs) > 0 {
		s.pushStaged(l)
		// Let the dispatcher run now. gnet's loop yields only when a poll
		// finds nothing to do; under steady load it never does, and with
		// one P the dispatcher would wait for the 10 ms forced preemption.
		// Even when idle, gnet's yield can re-run the loop first (the
		// scheduler takes the global queue first once every 61 ticks), and
		// the loop then blocks in epoll_wait holding the P until sysmon
		// steals it (p99 ~150 µs at one connection). This second yield
		// makes the dispatcher run before the loop can block.
		runtime.Gosched()
	}
	if action == gnet.None {
		// Slowloris guard: remember when an incomplete frame started.
		if gc.InboundBuffered() == 0 {
			c.frameStart.Store(0)
		} else if c.frameStart.Load() == 0 {
			c.frameStart.Store(now)
		}
	}
	return action
}

// handlePayload handles one frame. payload dies with the callback.
func (h *handler) handlePayload(c *Client, l *loopState, payload []byte) gnet.Action {
	s := h.s
	if c.sx != 0 || c.carrier != nil || len(payload) > 0 && proto.Kind(payload[0]) == proto.KindHello {
		if action, done := h.sessionPayload(c, l, payload); done {
			return action
		}
	}
	if len(payload) > 0 && proto.Kind(payload[0]) == proto.KindMessage {
		if s.cfg.Inline {
			if err := l.msg.Decode(payload[1:], &s.cfg.Limits); err != nil {
				return h.protocolError(c, err)
			}
			s.fireMessage(c.user(), &l.msg)
			l.msg.Reset()
			return gnet.None
		}
		return h.stageMessage(c, l, payload)
	}
	kind, rest, err := proto.ParsePayload(payload, nil, &s.cfg.Limits)
	if err != nil {
		return h.protocolError(c, err)
	}
	switch kind {
	case proto.KindPing:
		c.queueControl(func(b []byte) []byte { return c.tr.appendPong(b, rest) })
	case proto.KindClose:
		c.mu.Lock()
		c.setReasonLocked(&PeerCloseError{Reason: string(rest)})
		c.mu.Unlock()
		return gnet.Close
	}
	return gnet.None
}

// stageMessage appends a MESSAGE payload to the current batch's buffer,
// decodes it there and stages it for the dispatcher, once admit lets it (it
// may wait for the dispatcher: see backpressure.go).
func (h *handler) stageMessage(c *Client, l *loopState, payload []byte) gnet.Action {
	s := h.s
	if !s.admit(c, l) {
		return gnet.None // c is leaving and over its marks: dropped
	}
	n := len(payload) - 1
	b := l.cur
	if b.bb == nil {
		b.bb = s.inPool.Get()
		b.bb.B = b.bb.B[:0]
	}
	if cap(b.bb.B)-len(b.bb.B) < n {
		if b.pend != 0 {
			// Staged messages point into the buffer: it must not move.
			s.pushStaged(l)
			b = l.cur
			b.bb = s.inPool.Get()
			b.bb.B = b.bb.B[:0]
		}
		// Room for the whole read, so that it needs no second buffer.
		b.bb.B = slices.Grow(b.bb.B, max(n, l.hint))
	}
	off := len(b.bb.B)
	b.bb.B = append(b.bb.B, payload[1:]...)
	ev := b.next()
	if err := ev.m.Decode(b.bb.B[off:], &s.cfg.Limits); err != nil {
		b.drop()
		b.bb.B = b.bb.B[:off]
		return h.protocolError(c, err)
	}
	ev.kind, ev.c = evMessage, c
	b.c = c
	b.pend += pendingMsg + int64(n)
	b.charge += int64(n) + queueOverhead
	return gnet.None
}

// protocolError answers a protocol violation: CLOSE with the reason, then
// close this connection only.
func (h *handler) protocolError(c *Client, err error) gnet.Action {
	h.s.log.Warn("simpleserver: protocol error", "client", c.id, "addr", c.addr.String(), "err", err.Error())
	return h.fail(c, err, err.Error())
}

// fail closes c from its own loop: queued frames and CLOSE reason are
// written, then gnet closes the connection.
func (h *handler) fail(c *Client, reason error, closeReason string) gnet.Action {
	c.mu.Lock()
	if !c.closing && !c.closed {
		c.closing = true
		c.setReasonLocked(reason)
		c.pend = c.tr.appendClose(c.pend, reason, closeReason)
	}
	c.mu.Unlock()
	c.flushOnLoop()
	return gnet.Close
}

// endLoopScope ends an inline loop's flush scope, flushing on the loop.
func (s *Server) endLoopScope(l *loopState) {
	list := l.scope.end()
	for _, c := range list {
		c.flushOnLoop()
	}
	l.scope.recycle(list)
}

// OnTick runs the housekeeping sweep; it returns the delay to the next one.
func (h *handler) OnTick() (time.Duration, gnet.Action) {
	h.s.acc.engineReady()
	return h.s.sweep(), gnet.None
}
